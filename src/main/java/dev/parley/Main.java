package dev.parley;

import dev.parley.bench.BenchCommand;
import dev.parley.config.InvalidSetting;
import dev.parley.config.Passwords;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code parley} program: the server and the operator tools in one binary. */
@Command(name = "parley", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "The conversation store for AI chat applications.",
        subcommands = {ServeCommand.class, MigrateCommand.class, AppsCommand.class, ImportCommand.class, PartitionsCommand.class,
                ArchiveCommand.class,
                RetentionCommand.class,
                DoctorCommand.class, MonitorCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static final int FAILED = 1;
    static final int USAGE = 2;
    /** EX_TEMPFAIL: nothing was done because another round of retention or archiving was running; run it again later. */
    static final int BUSY = 75;
    static final String ROUND_RUNNING = "parley: another round of retention or archiving is running (a serving Parley's daily "
            + "round, or another command); nothing was done: run this again when it has finished";

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Parley's version, as the build wrote it into the jar's manifest, and the Java running it. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"parley " + (version == null ? "(built from source, not packaged)" : version),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }

    /** Runs a command line and returns its exit status: 0 success, 1 failure, 2 bad usage or settings, 75 busy (run it again later). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        var parley = new CommandLine(new Main());
        everyCommand(parley, command -> command.getCommandSpec().versionProvider(new Version()));
        int status = parley
                .setOut(out)
                .setErr(err)
                .setExecutionExceptionHandler((e, commandLine, parseResult) -> {
                    commandLine.getErr().println("parley: " + Passwords.hiddenIn(String.valueOf(e.getMessage())));
                    return e instanceof InvalidSetting || e instanceof Storage.NoDatabase ? USAGE : FAILED;
                })
                .setParameterExceptionHandler((e, given) -> { // picocli's own, but it quoted the arguments as given
                    CommandLine command = e.getCommandLine();
                    command.getErr().println(Passwords.hiddenIn(e.getMessage()));
                    if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, command.getErr())) {
                        command.usage(command.getErr());
                    }
                    return USAGE;
                })
                .execute(args);
        out.flush();
        err.flush();
        return status;
    }

    /** picocli gives each subcommand its own version (none unless set): every one says Parley's. */
    private static void everyCommand(CommandLine command, java.util.function.Consumer<CommandLine> action) {
        action.accept(command);
        command.getSubcommands().values().forEach(sub -> everyCommand(sub, action));
    }

    /** With no command: show what there is, as a usage error. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command");
    }
}
