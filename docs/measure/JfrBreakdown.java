import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a Parley server's CPU goes, from a JFR recording: each CPU sample (jdk.CPUTimeSample, else
 * jdk.ExecutionSample) is charged to the layer that owns its innermost frame, JDK frames to the
 * first caller outside the JDK (a socket write called by Jetty is Jetty's), and also counted under
 * every Parley step on its stack ("inclusive": the share of all samples taken inside that step).
 *
 * <pre>java docs/measure/JfrBreakdown.java recording.jfr [LAYER]</pre>
 *
 * With a layer ("Jetty", say) it also prints that layer's samples by their innermost frames outside the JDK.
 */
public class JfrBreakdown {
    /** Layers by package prefix, first match wins. */
    static final List<String[]> LAYERS = List.of(
            new String[] {"dev.parley.bench.", "bench client"},
            new String[] {"dev.parley.http.Auth", "auth"},
            new String[] {"dev.parley.apps.ApiKeys", "auth"},
            new String[] {"dev.parley.http.RateLimiter", "auth"},
            new String[] {"dev.parley.db.Turns", "connection turns"},
            new String[] {"dev.parley.db.QueryLog", "metrics"},
            new String[] {"dev.parley.http.Requests", "JSON parse"},
            new String[] {"dev.parley.memory.Embedding", "JSON parse"},
            new String[] {"dev.parley.memory.", "recall (dot products, scoring)"},
            new String[] {"dev.parley.", "parley (other)"},
            new String[] {"com.fasterxml.jackson.", "JSON (Jackson)"},
            new String[] {"org.postgresql.", "JDBC (pgjdbc)"},
            new String[] {"com.zaxxer.hikari.", "pool (HikariCP)"},
            new String[] {"io.micrometer.", "metrics"},
            new String[] {"org.HdrHistogram.", "metrics"},
            new String[] {"io.javalin.", "Javalin"},
            new String[] {"org.eclipse.jetty.", "Jetty"},
            new String[] {"org.slf4j.", "logging"},
            new String[] {"com.github.benmanes.caffeine.", "cache (Caffeine)"});

    /** Steps counted inclusively: a sample whose stack holds the method counts once for it. */
    static final Map<String, String> STEPS = new LinkedHashMap<>();

    static {
        STEPS.put("dev.parley.http.Auth.authenticate", "authenticate (key, rate limit)");
        STEPS.put("dev.parley.http.HttpServer.record", "request metrics (HttpServer.record)");
        STEPS.put("dev.parley.db.QueryLog.record", "query metrics (QueryLog.record)");
        STEPS.put("dev.parley.db.Turns.", "connection turns (Turns)");
        STEPS.put("com.zaxxer.hikari.pool.HikariPool.getConnection", "pool checkout (HikariCP)");
        STEPS.put("com.zaxxer.hikari.pool.ProxyConnection.close", "pool return (HikariCP)");
        STEPS.put("dev.parley.http.Requests.body", "request body parse (Requests.body)");
        STEPS.put("dev.parley.json.Json.writeBytes", "response serialise (Json.writeBytes)");
        STEPS.put("dev.parley.http.Responses.write", "response write (Responses.write)");
        STEPS.put("org.postgresql.", "JDBC (pgjdbc, inclusive)");
        STEPS.put("dev.parley.memory.Recall.recall", "recall (Recall.recall)");
        STEPS.put("dev.parley.chat.ChatContext.build", "context build (ChatContext.build)");
        STEPS.put("dev.parley.bench.", "bench client (inclusive)");
    }

    public static void main(String[] args) throws Exception {
        var events = RecordingFile.readAllEvents(Path.of(args[0]));
        String type = events.stream().anyMatch(e -> e.getEventType().getName().equals("jdk.CPUTimeSample"))
                ? "jdk.CPUTimeSample" : "jdk.ExecutionSample";
        Map<String, Integer> layers = new TreeMap<>();
        Map<String, Integer> steps = new LinkedHashMap<>();
        Map<String, Integer> leaves = new TreeMap<>();
        Map<String, Integer> drill = new TreeMap<>();
        String drillLayer = args.length > 1 ? args[1] : null;
        int total = 0;
        for (RecordedEvent event : events) {
            if (!event.getEventType().getName().equals(type) || event.getStackTrace() == null) {
                continue;
            }
            List<RecordedFrame> frames = event.getStackTrace().getFrames();
            if (frames.isEmpty()) {
                continue;
            }
            total++;
            String layer = layer(frames);
            layers.merge(layer, 1, Integer::sum);
            if (layer.equals(drillLayer)) {
                drill.merge(path(frames), 1, Integer::sum);
            }
            leaves.merge(name(frames.getFirst()), 1, Integer::sum);
            STEPS.forEach((prefix, label) -> {
                if (frames.stream().anyMatch(f -> name(f).startsWith(prefix))) {
                    steps.merge(label, 1, Integer::sum);
                }
            });
        }
        System.out.printf("%d samples (%s)%n%nby layer (innermost frame's owner; JDK frames charged to their caller):%n",
                total, type);
        print(layers, total, 100);
        System.out.println("\ninclusive (samples with the step anywhere on the stack):");
        for (var step : steps.entrySet()) {
            System.out.printf("  %5.1f %%  %s%n", 100.0 * step.getValue() / total, step.getKey());
        }
        allocations(events);
        System.out.println("\nhottest innermost methods:");
        print(leaves, total, 25);
        if (drillLayer != null) {
            System.out.println("\n" + drillLayer + ", by innermost frames outside the JDK:");
            print(drill, total, 40);
        }
    }

    /** Bytes allocated by layer (jdk.ObjectAllocationSample weights), and the JVM's time in GC pauses. */
    static void allocations(List<RecordedEvent> events) {
        Map<String, Long> bytes = new TreeMap<>();
        long total = 0;
        long pauseNanos = 0;
        for (RecordedEvent event : events) {
            String type = event.getEventType().getName();
            if (type.equals("jdk.ObjectAllocationSample") && event.getStackTrace() != null
                    && !event.getStackTrace().getFrames().isEmpty()) {
                long weight = event.getLong("weight");
                total += weight;
                bytes.merge(layer(event.getStackTrace().getFrames()), weight, Long::sum);
            } else if (type.equals("jdk.GarbageCollection")) {
                pauseNanos += event.getDuration("sumOfPauses").toNanos();
            }
        }
        System.out.printf("%nallocated %.1f GB (sampled weights), GC pauses %.0f ms in all; by layer:%n", total / 1e9, pauseNanos / 1e6);
        long all = total;
        bytes.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(12)
                .forEach(e -> System.out.printf("  %5.1f %%  %s%n", 100.0 * e.getValue() / all, e.getKey()));
    }

    /** The innermost JDK frame, then up to four frames outside the JDK: where a layer's samples come from. */
    static String path(List<RecordedFrame> frames) {
        StringBuilder path = new StringBuilder(isJdk(name(frames.getFirst())) ? name(frames.getFirst()) + " < " : "");
        frames.stream().map(JfrBreakdown::name).filter(n -> !isJdk(n)).limit(4)
                .forEach(n -> path.append(n.substring(n.lastIndexOf('.', n.lastIndexOf('.') - 1) + 1)).append(" < "));
        return path.toString();
    }

    static String layer(List<RecordedFrame> frames) {
        for (RecordedFrame frame : frames) {
            String name = name(frame);
            for (String[] layer : LAYERS) {
                if (name.startsWith(layer[0])) {
                    return layer[1];
                }
            }
            if (!isJdk(name)) {
                return "other: " + name.substring(0, Math.max(0, name.indexOf('.', name.indexOf('.') + 1)));
            }
        }
        String root = name(frames.getLast());
        return root.contains("VirtualThread") || root.contains("ForkJoin") || root.contains("Continuation")
                ? "JDK: thread scheduling" : "JDK: other (" + name(frames.getFirst()) + ")";
    }

    static boolean isJdk(String name) {
        return name.startsWith("java.") || name.startsWith("jdk.") || name.startsWith("sun.") || name.startsWith("javax.");
    }

    static String name(RecordedFrame frame) {
        return frame.getMethod() == null ? "?" : frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
    }

    static void print(Map<String, Integer> counts, int total, int limit) {
        counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(limit)
                .forEach(e -> System.out.printf("  %5.1f %%  %s%n", 100.0 * e.getValue() / total, e.getKey()));
    }
}
