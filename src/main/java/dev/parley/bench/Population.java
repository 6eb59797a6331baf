package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Query;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The loaded dataset as the workload sees it: conversations picked in proportion to their size
 * (busy conversations are busy), with their owner and latest message, so the heavy users of a
 * skewed dataset are the ones that come back most.
 */
final class Population {
    static final Query CONVERSATIONS = new Query("bench.population", """
            SELECT conversation_id, user_id, character_id, coalesce(last_message_id, conversation_id), message_count
              FROM conversations WHERE app_id = ? ORDER BY conversation_id""");

    private final long[] conversations;
    private final long[] users;
    private final long[] characters;
    private final long[] lastMessages;
    private final double[] cumulative;
    private final int dims;

    /** The entities one operation works on; {@code term} is a word to search for, {@code topic} what to recall. */
    record Pick(long conversationId, long userId, long characterId, long messageId, String energy, String term, int topic) {
    }

    static final Query DIMS = new Query("bench.memory_dims", """
            SELECT coalesce(max(dims), 0) FROM memory_scopes WHERE app_id = ?""");

    private Population(List<long[]> rows, int dims) {
        this.dims = dims;
        int n = rows.size();
        conversations = new long[n];
        users = new long[n];
        characters = new long[n];
        lastMessages = new long[n];
        cumulative = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            long[] row = rows.get(i);
            conversations[i] = row[0];
            users[i] = row[1];
            characters[i] = row[2];
            lastMessages[i] = row[3];
            total += Math.max(1, row[4]);
            cumulative[i] = total;
        }
        for (int i = 0; i < n; i++) {
            cumulative[i] /= total;
        }
    }

    /** A population of the given rows (conversation, user, character, last message, message count). */
    static Population of(long[][] rows, int dims) {
        return new Population(new ArrayList<>(List.of(rows)), dims);
    }

    static Population load(Database database, long appId) {
        List<long[]> rows = database.read(h -> h.list(CONVERSATIONS, row -> new long[] {
                row.getLong(1), row.getLong(2), row.getLong(3), row.getLong(4), row.getLong(5)}, appId));
        if (rows.isEmpty()) {
            throw new IllegalStateException("the bench app has no conversations: run 'parley bench load' first");
        }
        int dims = database.read(h -> h.first(DIMS, row -> row.getInt(1), appId)).orElse(0);
        return new Population(new ArrayList<>(rows), dims);
    }

    private static final String[] ENERGIES = {"calm", "playful", "intense", "shy", "bold"};
    // What users look for in their chats: half the time a common content word (in about one message
    // in fifty), half the time a rarer one (rank 500 to 5,000, one message in 300 to 3,000).
    private static final String[] TERMS = {"star", "moon", "dream", "music", "movie", "book", "ocean", "forest",
            "mountain", "rain", "cat", "dog", "coffee", "travel", "dance", "lesson", "family", "weekend"};

    Pick pick(SplittableRandom random) {
        int at = Arrays.binarySearch(cumulative, random.nextDouble());
        int i = Math.min(conversations.length - 1, at >= 0 ? at : -at - 1);
        return new Pick(conversations[i], users[i], characters[i], lastMessages[i], ENERGIES[random.nextInt(ENERGIES.length)],
                random.nextBoolean() ? TERMS[random.nextInt(TERMS.length)] : TextGenerator.wordOfRank(500 + random.nextInt(4500)),
                random.nextInt(Topics.COUNT));
    }

    /** The embedding length of the dataset's memories; 0 when it has none. */
    int dims() {
        return dims;
    }

    int size() {
        return conversations.length;
    }
}
