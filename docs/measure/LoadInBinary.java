import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

/**
 * Reading one scope's memories as recall loads them (memory.load_scope), on a new connection each time: as text, as
 * pgjdbc reads a statement's first runs, and in binary, as Handle.listInBinary asks (docs/benchmarks.md, "A recall after
 * a write reads only what was written"). Four rounds of each, alternating.
 *
 *   java -cp target/parley.jar docs/measure/LoadInBinary.java 'jdbc:postgresql://127.0.0.1:PORT/parley?user=postgres&password=…' \
 *        APP_ID USER_ID CHARACTER_ID
 */
public class LoadInBinary {
    public static void main(String[] args) throws Exception {
        String sql = """
                SELECT memory_id, xmin::text::bigint, importance, created_at, embedding, coalesce(conversation_id, 0)
                  FROM memories WHERE app_id = ? AND user_id = ? AND character_id = ? AND embedding IS NOT NULL
                 ORDER BY memory_id""";
        for (int round = 0; round < 4; round++) {
            for (boolean binary : new boolean[] {false, true}) {
                try (Connection connection = DriverManager.getConnection(args[0]);
                     PreparedStatement statement = connection.prepareStatement(sql)) {
                    long started = System.nanoTime();
                    if (binary) {
                        statement.unwrap(org.postgresql.PGStatement.class).setPrepareThreshold(-1);
                    }
                    for (int i = 0; i < 3; i++) {
                        statement.setLong(i + 1, Long.parseLong(args[i + 1]));
                    }
                    long bytes = 0;
                    try (ResultSet rows = statement.executeQuery()) {
                        while (rows.next()) {
                            bytes += rows.getBytes(5).length;
                        }
                    }
                    System.out.printf("%s: %.0f ms, %d bytes of embeddings%n", binary ? "binary" : "text",
                            (System.nanoTime() - started) / 1e6, bytes);
                }
            }
        }
    }
}
