package dev.parley.bench;

import dev.parley.chat.Preview;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.WordIndexes;
import dev.parley.json.Json;
import dev.parley.lifecycle.Archive;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongPredicate;

/**
 * Generates a chat dataset straight into the database with COPY. Activity is skewed the way real
 * apps are (Zipf over users and characters, a heavy tail of conversation sizes), messages alternate
 * user and assistant with realistic lengths, and conversations start throughout the last
 * {@code months} months, so history fills that many monthly partitions. A conversation is active for
 * a while and then rests (a few weeks on average), except the long companion chats (over 100
 * messages, and one in five of the rest), which go on until today. The same spec (seed and day)
 * always gives the same rows.
 *
 * <p>Given an archive age, the months that ended before it are loaded straight into the archive, as
 * {@code parley archive --older-than} would have left them: the hot months have no partition there, and
 * the archive's months have their primary key and words index ({@link ArchivedMonths}). The archived rows
 * are written beside the hot ones without their words, which are indexed once at the end, two months at a
 * time, instead of being stored and indexed row by row (or not at all: {@code --archive-words unindexed}).
 */
public final class DatasetLoader {
    public static final String APP = "bench";
    private static final long LOW_MASK = (1L << 22) - 1;
    private static final String[] ENERGIES = {"calm", "playful", "intense", "shy", "bold"};
    private static final String[] STYLES = {"flirty", "wise", "funny", "dark", "caring", "sarcastic"};
    /** The models assistant messages name in their metadata, {"model": ...}: what a filtered history asks for. */
    static final String[] MODELS = {"gpt-4o-mini", "llama-3.1-70b", "claude-haiku", "mistral-large"};

    static final Query CREATE_APP = new Query("bench.create_app", "INSERT INTO apps (name) VALUES (?) RETURNING app_id");
    static final NamedQuery FIRST_ID = NamedQuery.of("bench.first_ids", """
            SELECT (SELECT min(character_id) FROM characters WHERE app_id = :app_id), (SELECT min(user_id) FROM users WHERE app_id = :app_id)""");

    // Any chat data at all, of any app, hot or archived: the loader drops hot months it archives and turns the words
    // indexes' write-through off while it runs, neither of which another app's rows may be subject to.
    static final Query HOLDS_CHAT_DATA = new Query("bench.holds_chat_data", """
            WITH holding AS (
                SELECT name FROM apps
                 WHERE EXISTS (SELECT 1 FROM characters c WHERE c.app_id = apps.app_id)
                    OR EXISTS (SELECT 1 FROM users u WHERE u.app_id = apps.app_id)
                    OR EXISTS (SELECT 1 FROM messages m WHERE m.app_id = apps.app_id)
                    OR EXISTS (SELECT 1 FROM parley_archive.messages a WHERE a.app_id = apps.app_id))
            SELECT count(*), string_agg(name, ', ' ORDER BY name) FROM holding""");

    static final Query SCOPES = new Query("bench.memory_scopes", """
            INSERT INTO memory_scopes (app_id, user_id, character_id, dims, embedded)
            SELECT app_id, user_id, character_id, ?, count(*) FILTER (WHERE embedding IS NOT NULL)
              FROM memories WHERE app_id = ? GROUP BY app_id, user_id, character_id""");

    private final Database database;
    private final PrintWriter err;

    public DatasetLoader(Database database, PrintWriter err) {
        this.database = database;
        this.err = err;
    }

    /** What was loaded and how fast. */
    public record Loaded(long appId, DatasetSpec spec, Duration took, double messagesPerSecond) {
    }

    /** One conversation as planned before any row is written. */
    private record Plan(long id, int user, int character, int[] groupCharacters, int messages, long startMillis, long endMillis) {
    }

    public Loaded load(DatasetSpec spec) {
        return load(spec, null, true);
    }

    /**
     * Loads {@code spec}; with {@code archiveOlderThan}, the months that ended before that age go into the
     * archive, their words indexed unless {@code indexArchivedWords} is false (see {@link ArchivedMonths#putWordsIndexOnArchiveOnly}).
     */
    public Loaded load(DatasetSpec spec, Period archiveOlderThan, boolean indexArchivedWords) {
        long started = System.nanoTime();
        requireNoChatData();
        long appId = createApp();
        Instant oldest = spec.oldest();
        YearMonth first = YearMonth.from(oldest.atZone(ZoneOffset.UTC));
        YearMonth now = YearMonth.from(spec.now().atZone(ZoneOffset.UTC));
        new Partitions(database).ensure(first, now.plusMonths(3));
        ArchivedMonths archive = archiveOlderThan == null ? null
                : ArchivedMonths.prepare(database, first, spec.now().atZone(ZoneOffset.UTC).minus(archiveOlderThan).toInstant());

        WordIndexes.throughPendingLists(database, true); // nothing else writes: faster through the lists
        copy(c -> characters(c, appId, spec));
        copy(c -> users(c, appId, spec));
        long[] firsts = database.read(handle -> handle.first(FIRST_ID.bind("app_id", appId),
                row -> new long[] {row.getLong(1), row.getLong(2)})).orElseThrow();
        Plan[] plans = plan(spec, oldest);
        copy(c -> conversations(c, appId, spec, plans, firsts[0], firsts[1]));
        var progress = new Progress(err, "messages", spec.messages());
        if (archive == null) {
            copy(c -> messages(c, false, appId, spec, plans, firsts[0], firsts[1], id -> true, progress));
        } else {
            loadWithArchive(archive, indexArchivedWords, appId, spec, plans, firsts, progress);
        }
        double rate = progress.finish(spec.messages());
        if (spec.memories() > 0) {
            var remembered = new Progress(err, "memories", spec.memories());
            copy(c -> memories(c, appId, spec, plans, firsts[0], firsts[1], remembered));
            remembered.finish(spec.memories());
            database.read(handle -> handle.execute(SCOPES, spec.dims(), appId));
        }
        err.println("analyzing ...");
        err.flush();
        database.read(handle -> handle.execute(new Query("bench.analyze", """
                VACUUM (ANALYZE) characters, users, conversations, conversation_members, messages, memories, memory_scopes""")));
        if (archive != null) {
            database.read(handle -> handle.execute(Archive.ANALYZE));
        }
        WordIndexes.throughPendingLists(database, false); // VACUUM has moved the lists into the indexes
        return new Loaded(appId, spec, Duration.ofNanos(System.nanoTime() - started), rate);
    }

    /**
     * The hot months and the archived ones are written side by side, each by its own COPY on its own
     * connection (the hot rows compute their stored words, the archived rows only their primary key);
     * then the archive's words are indexed, one month per connection on two connections.
     */
    private void loadWithArchive(ArchivedMonths archive, boolean indexWords, long appId, DatasetSpec spec, Plan[] plans, long[] firsts,
                                 Progress progress) {
        long limit = archive.limitId();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<?> archived = threads.submit(() -> {
                copy(c -> messages(c, true, appId, spec, plans, firsts[0], firsts[1], id -> id < limit, progress));
                if (indexWords) {
                    archive.indexWords(err);
                } else {
                    archive.putWordsIndexOnArchiveOnly();
                }
            });
            copy(c -> messages(c, false, appId, spec, plans, firsts[0], firsts[1], id -> id >= limit, progress));
            await(archived, "loading the archive");
        } finally {
            threads.shutdownNow();
        }
    }

    /** Waits for {@code work} to finish; what failed it is thrown here. */
    static void await(Future<?> work, String what) {
        try {
            work.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + what, e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(what + " failed", e.getCause());
        }
    }

    /** Refuses a database that holds any app's characters, users or messages: the loader generates into an empty one. */
    private void requireNoChatData() {
        Optional<String> holding = database.read(handle -> handle.first(HOLDS_CHAT_DATA,
                row -> row.getLong(1) == 0 ? null : row.getLong(1) + " of its apps: " + row.getString(2)));
        if (holding.isPresent()) {
            throw new IllegalStateException("this database already holds chat data (" + holding.get() + "); bench load "
                    + "generates into an empty one, and would drop the months it archives: --data-dir for a fresh "
                    + "embedded database, or another --database-url");
        }
    }

    private long createApp() {
        try {
            return database.read(handle -> handle.first(CREATE_APP, row -> row.getLong(1), APP).orElseThrow());
        } catch (dev.parley.db.DatabaseFailure e) {
            if ("23505".equals(e.sqlState())) {
                throw new IllegalStateException("this database already holds a bench dataset (app '" + APP
                        + "'); load into a fresh one (--data-dir for the embedded database, or another --database-url)", e);
            }
            throw e;
        }
    }

    private interface CopyWork {
        void run(Connection connection) throws SQLException;
    }

    private void copy(CopyWork work) {
        database.inTransaction(handle -> {
            work.run(handle.connection());
            return null;
        });
    }

    private static void characters(Connection c, long appId, DatasetSpec spec) throws SQLException {
        var random = new SplittableRandom(spec.seed());
        try (var rows = new CopyRows(c, "characters (app_id, name, system_prompt, traits, metadata, suggested_messages)")) {
            for (int i = 0; i < spec.characters(); i++) {
                String energy = ENERGIES[random.nextInt(ENERGIES.length)];
                String name = capitalized(TextGenerator.word(random)) + " " + (i + 1);
                Map<String, Object> traits = new LinkedHashMap<>();
                traits.put("energy", energy);
                traits.put("style", STYLES[random.nextInt(STYLES.length)]);
                traits.put("age", 18 + random.nextInt(30));
                traits.put("interests", List.of(TextGenerator.word(random), TextGenerator.word(random)));
                rows.add(appId).add(name)
                        .add("You are " + name + ", a " + energy + " companion. " + TextGenerator.message(random, "system"))
                        .add(Json.write(traits))
                        .add(Json.write(Map.of("avatar", "https://cdn.example/avatars/" + (i + 1) + ".webp",
                                "category", random.nextInt(4) == 0 ? "influencer" : "companion")))
                        .add("{\"Hi!\",\"Tell me about your day\"}");
                rows.endRow();
            }
        }
    }

    private static void users(Connection c, long appId, DatasetSpec spec) throws SQLException {
        var random = new SplittableRandom(spec.seed() + 1);
        String[] langs = {"en", "en", "en", "fr", "es", "de", "pt", "ja"};
        try (var rows = new CopyRows(c, "users (app_id, external_id, profile)")) {
            for (int i = 0; i < spec.users(); i++) {
                rows.add(appId).add("user-" + (i + 1)).add(Json.write(Map.of(
                        "lang", langs[random.nextInt(langs.length)], "plan", random.nextInt(10) == 0 ? "premium" : "free")));
                rows.endRow();
            }
        }
    }

    /** Conversation starts, owners, characters and sizes: skewed, and summing exactly to the message count. */
    private static Plan[] plan(DatasetSpec spec, Instant oldest) {
        var random = new SplittableRandom(spec.seed() + 2);
        int n = spec.conversations();
        long from = oldest.toEpochMilli();
        long until = spec.now().toEpochMilli() - Duration.ofHours(1).toMillis();
        long[] starts = new long[n];
        for (int i = 0; i < n; i++) {
            starts[i] = from + (long) (random.nextDouble() * (until - from));
        }
        Arrays.sort(starts);
        int[] sizes = sizes(spec, random);
        var users = new Zipf(spec.users(), 1.0);
        var characters = new Zipf(spec.characters(), 1.1);
        long meanActiveMillis = Duration.ofDays(21).toMillis();
        Plan[] plans = new Plan[n];
        for (int i = 0; i < n; i++) {
            int character = characters.next(random);
            int[] group = random.nextInt(50) == 0 ? group(random, characters, character) : null;
            long id = (starts[i] - Ids.EPOCH_MILLIS) << 22 | (i & LOW_MASK);
            boolean ongoing = sizes[i] > 100 || random.nextInt(5) == 0;
            long end = ongoing ? until : Math.min(until, starts[i] + 1 + (long) (-Math.log(1 - random.nextDouble()) * meanActiveMillis));
            plans[i] = new Plan(id, users.next(random), character, group, sizes[i], starts[i], end);
        }
        return plans;
    }

    /** Message counts per conversation: at least one each, the rest spread by a heavy-tailed weight. */
    private static int[] sizes(DatasetSpec spec, SplittableRandom random) {
        int n = spec.conversations();
        double[] weights = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            weights[i] = Math.pow(1 - random.nextDouble(), -0.5); // Pareto (alpha 2): most small, a few large
            total += weights[i];
        }
        long rest = spec.messages() - n;
        int[] sizes = new int[n];
        long assigned = 0;
        for (int i = 0; i < n; i++) {
            sizes[i] = 1 + (int) Math.min(1_000_000, (long) (rest * weights[i] / total));
            assigned += sizes[i];
        }
        for (long left = spec.messages() - assigned; left > 0; left--) {
            sizes[random.nextInt(n)]++;
        }
        return sizes;
    }

    private static int[] group(SplittableRandom random, Zipf characters, int lead) {
        int size = 2 + random.nextInt(3);
        int[] members = new int[size];
        members[0] = lead;
        for (int i = 1; i < size; i++) {
            int next;
            do {
                next = characters.next(random);
            } while (contains(members, i, next));
            members[i] = next;
        }
        return members;
    }

    private static boolean contains(int[] values, int length, int value) {
        for (int i = 0; i < length; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
    }

    private static void conversations(Connection c, long appId, DatasetSpec spec, Plan[] plans, long firstCharacter,
                                      long firstUser) throws SQLException {
        try (var rows = new CopyRows(c, """
                conversations (app_id, conversation_id, user_id, character_id, last_seq, message_count, last_message_id,
                               activity_id, created_at, last_activity_at, updated_at, is_group, last_message_role,
                               last_message_preview, title, state, counters)""")) {
            for (int i = 0; i < plans.length; i++) {
                Plan plan = plans[i];
                Message last = message(spec, plan, i, plan.messages());
                rows.add(appId).add(plan.id()).add(firstUser + plan.user()).add(firstCharacter + plan.character())
                        .add(plan.messages()).add(plan.messages()).add(last.id()).add(last.id())
                        .add(Ids.timeOf(plan.id()).toString()).add(Ids.timeOf(last.id()).toString()).add(Ids.timeOf(last.id()).toString())
                        .add(plan.groupCharacters() != null).add(last.role())
                        .add(Preview.stored(last.content()))
                        .add(plan.groupCharacters() != null ? "Group chat " + (i + 1) : null)
                        .add("{\"mood\":\"" + ENERGIES[i % ENERGIES.length] + "\",\"chapter\":" + (1 + plan.messages() / 50) + "}")
                        .add("{\"affection\":" + plan.messages() * 3 + ",\"xp\":" + plan.messages() * 10 + "}");
                rows.endRow();
            }
        }
        try (var rows = new CopyRows(c, "conversation_members (app_id, conversation_id, member_kind, member_id, read_seq)")) {
            for (int i = 0; i < plans.length; i++) {
                Plan plan = plans[i];
                var random = new SplittableRandom(spec.seed() * 31 + i);
                int unread = random.nextInt(4) == 0 ? Math.min(plan.messages(), 1 + random.nextInt(5)) : 0;
                rows.add(appId).add(plan.id()).add("user").add(firstUser + plan.user()).add(plan.messages() - unread);
                rows.endRow();
                for (int character : plan.groupCharacters() != null ? plan.groupCharacters() : new int[] {plan.character()}) {
                    rows.add(appId).add(plan.id()).add("character").add(firstCharacter + character).add(plan.messages());
                    rows.endRow();
                }
            }
        }
    }

    private static final String MESSAGES = """
            messages (app_id, conversation_id, user_id, message_id, seq, author_user_id, author_character_id,
                      created_at, role, content, metadata, attachments)""";

    /** The messages whose ids {@code keep} takes, into the hot set or, {@code archived}, into the archive. */
    private static void messages(Connection c, boolean archived, long appId, DatasetSpec spec, Plan[] plans,
                                 long firstCharacter, long firstUser, LongPredicate keep, Progress progress) throws SQLException {
        try (var rows = new CopyRows(c, archived ? ArchivedMonths.MESSAGES : MESSAGES)) {
            for (int i = 0; i < plans.length; i++) {
                Plan plan = plans[i];
                int written = 0;
                for (int k = 1; k <= plan.messages(); k++) {
                    if (!keep.test(messageId(plan, i, k))) {
                        continue;
                    }
                    Message m = message(spec, plan, i, k);
                    rows.add(appId).add(plan.id()).add(firstUser + plan.user()).add(m.id()).add(k);
                    if (m.role().equals("user")) {
                        rows.add(firstUser + plan.user()).addNull();
                    } else if (m.role().equals("assistant")) {
                        rows.addNull().add(firstCharacter + m.character());
                    } else {
                        rows.addNull().addNull();
                    }
                    rows.add(Ids.timeOf(m.id()).toString()).add(m.role()).add(m.content()).add(m.metadata()).add(m.attachments());
                    if (archived) {
                        rows.add(ArchivedMonths.LANGUAGE);
                    }
                    rows.endRow();
                    written++;
                }
                progress.add(written);
            }
        }
    }

    /**
     * Memories of each conversation's user held by its lead character, in proportion to the
     * conversation's size; each conversation dwells on a few topics, so its memories cluster.
     */
    private static void memories(Connection c, long appId, DatasetSpec spec, Plan[] plans, long firstCharacter,
                                 long firstUser, Progress progress) throws SQLException {
        long written = 0;
        long messagesSoFar = 0;
        try (var rows = new CopyRows(c, """
                memories (app_id, user_id, character_id, importance, created_at, updated_at, content, embedding)""")) {
            for (int i = 0; i < plans.length; i++) {
                Plan plan = plans[i];
                messagesSoFar += plan.messages();
                long upTo = spec.memories() * messagesSoFar / spec.messages();
                var random = new SplittableRandom(spec.seed() ^ (i * 0xD1B54A32D192ED03L) ^ 0x5EEDL);
                int firstTopic = random.nextInt(Topics.COUNT);
                for (; written < upTo; written++) {
                    String at = Instant.ofEpochMilli(plan.startMillis()
                            + (long) (random.nextDouble() * (plan.endMillis() - plan.startMillis()))).toString();
                    rows.add(appId).add(firstUser + plan.user()).add(firstCharacter + plan.character())
                            .add(String.valueOf(random.nextInt(101) / 100.0)).add(at).add(at)
                            .add("Remembers: " + TextGenerator.message(random, "user"))
                            .add(Topics.memory(random, (firstTopic + random.nextInt(4)) % Topics.COUNT, spec.dims()));
                    rows.endRow();
                }
                progress.update(written);
            }
        }
    }

    /** Message k (1-based) of conversation i, computed from (seed, i, k) alone, so any message can be made on its own. */
    private record Message(long id, String role, int character, String content, String metadata, String attachments) {
    }

    private static Message message(DatasetSpec spec, Plan plan, int conversation, int k) {
        var random = new SplittableRandom(spec.seed() ^ (conversation * 0x9E3779B97F4A7C15L) ^ (k * 0xC2B2AE3D27D4EB4FL));
        long id = messageId(plan, conversation, k);
        String role = k == 1 && random.nextInt(10) == 0 ? "system" : k % 2 == 1 ? "user" : "assistant";
        int character = plan.groupCharacters() == null ? plan.character()
                : plan.groupCharacters()[random.nextInt(plan.groupCharacters().length)];
        String content = TextGenerator.message(random, role);
        String metadata = role.equals("assistant") && random.nextBoolean()
                ? "{\"model\":\"" + MODELS[random.nextInt(MODELS.length)] + "\",\"tokens\":" + (20 + random.nextInt(400)) + "}" : null;
        String attachments = role.equals("user") && random.nextInt(50) == 0
                ? "[{\"type\":\"image\",\"url\":\"https://cdn.example/u/" + (conversation + k) + ".jpg\"}]" : null;
        return new Message(id, role, character, content, metadata, attachments);
    }

    /** Message k's id: its time, spread evenly over the conversation's active span, and its place. */
    private static long messageId(Plan plan, int conversation, int k) {
        double gap = (plan.endMillis() - plan.startMillis()) / (double) (plan.messages() + 1);
        long millis = plan.startMillis() + Math.max(k, (long) (gap * k));
        return (millis - Ids.EPOCH_MILLIS) << 22 | ((conversation * 64L + k) & LOW_MASK);
    }

    private static String capitalized(String word) {
        return Character.toUpperCase(word.charAt(0)) + word.substring(1);
    }
}
