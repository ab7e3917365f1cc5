package dev.pgbroker.server;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The pgbroker executable: one subcommand per task; {@code pgbroker --help} lists them. */
@Command(
    name = "pgbroker",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "A message broker inside PostgreSQL.",
    subcommands = {
      MigrateCommand.class,
      SqlCommand.class,
      DemoCommand.class,
      QueueCommand.class,
      SendCommand.class,
      ReceiveCommand.class,
      AckCommand.class,
      NackCommand.class,
      ExtendCommand.class,
      DlqCommand.class,
      TailCommand.class,
      TopicCommand.class,
      ScheduleCommand.class,
      RelayCommand.class,
      ServerCommand.class,
      CommandLine.HelpCommand.class
    })
final class Main implements Callable<Integer> {
  /** Exit code for an error while running a command; picocli uses 2 for bad usage. */
  static final int FAILED = 1;

  @Spec CommandSpec spec;

  // Inherited, so it may follow the subcommand; picocli binds every copy to this one field.
  @Option(
      names = "--stacktrace",
      scope = ScopeType.INHERIT,
      description = "Print the full stack trace of an error.")
  boolean stacktrace;

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    System.exit(run(out, err, args));
  }

  /** Runs one command line in-process and returns its exit code; tests call this. */
  static int run(PrintWriter out, PrintWriter err, String... args) {
    Main main = new Main();
    CommandLine cli = new CommandLine(main).setOut(out).setErr(err);
    cli.setParameterExceptionHandler(Main::badUsage);
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> failed(main, e, cmd));
    try {
      return cli.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return CommandLine.ExitCode.USAGE;
  }

  // One line and a pointer to --help, instead of picocli's default of the whole usage text.
  private static int badUsage(ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println(cmd.getCommandSpec().qualifiedName() + ": " + e.getMessage());
    err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }

  // Errors a user can act on (no server, bad schema name) read best as one line.
  private static int failed(Main main, Exception e, CommandLine cmd) {
    PrintWriter err = cmd.getErr();
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    err.println(cmd.getCommandSpec().qualifiedName() + ": " + message);
    int code = ExitStatus.of(e);
    if (main.stacktrace) {
      e.printStackTrace(err);
    } else if (code == FAILED && !(e instanceof CommandFailure)) {
      err.println("(run with --stacktrace for details)");
    }
    return code;
  }

  /** Reads the version the build wrote into the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"pgbroker " + (v == null ? "(development build)" : v)};
    }
  }
}
