package dev.parley;

import dev.parley.apps.Apps;
import dev.parley.chat.Limits;
import dev.parley.config.DatabaseUrl;
import dev.parley.config.InvalidSetting;
import dev.parley.config.Passwords;
import dev.parley.bench.Progress;
import dev.parley.db.Database;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.WordIndexes;
import dev.parley.db.Query;
import dev.parley.json.Json;
import dev.parley.lifecycle.Import;
import dev.parley.lifecycle.PeerStores;
import dev.parley.lifecycle.Utf8Lines;
import dev.parley.logging.LoggingConfig;
import dev.parley.memory.Memories;
import dev.parley.search.Languages;
import dev.parley.search.Snippets;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Optional;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Import an app's history: NDJSON from FILE (or - for standard input), as POST /v1/import takes it,",
                "or straight from another store's PostgreSQL tables: --from langchain (message_store) or --from mastra",
                "(mastra_resources, mastra_threads, mastra_messages) --url postgres://... Idempotent: run it again after",
                "an interruption. Prints progress on stderr, then (on stdout, as JSON) what was imported and the first rejected lines; exits 1 when a line was rejected."})
final class ImportCommand implements Callable<Integer> {
    static final String RUN_AGAIN = "run the same command again to finish: lines already imported are found and skipped";
    private static final PeerLine END = new PeerLine(null, "end of the peer's lines"); // a sentinel, by identity

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "NDJSON lines; - for standard input.")
    String file;

    @Option(names = "--app", required = true, paramLabel = "NAME", description = "The app to import into.")
    String app;

    @Option(names = "--from", paramLabel = "STORE", description = "Read another store's tables instead of a file: langchain or mastra.")
    String from;

    @Option(names = "--bulk", description = {"A first load with nothing else writing: the search indexes take the new words "
            + "through their pending lists (2-3 times as fast), merged at the end. Not while Parley serves appends."})
    boolean bulk;

    @Option(names = "--url", paramLabel = "URL", description = "The other store's PostgreSQL, postgres://user:pass@host:5432/db (with --from).")
    String url;

    @Override
    public Integer call() {
        PeerStores.Kind kind = source();
        LoggingConfig.quietPoolWarnings();
        return Interruption.sayingRunAgain(spec.commandLine().getErr(), () -> importFrom(kind));
    }

    private int importFrom(PeerStores.Kind kind) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr(); // the progress: stdout is the report alone, for jq and scripts
        var rejected = new AtomicLong();
        var soFar = new AtomicReference<Import.Report>();
        try {
            return importInto(kind, out, err, rejected, soFar);
        } catch (DatabaseUnavailable e) {
            // An outage is no bug: one line, not the pool's stack trace, what was committed, and what to do.
            Import.Report report = soFar.get();
            err.println("parley: " + Passwords.hiddenIn(String.valueOf(e.getMessage())));
            if (report == null) { // nothing to finish: no line was read
                err.println("parley: nothing was imported; run the same command again once the database can be reached");
                return Main.FAILED;
            } else {
                out.println(Json.write(report));
                // Rows, not lines: a chunk's lines are committed a few at a time, so a stopped chunk can have landed in part.
                long made = report.imported().values().stream().mapToLong(Long::longValue).sum();
                long found = report.existing().values().stream().mapToLong(Long::longValue).sum();
                err.println("parley: the import stopped with " + made + " new row(s) committed and " + found
                        + " found already there (the report on stdout counts them by kind)");
            }
            err.println(RUN_AGAIN);
            return Main.FAILED;
        }
    }

    private int importInto(PeerStores.Kind kind, PrintWriter out, PrintWriter err, AtomicLong rejected,
                           AtomicReference<Import.Report> soFar) {
        int status = database.withDatabase(db -> {
            long appId = Apps.idOf(db, app);
            var settings = database.settings();
            var memories = new Memories(db, new Snippets(), settings.memoryScopeBytes());
            var imports = new Import(db, new Ids(Clock.systemUTC()), new Partitions(db), memories, Languages.load(db),
                    new Limits(settings.maxContentBytes(), settings.maxMetadataBytes()), Clock.systemUTC());
            if (!bulk) { // --bulk switches them itself, and back at its end
                List<String> putBack = WordIndexes.putBackLeftOn(db);
                if (!putBack.isEmpty()) {
                    err.println("Put back " + putBack.size() + " words index(es) an interrupted "
                            + "import --bulk left going through their pending lists (fastupdate=on), and merged those lists.");
                }
            }
            Import.Report report;
            try {
                report = kind == null ? fromFile(imports, appId, settings.maxBodyBytes(), err, soFar::set)
                        : fromPeer(imports, db, appId, kind, err, soFar::set);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            out.println(Json.write(report));
            rejected.set(report.rejected());
        });
        // As pg_restore does after errors it passed over: a script's "import && next step" must not go on
        // as if every line had landed. What did land stays; the report says which lines did not.
        return status == 0 && rejected.get() > 0 ? 1 : status;
    }

    private PeerStores.Kind source() {
        if (from == null) {
            if (url != null) { // a store's address alone: which store, and not the FILE given with it, may be meant
                throw new ParameterException(spec.commandLine(), "--url names another store's PostgreSQL, read with --from "
                        + "langchain or --from mastra");
            }
            if (file == null) {
                throw new ParameterException(spec.commandLine(), "give a FILE (or - for standard input), or --from with --url");
            }
            if (!file.equals("-") && !Files.isRegularFile(Path.of(file))) {
                throw new ParameterException(spec.commandLine(), "FILE " + file + " is not a file that can be read");
            }
            return null;
        }
        if (file != null) {
            throw new ParameterException(spec.commandLine(), "--from reads the store at --url, and takes no FILE");
        }
        if (url == null) {
            throw new ParameterException(spec.commandLine(), "--from needs --url, the other store's PostgreSQL");
        }
        try {
            DatabaseUrl.parse(url, "--url", null);
        } catch (InvalidSetting e) { // the store's URL, not the database's: named as given, a usage error
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        return switch (from) {
            case "langchain" -> PeerStores.Kind.LANGCHAIN;
            case "mastra" -> PeerStores.Kind.MASTRA;
            default -> throw new ParameterException(spec.commandLine(), "--from takes langchain or mastra, not " + from);
        };
    }

    private Import.Report fromFile(Import imports, long appId, long maxLineBytes, PrintWriter progressTo,
                                   Consumer<Import.Report> stopped) throws IOException {
        boolean stdin = file.equals("-");
        long size = stdin ? 0 : Files.size(Path.of(file));
        var read = new AtomicLong();
        InputStream raw = stdin ? System.in : Files.newInputStream(Path.of(file));
        try (var counted = new FilterInputStream(raw) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n > 0) {
                    read.addAndGet(n);
                }
                return n;
            }
        }) {
            var progress = new Progress(progressTo, "importing", size, "bytes");
            Import.Lines source = new Utf8Lines(counted, maxLineBytes);
            Import.Report report = bulk ? imports.runBulk(appId, source, done -> progress.update(read.get()), stopped)
                    : imports.run(appId, source, done -> progress.update(read.get()), stopped);
            progress.finish(read.get());
            return report;
        }
    }

    // A conversation, and the time of each message imported into it with its key (hot or archived): one row each.
    private static final Query IMPORTED = new Query("import.imported_conversation", """
            SELECT c.created_at, c.last_message_id, k.import_key, k.created_at
              FROM conversations c
              LEFT JOIN LATERAL (
                   SELECT import_key, created_at FROM messages m
                    WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id AND m.import_key IS NOT NULL
                   UNION ALL
                   SELECT import_key, created_at FROM %s a
                    WHERE a.app_id = c.app_id AND a.conversation_id = c.conversation_id AND a.import_key IS NOT NULL) k ON true
             WHERE c.app_id = ? AND c.external_id = ?""".formatted(Partitions.ARCHIVE));

    private record ImportedRow(Instant start, Instant newest, Long key, Instant at) {
    }

    private static Optional<PeerStores.Imported> imported(Handle handle, long appId, String externalId) throws SQLException {
        List<ImportedRow> rows = handle.list(IMPORTED, row -> {
            Instant start = row.getTimestamp(1).toInstant();
            long newest = row.getLong(2);
            Instant newestAt = row.wasNull() ? start : Ids.timeOf(newest);
            long key = row.getLong(3);
            return row.wasNull() ? new ImportedRow(start, newestAt, null, null)
                    : new ImportedRow(start, newestAt, key, row.getTimestamp(4).toInstant());
        }, appId, externalId);
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        var byKey = new HashMap<Long, Instant>();
        rows.stream().filter(r -> r.key() != null).forEach(r -> byKey.put(r.key(), r.at()));
        return Optional.of(new PeerStores.Imported(rows.get(0).start(), rows.get(0).newest(), byKey));
    }

    /** The peer's tables are read on a thread of their own, a bounded queue ahead of the import. */
    private Import.Report fromPeer(Import imports, Database db, long appId, PeerStores.Kind kind, PrintWriter progressTo,
                                   Consumer<Import.Report> stopped) throws IOException {
        BlockingQueue<PeerLine> queue = new ArrayBlockingQueue<>(10_000);
        var failure = new AtomicReference<Exception>();
        Thread reader = Thread.ofPlatform().name("parley-import-" + from).daemon().start(() -> {
            try {
                PeerStores.read(kind, url, external -> db.read(handle -> imported(handle, appId, external)), Instant.now(),
                        new PeerStores.Output() {
                    @Override
                    public void line(String line) {
                        put(queue, new PeerLine(line, null));
                    }

                    @Override
                    public void rejected(String reason) {
                        put(queue, new PeerLine(null, reason));
                    }
                });
            } catch (Exception e) {
                failure.set(e);
            } finally {
                put(queue, END);
            }
        });
        var progress = new Progress(progressTo, "importing", 0, "lines");
        var taken = new AtomicLong();
        Import.Lines source = () -> {
            PeerLine next = take(queue);
            if (next == END) {
                return null;
            }
            progress.update(taken.incrementAndGet());
            if (next.rejected() != null) { // the import rejects it as a line, with its number, and reads on
                throw new Import.UnreadableLine(next.rejected());
            }
            return next.line();
        };
        Import.Report report = bulk ? imports.runBulk(appId, source, done -> {
        }, stopped) : imports.run(appId, source, done -> {
        }, stopped);
        progress.finish(taken.get());
        try {
            reader.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("reading " + from + " at " + Optional.ofNullable(url).map(Passwords::hiddenIn)
                    .orElse("") + " failed: " + failure.get().getMessage(), failure.get());
        }
        return report;
    }

    /** A line from the peer's tables, or the reason one of its rows could not become one. */
    private record PeerLine(String line, String rejected) {
    }

    private static void put(BlockingQueue<PeerLine> queue, PeerLine line) {
        try {
            queue.put(line);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static PeerLine take(BlockingQueue<PeerLine> queue) {
        try {
            return queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
