import java.net.URI;
import java.net.http.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.regex.*;

/**
 * Latency of the views Parley shares through Redis: each read once through instance A (from
 * PostgreSQL), then twice through instance B (from Redis, then from memory). Makes N characters, users
 * and conversations of 50 messages first.
 *
 *   java docs/measure/RedisTier.java KEY http://127.0.0.1:18501 http://127.0.0.1:18502 300
 */
public class RedisTier {
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static String key;

    static String send(String method, String url, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + key);
        if (body != null) b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        else b.method(method, HttpRequest.BodyPublishers.noBody());
        var r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) throw new IllegalStateException(method + " " + url + " -> " + r.statusCode() + " " + r.body());
        return r.body();
    }

    static String id(String json) {
        Matcher m = Pattern.compile("\"id\":\"(\\d+)\"").matcher(json);
        m.find();
        return m.group(1);
    }

    static long timed(String url) throws Exception {
        long t = System.nanoTime();
        send("GET", url, null);
        return System.nanoTime() - t;
    }

    static String pct(List<Long> xs) {
        List<Long> s = new ArrayList<>(xs);
        Collections.sort(s);
        return String.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms (n=%d)", s.get(s.size() / 2) / 1e6, s.get(s.size() * 9 / 10) / 1e6,
                s.get(Math.min(s.size() - 1, s.size() * 99 / 100)) / 1e6, s.size());
    }

    public static void main(String[] args) throws Exception {
        key = args[0];
        String a = args[1], b = args[2];
        int n = Integer.parseInt(args[3]);
        List<String[]> rows = new ArrayList<>();
        StringBuilder batch = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < 50; i++) {
            batch.append(i == 0 ? "" : ",").append("{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant")
                    .append("\",\"content\":\"Message number ").append(i).append(" about stars, nebulae and the long night sky, with a little more text to make it realistic.\"}");
        }
        batch.append("]}");
        for (int i = 0; i < n; i++) {
            String c = id(send("POST", a + "/v1/characters", "{\"name\":\"C" + i + "\",\"system_prompt\":\"You are C" + i + ".\",\"traits\":{\"energy\":\"calm\",\"n\":" + i + "}}"));
            String u = id(send("POST", a + "/v1/users", "{\"external_id\":\"m-" + System.nanoTime() + "\",\"profile\":{\"name\":\"U" + i + "\"}}"));
            String conv = id(send("POST", a + "/v1/conversations", "{\"user_id\":\"" + u + "\",\"character_id\":\"" + c + "\"}"));
            send("POST", a + "/v1/conversations/" + conv + "/messages/batch", batch.toString());
            rows.add(new String[] {c, u, conv});
        }
        Thread.sleep(1000); // let both instances hear the notices of the writes above
        for (String view : List.of("character", "history", "inbox")) {
            List<Long> load = new ArrayList<>(), redis = new ArrayList<>(), memory = new ArrayList<>();
            for (String[] r : rows) {
                String path = switch (view) {
                    case "character" -> "/v1/characters/" + r[0];
                    case "history" -> "/v1/conversations/" + r[2] + "/messages";
                    default -> "/v1/users/" + r[1] + "/inbox";
                };
                load.add(timed(a + path));
                redis.add(timed(b + path));
                memory.add(timed(b + path));
            }
            System.out.println(view + ": PostgreSQL load on A " + pct(load));
            System.out.println(view + ": Redis hit on B       " + pct(redis));
            System.out.println(view + ": memory hit on B      " + pct(memory));
        }
    }
}
