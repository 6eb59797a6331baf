import dev.parley.Parley;
import dev.parley.db.Query;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a new connection's first plans cost: for each statement a pooled connection plans ahead
 * (Parley.PLANNED_AHEAD, db/WarmConnections), its first generic plan on a new connection and the same
 * plan made again on it, averaged over ROUNDS new connections. The difference is the catalog a new
 * backend reads; WarmConnections pays it before the connection serves a request.
 *
 *   java -cp target/parley.jar docs/measure/ColdPlans.java jdbc:postgresql://127.0.0.1:55432/parley postgres PASSWORD ROUNDS
 */
public class ColdPlans {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String user = args[1];
        String password = args[2];
        int rounds = Integer.parseInt(args[3]);
        Map<String, double[]> millis = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++) {
            try (Connection connection = DriverManager.getConnection(url, user, password);
                 Statement statement = connection.createStatement()) {
                statement.execute("SET plan_cache_mode = force_generic_plan");
                for (Query query : Parley.PLANNED_AHEAD) {
                    Query.Numbered numbered = query.numbered();
                    int parameters = numbered.parameters();
                    String nulls = parameters == 0 ? "" : "(" + String.join(",", Collections.nCopies(parameters, "NULL")) + ")";
                    double[] times = millis.computeIfAbsent(query.name(), name -> new double[2]);
                    for (int time = 0; time < 2; time++) {
                        long started = System.nanoTime();
                        statement.execute("PREPARE cold AS " + numbered.sql());
                        statement.execute("EXPLAIN EXECUTE cold" + nulls);
                        statement.execute("DEALLOCATE cold");
                        times[time] += (System.nanoTime() - started) / 1e6 / rounds;
                    }
                }
            }
        }
        double first = 0;
        double again = 0;
        for (var entry : millis.entrySet()) {
            System.out.printf("%-40s first %7.2f ms  again %6.2f ms%n", entry.getKey(), entry.getValue()[0], entry.getValue()[1]);
            first += entry.getValue()[0];
            again += entry.getValue()[1];
        }
        System.out.printf("%-40s first %7.2f ms  again %6.2f ms%n", "all", first, again);
    }
}
