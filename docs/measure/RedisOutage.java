import java.net.URI;
import java.net.http.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.regex.*;

/**
 * Four clients append through instance A and read the history through instance B, for 15 s; Redis
 * is killed with SIGKILL at 5 s and started again at 10 s (by the two shell commands given). Prints
 * the reads' latency before, during and after, and how many requests failed.
 *
 *   java docs/measure/RedisOutage.java KEY http://127.0.0.1:18501 http://127.0.0.1:18502 \
 *       'kill -9 $(cat /tmp/pm/redis.pid)' \
 *       'redis-server --port 6391 --save "" --appendonly no --daemonize no & echo $! > /tmp/pm/redis.pid'
 */
public class RedisOutage {
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public static void main(String[] args) throws Exception {
        String key = args[0], a = args[1], b = args[2], kill = args[3], restart = args[4];
        List<String> conversations = new ArrayList<>();
        var list = CLIENT.send(HttpRequest.newBuilder(URI.create(a + "/v1/search/messages?q=stars&limit=100"))
                .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("\"conversation_id\":\"(\\d+)\"").matcher(list);
        while (m.find()) if (!conversations.contains(m.group(1))) conversations.add(m.group(1));
        long start = System.nanoTime();
        Map<String, List<Long>> phases = new ConcurrentHashMap<>();
        AtomicInteger errors = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            pool.submit(() -> {
                var random = ThreadLocalRandom.current();
                while (System.nanoTime() - start < 15_000_000_000L) {
                    String c = conversations.get(random.nextInt(conversations.size()));
                    try {
                        CLIENT.send(HttpRequest.newBuilder(URI.create(a + "/v1/conversations/" + c + "/messages"))
                                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"tick\"}")).build(), HttpResponse.BodyHandlers.discarding());
                        long t0 = System.nanoTime();
                        var r = CLIENT.send(HttpRequest.newBuilder(URI.create(b + "/v1/conversations/" + c + "/messages"))
                                .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.discarding());
                        long took = System.nanoTime() - t0;
                        if (r.statusCode() != 200) errors.incrementAndGet();
                        long at = (t0 - start) / 1_000_000_000L;
                        String phase = at < 5 ? "1 before the kill" : at < 10 ? "2 Redis down" : "3 after the restart";
                        phases.computeIfAbsent(phase, k -> new CopyOnWriteArrayList<>()).add(took);
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
                return null;
            });
        }
        Thread.sleep(5000);
        new ProcessBuilder("sh", "-c", kill).inheritIO().start().waitFor();
        System.out.println("killed Redis at 5 s");
        Thread.sleep(5000);
        new ProcessBuilder("sh", "-c", restart).inheritIO().start().waitFor();
        System.out.println("restarted Redis at 10 s");
        pool.shutdown();
        pool.awaitTermination(60, TimeUnit.SECONDS);
        new TreeMap<>(phases).forEach((phase, xs) -> {
            List<Long> s = new ArrayList<>(xs);
            Collections.sort(s);
            System.out.printf("%s: %d reads through B, p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", phase, s.size(),
                    s.get(s.size() / 2) / 1e6, s.get(s.size() * 99 / 100) / 1e6, s.getLast() / 1e6);
        });
        System.out.println("errors: " + errors.get());
    }
}
