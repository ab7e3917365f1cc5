package dev.pgbroker.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.QueueOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * The dashboard in a real headless chromium: lists queues, shows a relayed queue's lag and dead
 * letters, replays one.
 */
@ExtendWith(BrokerExtension.class)
class DashboardTest {
  /** Where the screenshot goes, referenced from the README; tests run in the module directory. */
  static final Path SCREENSHOT = Path.of("..", "docs", "dashboard.png");

  @Test
  void showsQueuesAndDeadLettersAndReplaysOne(Broker broker, @TempDir Path profile)
      throws Exception {
    broker.createQueue("payments", QueueOptions.defaults().maxAttempts(1));
    broker.createQueue("emails");
    broker.sendBatch("payments", List.of(Map.of("amount", 10), Map.of("amount", 20)));
    broker.sendBatch("emails", List.of(Map.of("to", "ada@example.com")));
    Delivery poison = broker.read("payments", 1).get(0);
    broker.nack(poison, "card declined: insufficient funds");
    assertThat(broker.stats("payments").dead()).isEqualTo(1);

    // as if a relay in this process consumed emails: the dashboard shows that queue's lag
    try (HttpApi api =
        HttpApi.start(
            broker,
            TestDatabase.dataSource(),
            new ApiSettings("127.0.0.1", 0, List.of(Servers.ADMIN), List.of(), 64 * 1024),
            List.of("emails"))) {
      ChromeDriver chrome = Browser.start(profile);
      try {
        chrome.get(api.uri() + "dashboard/#token=" + Servers.ADMIN);
        By paymentsDead = By.cssSelector("#queues tr[data-queue='payments'] td.dead");
        until("payments shows 1 dead", () -> text(chrome, paymentsDead).equals("1"));
        By emailsReady = By.cssSelector("#queues tr[data-queue='emails'] td.ready");
        until("emails shows 1 ready", () -> text(chrome, emailsReady).equals("1"));
        By emailsLag = By.cssSelector("#relay-lag tr[data-relay-queue='emails'] td.lag");
        until(
            "emails shows its relay lag",
            () -> text(chrome, emailsLag).matches("[0-9.]+ (ms|s|min|h)"));
        By deadRow = By.cssSelector("#dead tr[data-id='" + poison.id() + "']");
        until(
            "the dead letter shows its error",
            () -> text(chrome, deadRow).contains("card declined: insufficient funds"));
        // some traffic on another queue, so the picture shows rates on its chart
        for (int i = 0; i < 24; i++) {
          broker.send("emails", Map.of("n", i));
          if (i % 2 == 0) {
            broker.ackAll(broker.read("emails", 3));
          }
          Thread.sleep(250);
        }
        Files.createDirectories(SCREENSHOT.getParent());
        Files.copy(
            chrome.getScreenshotAs(OutputType.FILE).toPath(),
            SCREENSHOT,
            StandardCopyOption.REPLACE_EXISTING);

        until("the replay button is clicked", () -> clicked(chrome, deadRow));
        until("the replayed row is gone", () -> chrome.findElements(deadRow).isEmpty());
        By paymentsReady = By.cssSelector("#queues tr[data-queue='payments'] td.ready");
        until("payments shows 2 ready", () -> text(chrome, paymentsReady).equals("2"));
      } finally {
        chrome.quit();
      }
    }
    assertThat(broker.stats("payments").dead()).isZero();
    assertThat(broker.stats("payments").ready()).isEqualTo(2);
    assertThat(Files.size(SCREENSHOT)).isGreaterThan(10_000);
  }

  /** The element's text, or "" while it is not on the page (the dashboard redraws its rows). */
  private static String text(ChromeDriver chrome, By by) {
    try {
      return chrome.findElements(by).isEmpty() ? "" : chrome.findElement(by).getText();
    } catch (org.openqa.selenium.StaleElementReferenceException e) {
      return "";
    }
  }

  /** Clicks the row's replay button; false when the row was redrawn in between. */
  private static boolean clicked(ChromeDriver chrome, By row) {
    try {
      chrome.findElement(row).findElement(By.cssSelector("button.replay")).click();
      return true;
    } catch (org.openqa.selenium.StaleElementReferenceException e) {
      return false;
    }
  }

  /** Polls the page every 100 ms for up to 20 s (the dashboard refreshes every 2 s). */
  private static void until(String what, Supplier<Boolean> condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("dashboard: timed out waiting until " + what);
      }
      Thread.sleep(100);
    }
  }
}
