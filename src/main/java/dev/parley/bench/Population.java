package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The loaded dataset as the workload sees it: conversations with their owner and latest message,
 * picked as {@link Popularity} says, so that the users who come back most are those of the busiest
 * conversations.
 */
final class Population {
    static final Query CONVERSATIONS = new Query("bench.population", """
            SELECT conversation_id, user_id, character_id, coalesce(last_message_id, conversation_id), message_count
              FROM conversations WHERE app_id = ? AND coalesce(last_message_id, conversation_id) >= ? ORDER BY conversation_id""");

    /**
     * Which conversations the workload visits. {@code size}: in proportion to their messages (busy
     * conversations are busy). {@code zipf} (or {@code zipf:S}): by Zipf's law with exponent S (default 1)
     * over the conversations ranked by last activity, the latest first: a small hot set takes most of the
     * traffic, as in a chat app where today's conversations are read again and again, which is what a
     * cache's hit rate depends on.
     */
    record Popularity(String name, double exponent) {
        static final Popularity BY_SIZE = new Popularity("size", 0);

        static Popularity parse(String text) {
            if (text.equals("size")) {
                return BY_SIZE;
            }
            if (text.equals("zipf")) {
                return new Popularity("zipf", 1.0);
            }
            if (text.startsWith("zipf:")) {
                double exponent;
                try {
                    exponent = Double.parseDouble(text.substring(5));
                } catch (NumberFormatException e) { // "zipf:" said only "empty String"
                    exponent = Double.NaN;
                }
                if (!(exponent > 0 && exponent <= 5)) {
                    throw new IllegalArgumentException("--popularity zipf:S takes an exponent in (0, 5], not '" + text.substring(5) + "'");
                }
                return new Popularity("zipf", exponent);
            }
            throw new IllegalArgumentException("--popularity takes size, zipf or zipf:EXPONENT, not " + text);
        }
    }

    private final long[] conversations;
    private final long[] users;
    private final long[] characters;
    private final long[] lastMessages;
    private final double[] cumulative; // by size; null under Zipf
    private final int[] byActivity; // conversation indexes, the latest active first; null by size
    private final Zipf zipf;
    private final int dims;

    /** The entities one operation works on; {@code term} is a word to search for, {@code topic} what to recall. */
    record Pick(long conversationId, long userId, long characterId, long messageId, String energy, String term, int topic) {
        /** A model assistant messages name in their metadata, for a filtered history. */
        String model() {
            return DatasetLoader.MODELS[topic % DatasetLoader.MODELS.length];
        }
    }

    static final Query DIMS = new Query("bench.memory_dims", """
            SELECT coalesce(max(dims), 0) FROM memory_scopes WHERE app_id = ?""");

    private Population(List<long[]> rows, int dims, Popularity popularity) {
        this.dims = dims;
        int n = rows.size();
        conversations = new long[n];
        users = new long[n];
        characters = new long[n];
        lastMessages = new long[n];
        for (int i = 0; i < n; i++) {
            long[] row = rows.get(i);
            conversations[i] = row[0];
            users[i] = row[1];
            characters[i] = row[2];
            lastMessages[i] = row[3];
        }
        boolean bySize = popularity.exponent() == 0;
        cumulative = bySize ? bySize(rows) : null;
        byActivity = bySize ? null : IntStream.range(0, n).boxed()
                .sorted(Comparator.comparingLong((Integer i) -> lastMessages[i]).reversed())
                .mapToInt(Integer::intValue).toArray();
        zipf = bySize ? null : new Zipf(n, popularity.exponent());
    }

    private static double[] bySize(List<long[]> rows) {
        double[] cumulative = new double[rows.size()];
        double total = 0;
        for (int i = 0; i < cumulative.length; i++) {
            total += Math.max(1, rows.get(i)[4]);
            cumulative[i] = total;
        }
        for (int i = 0; i < cumulative.length; i++) {
            cumulative[i] /= total;
        }
        return cumulative;
    }

    /** A population of the given rows (conversation, user, character, last message, message count). */
    static Population of(long[][] rows, int dims, Popularity popularity) {
        return new Population(new ArrayList<>(List.of(rows)), dims, popularity);
    }

    static Population load(Database database, long appId, Popularity popularity) {
        return load(database, appId, popularity, null);
    }

    /** The conversations of the bench app with a message since {@code activeSince} (every one when null). */
    static Population load(Database database, long appId, Popularity popularity, Instant activeSince) {
        long since = activeSince == null ? Long.MIN_VALUE : Ids.floorOf(activeSince);
        List<long[]> rows = database.read(handle -> handle.list(CONVERSATIONS, row -> new long[] {
                row.getLong(1), row.getLong(2), row.getLong(3), row.getLong(4), row.getLong(5)}, appId, since));
        if (rows.isEmpty()) {
            throw new IllegalStateException(activeSince == null ? "the bench app has no conversations: run 'parley bench load' first"
                    : "no conversation of the bench app has a message since " + activeSince);
        }
        int dims = database.read(handle -> handle.first(DIMS, row -> row.getInt(1), appId)).orElse(0);
        return new Population(new ArrayList<>(rows), dims, popularity);
    }

    private static final String[] ENERGIES = {"calm", "playful", "intense", "shy", "bold"};
    // What users look for in their chats: half the time a common content word (in about one message
    // in fifty), half the time a rarer one (rank 500 to 5,000, one message in 300 to 3,000).
    static final String[] TERMS = {"star", "moon", "dream", "music", "movie", "book", "ocean", "forest",
            "mountain", "rain", "cat", "dog", "coffee", "travel", "dance", "lesson", "family", "weekend"};

    Pick pick(SplittableRandom random) {
        int i = zipf != null ? byActivity[zipf.next(random)] : bySize(random);
        return new Pick(conversations[i], users[i], characters[i], lastMessages[i], ENERGIES[random.nextInt(ENERGIES.length)],
                random.nextBoolean() ? TERMS[random.nextInt(TERMS.length)] : TextGenerator.wordOfRank(500 + random.nextInt(4500)),
                random.nextInt(Topics.COUNT));
    }

    private int bySize(SplittableRandom random) {
        int at = Arrays.binarySearch(cumulative, random.nextDouble());
        return Math.min(conversations.length - 1, at >= 0 ? at : -at - 1);
    }

    /** The embedding length of the dataset's memories; 0 when it has none. */
    int dims() {
        return dims;
    }

    int size() {
        return conversations.length;
    }
}
