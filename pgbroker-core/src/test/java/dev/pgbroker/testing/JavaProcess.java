package dev.pgbroker.testing;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts a class's {@code main} in a new JVM with the running test's classpath, for tests that need
 * real processes to kill. Output goes to ours unless {@link #log} names a file; {@link #prefix}
 * runs the JVM under a wrapper command (such as {@code faketime}).
 */
public final class JavaProcess {
  private final Class<?> main;
  private final List<String> prefix = new ArrayList<>();
  private final List<String> jvmOptions = new ArrayList<>(List.of("-Xmx256m"));
  private final Map<String, String> env = new LinkedHashMap<>();
  private File log;

  private JavaProcess(Class<?> main) {
    this.main = main;
  }

  public static JavaProcess of(Class<?> main) {
    return new JavaProcess(main);
  }

  /** Starts {@code main} with {@code args}, its output going to ours. */
  public static Process start(Class<?> main, String... args) throws IOException {
    return of(main).run(args);
  }

  public JavaProcess prefix(String... command) {
    prefix.addAll(List.of(command));
    return this;
  }

  /** Adds options for the JVM (the default is only {@code -Xmx256m}). */
  public JavaProcess jvmOptions(String... options) {
    jvmOptions.addAll(List.of(options));
    return this;
  }

  public JavaProcess env(String name, String value) {
    env.put(name, value);
    return this;
  }

  /** Appends the process's output and errors to {@code file}. */
  public JavaProcess log(File file) {
    this.log = file;
    return this;
  }

  public Process run(String... args) throws IOException {
    String classpath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command = new ArrayList<>(prefix);
    command.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", classpath, main.getName()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(env);
    if (log == null) {
      builder.inheritIO();
    } else {
      builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log));
    }
    return builder.start();
  }
}
