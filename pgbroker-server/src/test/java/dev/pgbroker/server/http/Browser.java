package dev.pgbroker.server.http;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless chromium driven through its chromedriver. Installs both with apt-get when
 * missing and running as root; otherwise fails saying how to install them, so the dashboard test
 * never passes without a browser.
 */
final class Browser {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path DRIVER = Path.of("/usr/bin/chromedriver");
  private static final String HOW =
      "the dashboard test needs Debian's chromium and chromium-driver: run"
          + " 'sudo apt-get install -y chromium chromium-driver' (as root the test installs them)";

  private Browser() {}

  static ChromeDriver start(Path profile) throws Exception {
    ensureInstalled();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    // The machine's network is closed: no first-run, sync, update or QUIC attempts to wait on.
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).build();
    return new ChromeDriver(service, options);
  }

  private static synchronized void ensureInstalled() throws IOException, InterruptedException {
    if (Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER)) {
      return;
    }
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IllegalStateException(HOW);
    }
    if (apt("install", "-y", "chromium", "chromium-driver") != 0) {
      apt("update");
      if (apt("install", "-y", "chromium", "chromium-driver") != 0) {
        throw new IllegalStateException("apt-get install failed; " + HOW);
      }
    }
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
      throw new IllegalStateException("apt-get ran but the browser is still missing; " + HOW);
    }
  }

  private static int apt(String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = "apt-get";
    System.arraycopy(args, 0, command, 1, args.length);
    ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
    pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
    Process p = pb.start();
    if (!p.waitFor(15, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException("apt-get " + String.join(" ", args) + " took over 15 min");
    }
    return p.exitValue();
  }
}
