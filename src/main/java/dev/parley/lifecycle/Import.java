package dev.parley.lifecycle;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.chat.CharacterProfile;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.Preview;
import dev.parley.chat.Message;
import dev.parley.chat.NotFound;
import dev.parley.db.Database;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.db.SqlWork;
import dev.parley.db.WordIndexes;
import dev.parley.memory.Embedding;
import dev.parley.memory.Memories;
import dev.parley.memory.Memory;
import dev.parley.search.Languages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * An import: NDJSON lines of characters, users, conversations, messages (with their original times)
 * and memories (with embeddings) for one app, each naming what it belongs to by external ids:
 *
 * <pre>
 * {"type":"character","external_id":"luna","name":"Luna","system_prompt":"…","traits":{},"metadata":{}}
 * {"type":"user","external_id":"tg:42","profile":{}}
 * {"type":"conversation","external_id":"chat-1","user":"tg:42","character":"luna","title":"…","created_at":"…"}
 * {"type":"message","conversation":"chat-1","external_id":"m-1","role":"user","content":"hi","created_at":"…"}
 * {"type":"memory","external_id":"mem-1","user":"tg:42","character":"luna","content":"…","embedding":[…]}
 * </pre>
 *
 * <p>Idempotent: a character, user, conversation or memory whose external id the app has is left as it
 * is; a message's id is drawn from its original time and a hash of its conversation's and its own
 * external id, so a message imported before is the same row, found and skipped. An interrupted import
 * is run again from the start. Each line is its own unit: a rejected line (reported with its number
 * and reason) changes nothing, and its messages, if it was a conversation, are rejected too. A line is
 * checked as the API checks a request ({@link ImportLine}): a line the API would refuse is rejected here.
 *
 * <p>Messages go {@link #CHUNK} lines (or {@link #CHUNK_CHARS} characters) at a time: the chunk's conversations
 * are locked (in id order, as appends do), its new messages written in one statement with their sequence numbers, and each
 * conversation's counts, newest message and owner's read marker (an imported history is read) moved
 * in the same one, as an append does. A conversation's messages must come oldest first: one older
 * than the conversation's newest message is refused. Months are made as needed; an archived month
 * takes no messages: a line of one is looked up in the archive (a statement per chunk that has such lines)
 * and counted as existing when it was imported before its month was archived, else rejected. A chunk that
 * fails in the database is written again a conversation at a time, and a conversation that fails a line at
 * a time, so a line the database refuses rejects only itself; the report counts what was committed.
 */
public final class Import {
    public static final int CHUNK = 2_000;
    /**
     * A chunk also ends once its lines hold this many characters: 2,000 lines of 32 KB messages with their metadata were
     * 128 MB, held with their copies as arrays for the statement, and a 512 MiB heap ran out.
     */
    public static final long CHUNK_CHARS = 8L << 20;
    /** How many rejected lines a report lists (the lowest-numbered); it counts them all. */
    public static final int REPORTED = 20;
    private static final int LOW_BITS = 22;
    /** How many resolved external ids of each kind a run keeps ({@link #recent()}): a few MB. */
    static final int RECENT = 10_000;

    /** What an import did: lines read, rows made (committed) and rows found already there by kind, rejected lines. */
    public record Report(long lines, Map<String, Long> imported, Map<String, Long> existing, long rejected,
                         List<Rejected> firstRejected) {
    }

    /** A line that was not imported, and why. */
    public record Rejected(long line, String reason) {
    }

    /** A line whose bytes cannot be read (not UTF-8, or too long): refused, and the lines after it read on. */
    public static final class UnreadableLine extends IOException {
        public UnreadableLine(String message) {
            super(message);
        }
    }

    /** One message line, checked; {@code archived} when its month is taken out of the hot set (it can only be there already). */
    private record NewMessage(long line, long conversationId, long id, long key, String role, String content, String metadata,
                              String attachments, Long authorUserId, Long authorCharacterId, long ownerId, String language,
                              boolean archived) {
    }

    /**
     * A conversation the import's lines name: its id, its user and character (a message's default authors), its language,
     * and the guests and characters who may write in it besides (read with it once, not per line).
     */
    private record KnownConversation(long id, long ownerId, long characterId, String language, Set<Long> guestIds,
                                     Set<Long> characterIds) {
        static final RowMapper<KnownConversation> MAPPER = row -> new KnownConversation(row.getLong(1), row.getLong(2),
                row.getLong(3), row.getString(4), Set.of((Long[]) row.getArray(5).getArray()),
                Set.of((Long[]) row.getArray(6).getArray()));
    }

    /** Who wrote a message: a person (a user message) or a character, or neither (system, tool). */
    private record Authors(Long userId, Long characterId) {
    }

    static final NamedQuery CHARACTER = NamedQuery.of("import.character", """
            WITH made AS (
                INSERT INTO characters (app_id, external_id, name, system_prompt, traits, metadata, suggested_messages,
                                        created_at, updated_at)
                VALUES (:app_id, :external_id, :name, :system_prompt, :traits::jsonb, :metadata::jsonb, :suggested_messages,
                        coalesce(:created_at, now()), coalesce(:created_at, now()))
                ON CONFLICT (app_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
                RETURNING character_id)
            SELECT character_id, true FROM made
            UNION ALL
            SELECT character_id, false FROM characters WHERE app_id = :app_id AND external_id = :external_id""");

    static final NamedQuery USER = NamedQuery.of("import.user", """
            WITH made AS (
                INSERT INTO users (app_id, external_id, profile, created_at, updated_at)
                VALUES (:app_id, :external_id, :profile::jsonb, coalesce(:created_at, now()), coalesce(:created_at, now()))
                ON CONFLICT (app_id, external_id) DO NOTHING
                RETURNING user_id)
            SELECT user_id, true FROM made
            UNION ALL
            SELECT user_id, false FROM users WHERE app_id = :app_id AND external_id = :external_id""");

    // A line's character, user or conversation is committed without waiting for its WAL to reach the disk: a chunk's
    // messages, committed as ever, and DURABLE at the end of a run wait for the WAL before them too (see run()).
    static final Query COMMIT_LATER = new Query("import.commit_later", "SET LOCAL synchronous_commit = off");
    // A transaction that writes WAL (a logical decoding message, which nothing needs to read), committed as every
    // other: it returns once the WAL up to it, every commit above it included, is on disk. One that only takes an id
    // writes no WAL and flushes nothing.
    static final Query DURABLE = new Query("import.durable", "SELECT pg_logical_emit_message(true, 'parley.import', '')::text");

    /** A row an import made, or found already there by its external id. */
    private record Upserted(long id, boolean made) {
        static final RowMapper<Upserted> MAPPER = row -> new Upserted(row.getLong(1), row.getBoolean(2));
    }

    static final Query FIND_CHARACTER = new Query("import.find_character",
            "SELECT character_id FROM characters WHERE app_id = ? AND external_id = ?");
    static final Query FIND_USER = new Query("import.find_user", "SELECT user_id FROM users WHERE app_id = ? AND external_id = ?");
    // Its members as an append reads them (BatchWriter.LOCK_CONVERSATIONS): a conversation made or joined through the
    // API may have guests and more characters.
    static final Query FIND_CONVERSATION = new Query("import.find_conversation", """
            SELECT c.conversation_id, c.user_id, c.character_id, c.language::text,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'user' AND m.guest) AS guest_ids,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'character') AS character_ids
              FROM conversations c WHERE c.app_id = ? AND c.external_id = ?""");

    // A new conversation's activity id, creation and last activity are its own id (Conversations.CREATE).
    static final NamedQuery CONVERSATION = NamedQuery.of("import.conversation", """
            WITH made AS (
                INSERT INTO conversations (app_id, conversation_id, user_id, character_id, language, title, state, external_id,
                                           activity_id, created_at, last_activity_at, updated_at)
                VALUES (:app_id, :conversation_id, :user_id, :character_id, :language::regconfig, :title, :state::jsonb, :external_id,
                        :conversation_id, parley_id_time(:conversation_id), parley_id_time(:conversation_id), now())
                ON CONFLICT (app_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
                RETURNING conversation_id),
            members AS (
                INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id)
                SELECT :app_id, conversation_id, kind, id
                  FROM made, (VALUES ('user', :user_id::bigint), ('character', :character_id::bigint)) AS m(kind, id))
            SELECT count(*) FROM made""");

    static final Query LOCK = new Query("import.lock_conversations", """
            SELECT conversation_id, last_seq, coalesce(last_message_id, conversation_id) FROM conversations
             WHERE app_id = ? AND conversation_id = ANY(?) ORDER BY conversation_id FOR UPDATE""");

    /**
     * Which of the lines (conversation, id, key) were imported before: a row of the line's conversation and millisecond
     * with its key ({@code import_key}, V40), or, imported before V40 without one, at its id. Not by id alone: the id of a
     * message sharing its millisecond with the lines before it is one above theirs, and so depends on which of those
     * were accepted. Read through the primary key, bounded by the lines' ids so only their months are read.
     */
    private static final String PRESENT_IN = """
            SELECT t.message_id FROM unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS t(conversation_id, message_id, import_key)
              JOIN %1$s m ON m.app_id = ? AND m.conversation_id = t.conversation_id
                   AND m.message_id BETWEEN t.message_id >> %2$d << %2$d AND (t.message_id >> %2$d << %2$d) + %3$d
                   AND (m.import_key = t.import_key OR m.import_key IS NULL AND m.message_id = t.message_id)
             WHERE m.message_id BETWEEN ? AND ?""";
    static final Query PRESENT = new Query("import.present_messages", present("messages"));
    // The same in the archive (its months keep the primary key): a message line of an archived month imported before.
    static final Query PRESENT_ARCHIVED = new Query("import.present_archived_messages", present(Partitions.ARCHIVE));

    /** {@link #PRESENT_IN} over {@code table}, a millisecond's ids being those that share all but their {@link #LOW_BITS}. */
    private static String present(String table) {
        return PRESENT_IN.formatted(table, LOW_BITS, (1L << LOW_BITS) - 1);
    }

    /** A row whose id falls in no partition: its month was archived after {@link Partitions#archived} last looked. */
    private static final String NO_PARTITION = "23514";
    /** A month on its way into the archive refuses writes (V19's trigger; the API answers 503 month-archiving). */
    private static final String ARCHIVING = "PA001";

    // The rows, then each conversation moved as an append moves it (BatchWriter.WRITE), its owner's marker read.
    // One chunk's messages, a column per array (:message_*), and each conversation's new tail (:tail_*).
    static final NamedQuery WRITE = NamedQuery.of("import.write_messages", """
            WITH inserted AS (
                INSERT INTO messages (app_id, conversation_id, message_id, seq, author_user_id, author_character_id, created_at,
                                      role, content, metadata, attachments, user_id, language, import_key)
                SELECT :app_id, conversation_id, message_id, seq, author_user_id, author_character_id, parley_id_time(message_id),
                       role, content, metadata::jsonb, attachments::jsonb, user_id, language::regconfig, import_key
                  FROM unnest(:message_conversation_ids::bigint[], :message_ids::bigint[], :message_seqs::bigint[],
                              :message_author_user_ids::bigint[], :message_author_character_ids::bigint[], :message_roles::text[],
                              :message_contents::text[], :message_metadata::text[], :message_attachments::text[],
                              :message_owner_ids::bigint[], :message_languages::text[], :message_import_keys::bigint[])
                       AS t(conversation_id, message_id, seq, author_user_id, author_character_id, role, content, metadata,
                            attachments, user_id, language, import_key)
                RETURNING 1
            ), advanced AS (
                UPDATE conversations c
                   SET last_seq = t.last_seq, message_count = c.message_count + t.added, last_message_id = t.last_message_id,
                       activity_id = t.last_message_id, last_message_role = t.role, last_message_preview = t.preview,
                       last_activity_at = parley_id_time(t.last_message_id), updated_at = now()
                  FROM unnest(:tail_conversation_ids::bigint[], :tail_seqs::bigint[], :tail_added::bigint[], :tail_message_ids::bigint[],
                              :tail_roles::text[], :tail_previews::text[])
                       AS t(conversation_id, last_seq, added, last_message_id, role, preview)
                 WHERE c.app_id = :app_id AND c.conversation_id = t.conversation_id
            ), read AS (
                UPDATE conversation_members mb
                   SET read_seq = greatest(mb.read_seq, t.last_seq), read_at = now()
                  FROM unnest(:tail_conversation_ids::bigint[], :tail_owner_ids::bigint[], :tail_seqs::bigint[])
                       AS t(conversation_id, owner_id, last_seq)
                 WHERE mb.app_id = :app_id AND mb.conversation_id = t.conversation_id AND mb.member_kind = 'user'
                   AND mb.member_id = t.owner_id
            )
            SELECT count(*) FROM inserted""");

    private final Database database;
    private final Ids ids;
    private final Partitions partitions;
    private final Memories memories;
    private final Languages languages;
    private final Limits limits;
    private final Clock clock;
    private final int recent;

    /** {@code languages}, {@code limits} and {@code clock} are the API's, so a line is held to what a request is. */
    public Import(Database database, Ids ids, Partitions partitions, Memories memories, Languages languages, Limits limits,
                  Clock clock) {
        this(database, ids, partitions, memories, languages, limits, clock, RECENT);
    }

    /** As the public constructor, keeping {@code recent} resolved external ids of each kind (a test's few). */
    Import(Database database, Ids ids, Partitions partitions, Memories memories, Languages languages, Limits limits,
           Clock clock, int recent) {
        this.database = database;
        this.ids = ids;
        this.partitions = partitions;
        this.memories = memories;
        this.languages = languages;
        this.limits = limits;
        this.clock = clock;
        this.recent = recent;
    }

    /** Where the lines come from: the next line, or null after the last; {@link UnreadableLine} for a line that cannot be read. */
    public interface Lines {
        String next() throws IOException;
    }

    /**
     * As {@link #run(long, Lines, LongConsumer)}, for a first load with nothing else writing: the words indexes
     * take the new entries through their pending lists (2-3 times as fast), which are merged at the end and
     * switched back. Live appends meanwhile would pay the merges of full lists (V17): not while serving.
     */
    public Report runBulk(long appId, Lines in, LongConsumer progress) throws IOException {
        return runBulk(appId, in, progress, soFar -> {
        });
    }

    /** As {@link #runBulk(long, Lines, LongConsumer)}; {@code stopped} as {@link #run(long, Lines, LongConsumer, Consumer)} gives it. */
    public Report runBulk(long appId, Lines in, LongConsumer progress, Consumer<Report> stopped) throws IOException {
        WordIndexes.throughPendingLists(database, true);
        try {
            return run(appId, in, progress, stopped);
        } finally {
            WordIndexes.mergePendingLists(database);
            WordIndexes.throughPendingLists(database, false);
        }
    }

    /**
     * Imports every line from {@code in} (a file or body: {@link Utf8Lines}; a peer store's tables: {@link PeerStores})
     * into the app; {@code progress} hears the lines read so far after each chunk.
     */
    public Report run(long appId, Lines in, LongConsumer progress) throws IOException {
        return run(appId, in, progress, soFar -> {
        });
    }

    /**
     * As {@link #run(long, Lines, LongConsumer)}; should the database go away (or a lock or statement time out), the
     * import stops with that failure and {@code stopped} hears first what had been committed: its lines are the ones
     * read before the chunk that failed. A report returned is on disk; one that {@code stopped} hears may count the
     * characters, users and conversations of the last fraction of a second that a server which crashed did not keep
     * ({@link #COMMIT_LATER}): the run again that a stop asks for makes them again.
     */
    public Report run(long appId, Lines in, LongConsumer progress, Consumer<Report> stopped) throws IOException {
        var run = new Run(appId);
        List<String> chunk = new ArrayList<>(CHUNK);
        long first = 1;
        long chars = 0;
        try {
            for (String line = next(in, run, first + chunk.size()); line != null; line = next(in, run, first + chunk.size())) {
                chunk.add(line);
                chars += line.length();
                if (chunk.size() == CHUNK || chars >= CHUNK_CHARS) {
                    run.chunk(first, chunk);
                    first += chunk.size();
                    chunk.clear();
                    chars = 0;
                    progress.accept(first - 1);
                }
            }
            run.chunk(first, chunk);
            database.inTransaction(handle -> handle.first(DURABLE, row -> row.getString(1))); // what the report counts is on disk
        } catch (DatabaseUnavailable | DatabaseFailure e) {
            stopped.accept(run.report(first - 1));
            throw e;
        }
        progress.accept(first - 1 + chunk.size());
        return run.report(first - 1 + chunk.size());
    }

    /** The next line; one that cannot be read is rejected as line {@code number} and stands as a blank one. */
    private static String next(Lines in, Run run, long number) throws IOException {
        try {
            return in.next();
        } catch (UnreadableLine e) {
            run.reject(number, e.getMessage());
            return "";
        }
    }

    /** One import's state: the ids its external ids resolved to, the external ids its lines gave, and its tallies. */
    private final class Run {
        private final long appId;
        private final Map<String, Long> characters = recent();
        private final Map<String, Long> users = recent();
        private final Map<String, KnownConversation> conversations = recent();
        private final LongKeys given = LongKeys.map(); // the key of a kind and external id -> the line that gave it
        private final LongKeys givenMessages = LongKeys.set(); // the keys of the message lines read
        private final LongKeys lastIds = LongKeys.map(); // conversation -> the id its last message line took
        private final Map<String, Long> imported = new LinkedHashMap<>();
        private final Map<String, Long> existing = new LinkedHashMap<>();
        private final List<Rejected> firstRejected = new ArrayList<>();
        private long rejected;

        Run(long appId) {
            this.appId = appId;
            for (String kind : List.of("characters", "users", "conversations", "messages", "memories")) {
                imported.put(kind, 0L);
                existing.put(kind, 0L);
            }
        }

        Report report(long lines) {
            return new Report(lines, imported, existing, rejected, firstRejected);
        }

        void chunk(long firstLine, List<String> lines) {
            List<NewMessage> messages = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                long number = firstLine + i;
                String text = lines.get(i);
                if (text.isBlank()) {
                    continue;
                }
                try {
                    ImportLine line = ImportLine.parse(text);
                    switch (line.type) {
                        case "character" -> character(number, line);
                        case "user" -> user(number, line);
                        case "conversation" -> conversation(number, line);
                        case "message" -> messages.add(message(number, line));
                        case "memory" -> memory(number, line);
                        default -> throw new IllegalStateException("no import for a " + line.type + " line");
                    }
                } catch (InvalidInput | NotFound | IllegalArgumentException e) {
                    reject(number, e.getMessage());
                } catch (RuntimeException e) {
                    stopIfTimedOut(e);
                    reject(number, "not stored: " + e.getMessage());
                }
            }
            writeMessages(messages);
        }

        /**
         * Ends the import on a lock or statement timeout: no line's fault, and each line after it, or each written alone,
         * would wait the budget out again; what was imported stays, and running it again finishes it.
         */
        private static void stopIfTimedOut(RuntimeException e) {
            if (e instanceof DatabaseFailure failure && failure.timedOut()) {
                throw failure;
            }
            if (e instanceof DatabaseUnavailable outage) { // every line after it would fail the same: not theirs either
                throw outage;
            }
        }

        /** Counts a rejected line; the report lists the {@link #REPORTED} with the lowest numbers. */
        void reject(long line, String reason) {
            rejected++;
            firstRejected.add(new Rejected(line, reason));
            firstRejected.sort(Comparator.comparingLong(Rejected::line));
            if (firstRejected.size() > REPORTED) {
                firstRejected.removeLast();
            }
        }

        private void count(String kind, boolean made) {
            (made ? imported : existing).merge(kind, 1L, Long::sum);
        }

        /** Refuses an external id that an earlier line of this import gave to the same kind: which of the two is meant? */
        private void givenOnce(String kind, String externalId, long number) {
            long before = given.putIfAbsent(keyOf(digestOf(kind, externalId)), number);
            if (before != LongKeys.ABSENT) {
                throw new InvalidInput("external_id", "'" + externalId + "' is given twice in this import: line " + before
                        + " gave this " + kind + " first");
            }
        }

        private void character(long number, ImportLine line) {
            String externalId = line.required("external_id", Limits.MAX_EXTERNAL_ID_BYTES);
            String name = line.required("name", Limits.MAX_NAME_BYTES);
            String systemPrompt = line.text("system_prompt", Limits.MAX_PROMPT_BYTES);
            String traits = jsonText(line.object("traits", limits.maxMetadataBytes()));
            String metadata = jsonText(line.object("metadata", limits.maxMetadataBytes()));
            List<String> suggested = Objects.requireNonNullElse(
                    CharacterProfile.suggestedMessages(line.texts("suggested_messages"), limits.maxContentBytes()), List.of());
            Instant created = line.time("created_at", clock);
            givenOnce("character", externalId, number);
            Upserted character = committedLater(handle -> handle.first(CHARACTER.bind("app_id", appId).bind("external_id", externalId)
                    .bind("name", name).bind("system_prompt", systemPrompt == null ? "" : systemPrompt)
                    .bind("traits", traits == null ? "{}" : traits).bind("metadata", metadata == null ? "{}" : metadata)
                    .bind("suggested_messages", handle.array("text", suggested.toArray()))
                    .bind("created_at", created), Upserted.MAPPER)).orElseThrow();
            characters.put(externalId, character.id());
            count("characters", character.made());
        }

        private void user(long number, ImportLine line) {
            String externalId = line.required("external_id", Limits.MAX_EXTERNAL_ID_BYTES);
            String profile = jsonText(line.object("profile", limits.maxMetadataBytes()));
            Instant created = line.time("created_at", clock);
            givenOnce("user", externalId, number);
            Upserted made = committedLater(handle -> handle.first(USER.bind("app_id", appId).bind("external_id", externalId)
                    .bind("profile", profile == null ? "{}" : profile).bind("created_at", created), Upserted.MAPPER)).orElseThrow();
            users.put(externalId, made.id());
            count("users", made.made());
        }

        private void conversation(long number, ImportLine line) {
            String externalId = line.required("external_id", Limits.MAX_EXTERNAL_ID_BYTES);
            String user = line.required("user", Limits.MAX_EXTERNAL_ID_BYTES);
            String character = line.required("character", Limits.MAX_EXTERNAL_ID_BYTES);
            String title = line.text("title", Limits.MAX_TITLE_BYTES);
            String state = jsonText(line.object("state", limits.maxMetadataBytes()));
            String language = languages.require("language", line.text("language", Integer.MAX_VALUE));
            Instant created = line.time("created_at", clock);
            long userId = userOf(user);
            long characterId = characterOf(character);
            givenOnce("conversation", externalId, number);
            long made = committedLater(handle -> {
                long id = created == null ? ids.next(handle) : ids.at(created, Long.MIN_VALUE, handle);
                return handle.first(CONVERSATION.bind("app_id", appId).bind("conversation_id", id).bind("user_id", userId)
                        .bind("character_id", characterId).bind("language", language).bind("title", title)
                        .bind("state", state == null ? "{}" : state).bind("external_id", externalId), row -> row.getLong(1))
                        .orElseThrow();
            });
            conversations.remove(externalId); // made now, or there before: read it either way
            conversationOf(externalId);
            count("conversations", made == 1);
        }

        /**
         * {@code work} in a transaction that does not wait for its WAL to reach the disk: a line's row, a round trip,
         * not a flush (a file of 20,000 users and 20,000 conversations, one commit each, waited on 40,000 flushes).
         */
        private <T> T committedLater(SqlWork<T> work) {
            return database.inTransaction(handle -> {
                handle.execute(COMMIT_LATER);
                return work.run(handle);
            });
        }

        private NewMessage message(long number, ImportLine line) {
            String conversation = line.required("conversation", Limits.MAX_EXTERNAL_ID_BYTES);
            String externalId = line.required("external_id", Limits.MAX_EXTERNAL_ID_BYTES);
            String role = Objects.requireNonNullElse(line.text("role", Integer.MAX_VALUE), "user"); // as an append defaults it
            if (!Message.ROLES.contains(role)) {
                throw new InvalidInput("role", "must be one of user, assistant, system, tool; got '" + role + "'");
            }
            String content = line.requiredText("content", limits.maxContentBytes());
            String metadata = jsonText(line.object("metadata", limits.maxMetadataBytes()));
            String attachments = jsonText(line.json("attachments", limits.maxMetadataBytes()));
            String user = line.optional("user", Limits.MAX_EXTERNAL_ID_BYTES);
            String character = line.optional("character", Limits.MAX_EXTERNAL_ID_BYTES);
            Instant created = line.time("created_at", clock);
            if (created == null) {
                throw new InvalidInput("created_at", "is required: the message's original time");
            }
            boolean archived = partitions.archived(created); // found in the archive if imported before, else rejected: archivedOnes
            KnownConversation known = conversationOf(conversation);
            byte[] digest = digestOf(conversation, externalId);
            long id = inFileOrder(known.id(), idOf(created, digest));
            if (id <= known.id()) {
                throw new InvalidInput("created_at", "is before its conversation began");
            }
            Authors authors = authorsOf(role, user, character, known, conversation);
            long key = keyOf(digest);
            if (!givenMessages.add(key)) {
                throw new InvalidInput("external_id", "'" + externalId + "' is given twice in this import for conversation '"
                        + conversation + "'");
            }
            lastIds.put(known.id(), id);
            return new NewMessage(number, known.id(), id, key, role, content, metadata, attachments, authors.userId(),
                    authors.characterId(), known.ownerId(), known.language(), archived);
        }

        /**
         * A message's authors as an append has and checks them (BatchWriter): a named person writes a user message and
         * is the conversation's user or a guest, a named character writes any other and is a member; unnamed, a user
         * message is the owner's and an assistant's the conversation's character's. A non-member's message would be
         * out of reach of their export and erasure, which find a person's messages through the conversations they
         * own or joined.
         */
        private Authors authorsOf(String role, String user, String character, KnownConversation known, String conversation) {
            if (user != null && character != null) {
                throw new InvalidInput("user", "cannot be given together with character");
            }
            if (user != null) {
                if (!role.equals("user")) {
                    throw new InvalidInput("user", "can only be set on a message with role 'user', not '" + role + "'");
                }
                long userId = userOf(user);
                if (userId != known.ownerId() && !known.guestIds().contains(userId)) {
                    throw new InvalidInput("user", "'" + user + "' is not a member of conversation '" + conversation + "'");
                }
                return new Authors(userId, null);
            }
            if (character != null) {
                if (role.equals("user")) {
                    throw new InvalidInput("character", "cannot be set on a message with role 'user'");
                }
                long characterId = characterOf(character);
                if (!known.characterIds().contains(characterId)) {
                    throw new InvalidInput("character", "'" + character + "' is not a member of conversation '" + conversation
                            + "'");
                }
                return new Authors(null, characterId);
            }
            return new Authors(role.equals("user") ? known.ownerId() : null,
                    role.equals("assistant") ? known.characterId() : null);
        }

        /**
         * {@code id}, or one above the id its conversation's last message in this import took when both are of one
         * millisecond and the hash would put this one first: messages of one time (a source that keeps seconds, a
         * question and its answer in one) keep the order of the file. The same file gives the same ids again, and a
         * conversation with one message a millisecond keeps the ids an import without this step gave.
         */
        private long inFileOrder(long conversationId, long id) {
            long last = lastIds.get(conversationId);
            if (last == LongKeys.ABSENT || id > last || last >> LOW_BITS != id >> LOW_BITS) {
                return id;
            }
            if ((last + 1) >> LOW_BITS != id >> LOW_BITS) {
                throw new InvalidInput("created_at", "is the millisecond of the messages before it in its conversation, "
                        + "which has no id left above theirs; give them times apart");
            }
            return last + 1;
        }

        private void memory(long number, ImportLine line) {
            String externalId = line.required("external_id", Limits.MAX_EXTERNAL_ID_BYTES);
            String user = line.required("user", Limits.MAX_EXTERNAL_ID_BYTES);
            String character = line.required("character", Limits.MAX_EXTERNAL_ID_BYTES);
            String conversation = line.optional("conversation", Limits.MAX_EXTERNAL_ID_BYTES);
            String content = line.required("content", limits.maxContentBytes());
            double importance = line.number("importance", 0, 1, Memory.DEFAULT_IMPORTANCE);
            String language = languages.require("language", line.text("language", Integer.MAX_VALUE));
            JsonNode metadata = line.object("metadata", limits.maxMetadataBytes());
            float[] embedding = embedding(line.raw("embedding"));
            Instant created = line.time("created_at", clock);
            long userId = userOf(user);
            long characterId = characterOf(character);
            Long conversationId = conversation == null ? null : conversationOf(conversation).id();
            givenOnce("memory", externalId, number);
            var draft = new Memory.Draft(characterId, conversationId, content, importance, language, metadata, embedding, created);
            count("memories", memories.importOne(appId, userId, externalId, draft));
        }

        private float[] embedding(JsonNode embedding) {
            if (embedding == null || embedding.isNull()) {
                return null;
            }
            if (embedding.isTextual()) {
                return Embedding.unit("embedding", Embedding.fromBase64("embedding", embedding.asText()));
            }
            if (!embedding.isArray()) {
                throw new InvalidInput("embedding", "must be an array of numbers or base64 of little-endian float32");
            }
            float[] values = new float[embedding.size()];
            for (int i = 0; i < values.length; i++) {
                if (!embedding.get(i).isNumber()) {
                    throw new InvalidInput("embedding", "must hold numbers only");
                }
                values[i] = (float) embedding.get(i).asDouble();
            }
            return Embedding.unit("embedding", values);
        }

        /**
         * The chunk's new messages in one transaction; if that fails, each conversation's in its own, and if one of
         * those fails, each of its lines alone: a line the database refuses rejects only itself.
         */
        private void writeMessages(List<NewMessage> lines) {
            List<NewMessage> archived = new ArrayList<>(lines.stream().filter(NewMessage::archived).toList());
            List<NewMessage> messages = lines.stream().filter(m -> !m.archived()).toList();
            if (!messages.isEmpty()) {
                // Hot months only: an archived month would be made again in the hot set.
                partitions.ensureCovers(messages.stream().map(m -> Ids.timeOf(m.id())).toList());
                if (commit(messages).isPresent()) {
                    Map<Long, List<NewMessage>> byConversation = new LinkedHashMap<>();
                    messages.forEach(m -> byConversation.computeIfAbsent(m.conversationId(), c -> new ArrayList<>()).add(m));
                    for (List<NewMessage> conversation : byConversation.values()) {
                        if (commit(conversation).isPresent()) {
                            conversation.forEach(m -> commit(List.of(m)).ifPresent(e -> {
                                if (e instanceof DatabaseFailure failure && NO_PARTITION.equals(failure.sqlState())
                                        && String.valueOf(e.getMessage()).contains("no partition")) {
                                    archived.add(m); // archived since Partitions last looked
                                } else if (e instanceof DatabaseFailure failure && ARCHIVING.equals(failure.sqlState())) {
                                    reject(m.line(), "created_at falls in a month being moved into the archive, which takes "
                                            + "no new messages: archived months are read-only");
                                } else {
                                    reject(m.line(), "not stored: " + e.getMessage());
                                }
                            }));
                        }
                    }
                }
            }
            archivedOnes(archived);
        }

        /**
         * Message lines of archived months, which take no new messages: one imported before (an import run again after
         * its months were archived) is found in the archive by its id and counted as there; any other is rejected. One
         * statement for the chunk's, none when it has none.
         */
        private void archivedOnes(List<NewMessage> messages) {
            if (messages.isEmpty()) {
                return;
            }
            Set<Long> present = database.read(handle -> inArchive(handle, messages));
            for (NewMessage m : messages) {
                if (present.contains(m.id())) {
                    existing.merge("messages", 1L, Long::sum);
                } else {
                    reject(m.line(), "created_at " + Ids.timeOf(m.id()) + " falls in an archived month (or one dropped from "
                            + "the archive), which takes no messages");
                }
            }
        }

        /** Writes {@code messages} in one transaction and counts them once it has committed; the failure if it did not. */
        private Optional<RuntimeException> commit(List<NewMessage> messages) {
            Written written;
            try {
                written = database.inTransaction(handle -> write(handle, messages));
            } catch (RuntimeException e) {
                stopIfTimedOut(e);
                return Optional.of(e);
            }
            imported.merge("messages", written.made(), Long::sum);
            existing.merge("messages", written.existing(), Long::sum);
            written.rejected().forEach(r -> reject(r.line(), r.reason()));
            return Optional.empty();
        }

        /** Which of {@code messages} are in the archive already: one statement. */
        private Set<Long> inArchive(Handle handle, List<NewMessage> messages) throws SQLException {
            return present(handle, PRESENT_ARCHIVED, messages);
        }

        /** The ids of {@code messages} that {@code query} ({@link #PRESENT} or {@link #PRESENT_ARCHIVED}) finds imported before. */
        private Set<Long> present(Handle handle, Query query, List<NewMessage> messages) throws SQLException {
            long lowest = messages.stream().mapToLong(NewMessage::id).min().orElseThrow() >> LOW_BITS << LOW_BITS;
            long highest = (messages.stream().mapToLong(NewMessage::id).max().orElseThrow() >> LOW_BITS << LOW_BITS)
                    + (1L << LOW_BITS) - 1;
            return new java.util.HashSet<>(handle.list(query, row -> row.getLong(1),
                    handle.array("bigint", messages.stream().map(NewMessage::conversationId).toArray(Long[]::new)),
                    handle.array("bigint", messages.stream().map(NewMessage::id).toArray(Long[]::new)),
                    handle.array("bigint", messages.stream().map(NewMessage::key).toArray(Long[]::new)), appId, lowest, highest));
        }

        private Written write(Handle handle, List<NewMessage> messages) throws SQLException {
            Long[] conversationIds = messages.stream().map(NewMessage::conversationId).distinct().sorted().toArray(Long[]::new);
            Map<Long, Tail> locked = new HashMap<>();
            handle.list(LOCK, row -> locked.put(row.getLong(1), new Tail(row.getLong(2), row.getLong(3))), appId,
                    handle.array("bigint", conversationIds));
            Set<Long> present = present(handle, PRESENT, messages);
            var rows = new Rows();
            var seen = new java.util.HashSet<String>();
            long made = 0;
            long found = 0;
            List<Rejected> refused = new ArrayList<>();
            List<NewMessage> older = new ArrayList<>();
            for (NewMessage m : messages.stream().sorted(Comparator.comparingLong(NewMessage::conversationId)
                    .thenComparingLong(NewMessage::id)).toList()) {
                Tail tail = locked.get(m.conversationId());
                if (present.contains(m.id()) || !seen.add(m.conversationId() + ":" + m.id())) {
                    found++;
                } else if (tail == null) {
                    refused.add(new Rejected(m.line(), "its conversation was deleted during the import"));
                } else if (m.id() <= tail.newestId) {
                    older.add(m);
                } else {
                    rows.add(m, tail);
                    made++;
                }
            }
            // Not in the hot months, yet older than the newest: in a month archived since Partitions last looked, if
            // imported before (a statement only when a line is older, which a run again without an archive never is).
            Set<Long> archived = older.isEmpty() ? Set.of() : inArchive(handle, older);
            for (NewMessage m : older) {
                if (archived.contains(m.id())) {
                    found++;
                } else {
                    refused.add(new Rejected(m.line(), "created_at is not after the newest message of its conversation "
                            + "(messages of one millisecond keep the order they were first imported in): import a "
                            + "conversation's messages oldest first"));
                }
            }
            if (!rows.isEmpty()) {
                handle.first(rows.bound(handle, appId), row -> row.getLong(1)).orElseThrow();
            }
            return new Written(made, found, refused);
        }

        private long userOf(String externalId) {
            return resolve(users, externalId, FIND_USER, "user");
        }

        private long characterOf(String externalId) {
            return resolve(characters, externalId, FIND_CHARACTER, "character");
        }

        private KnownConversation conversationOf(String externalId) {
            KnownConversation known = conversations.get(externalId);
            if (known != null) {
                return known;
            }
            KnownConversation found = database.read(handle -> handle.first(FIND_CONVERSATION, KnownConversation.MAPPER, appId,
                            externalId))
                    .orElseThrow(() -> new NotFound("conversation with external_id", "'" + externalId + "'"));
            conversations.put(externalId, found);
            return found;
        }

        private long resolve(Map<String, Long> known, String externalId, Query find, String what) {
            Long id = known.get(externalId);
            if (id == null) {
                id = database.read(handle -> handle.first(find, row -> row.getLong(1), appId, externalId))
                        .orElseThrow(() -> new NotFound(what + " with external_id", "'" + externalId + "'"));
                known.put(externalId, id);
            }
            return id;
        }
    }

    /** A locked conversation's newest message as a chunk advances it, and what the chunk added to it. */
    private static final class Tail {
        long lastSeq;
        long newestId;
        long added;
        String role;
        String preview;
        long ownerId;

        Tail(long lastSeq, long newestId) {
            this.lastSeq = lastSeq;
            this.newestId = newestId;
        }
    }

    /** The rows of one statement: the messages, and the tails of the conversations they advance. */
    private static final class Rows {
        final List<Object> conversation = new ArrayList<>(), id = new ArrayList<>(), seq = new ArrayList<>(),
                authorUser = new ArrayList<>(), authorCharacter = new ArrayList<>(), owner = new ArrayList<>(),
                key = new ArrayList<>();
        final List<String> role = new ArrayList<>(), content = new ArrayList<>(), metadata = new ArrayList<>(),
                attachments = new ArrayList<>(), language = new ArrayList<>();
        final Map<Long, Tail> tails = new LinkedHashMap<>(); // by conversation, in the order first advanced

        /** Adds {@code m} as its conversation's next message, advancing {@code tail}. */
        void add(NewMessage m, Tail tail) {
            tail.lastSeq++;
            tail.newestId = m.id();
            tail.added++;
            tail.role = m.role();
            tail.preview = Preview.stored(m.content());
            tail.ownerId = m.ownerId();
            tails.put(m.conversationId(), tail);
            conversation.add(m.conversationId());
            id.add(m.id());
            seq.add(tail.lastSeq);
            authorUser.add(m.authorUserId());
            authorCharacter.add(m.authorCharacterId());
            owner.add(m.ownerId());
            role.add(m.role());
            content.add(m.content());
            metadata.add(m.metadata());
            attachments.add(m.attachments());
            language.add(m.language());
            key.add(m.key());
        }

        boolean isEmpty() {
            return id.isEmpty();
        }

        NamedQuery.Binding bound(Handle handle, long appId) throws SQLException {
            return WRITE.bind("app_id", appId)
                    .bind("message_conversation_ids", handle.array("bigint", conversation.toArray()))
                    .bind("message_ids", handle.array("bigint", id.toArray()))
                    .bind("message_seqs", handle.array("bigint", seq.toArray()))
                    .bind("message_author_user_ids", handle.array("bigint", authorUser.toArray()))
                    .bind("message_author_character_ids", handle.array("bigint", authorCharacter.toArray()))
                    .bind("message_roles", handle.array("text", role.toArray()))
                    .bind("message_contents", handle.array("text", content.toArray()))
                    .bind("message_metadata", handle.array("text", metadata.toArray()))
                    .bind("message_attachments", handle.array("text", attachments.toArray()))
                    .bind("message_owner_ids", handle.array("bigint", owner.toArray()))
                    .bind("message_languages", handle.array("text", language.toArray()))
                    .bind("message_import_keys", handle.array("bigint", key.toArray()))
                    .bind("tail_conversation_ids", handle.array("bigint", tails.keySet().toArray()))
                    .bind("tail_seqs", tailColumn(handle, "bigint", tail -> tail.lastSeq))
                    .bind("tail_added", tailColumn(handle, "bigint", tail -> tail.added))
                    .bind("tail_message_ids", tailColumn(handle, "bigint", tail -> tail.newestId))
                    .bind("tail_roles", tailColumn(handle, "text", tail -> tail.role))
                    .bind("tail_previews", tailColumn(handle, "text", tail -> tail.preview))
                    .bind("tail_owner_ids", tailColumn(handle, "bigint", tail -> tail.ownerId));
        }

        /** One field of every advanced conversation's tail, as an array in the order of {@link #tails}. */
        private java.sql.Array tailColumn(Handle handle, String type, java.util.function.Function<Tail, Object> field) throws SQLException {
            return handle.array(type, tails.values().stream().map(field).toArray());
        }
    }

    /** What one transaction of messages did: told to the report only once it has committed. */
    private record Written(long made, long existing, List<Rejected> rejected) {
    }

    /**
     * SHA-256 of two strings: of a message's conversation's and its own external id, its id's low bits and its key among
     * the lines read; of a kind and an external id, that line's key.
     */
    static byte[] digestOf(String first, String second) {
        try {
            return MessageDigest.getInstance("SHA-256").digest((first + "\u0000" + second).getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A message's id: its original millisecond, and in the low bits a hash of its conversation's and its own
     * external id, so the same line imported again is the same row.
     */
    static long idOf(Instant created, byte[] digest) {
        long low = ((digest[0] & 0xFFL) << 16 | (digest[1] & 0xFFL) << 8 | (digest[2] & 0xFFL)) & ((1L << LOW_BITS) - 1);
        return Ids.floorOf(created) | low;
    }

    /** The key a message line of {@code conversation} with {@code externalId} is kept with ({@code import_key}). */
    public static long messageKey(String conversation, String externalId) {
        return keyOf(digestOf(conversation, externalId));
    }

    /** A 64-bit key from a digest's bytes 8 to 15: two of ten million lines share one with a
     * chance of about 3 in a million, and the second is rejected as given twice (named in the report), not lost. */
    private static long keyOf(byte[] digest) {
        long key = 0;
        for (int i = 8; i < 16; i++) {
            key = key << 8 | (digest[i] & 0xFFL);
        }
        return key;
    }

    /**
     * The external ids an import resolved most recently, and their rows: at most {@link #recent} of each kind, so a long
     * import's memory does not grow with its characters, users and conversations. One evicted is read again when a
     * line names it.
     */
    private <V> Map<String, V> recent() {
        return new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > recent;
            }
        };
    }

    private static String jsonText(JsonNode value) {
        return value == null ? null : value.toString();
    }
}
