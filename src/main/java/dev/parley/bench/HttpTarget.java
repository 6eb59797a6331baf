package dev.parley.bench;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The workload through Parley's HTTP API, one keep-alive connection per worker. */
final class HttpTarget implements Target {
    private static final byte[] END = MiniHttp.bytes("}");
    private static final Pattern CPU_TIME = Pattern.compile("^process_cpu_time_ns_total\\s+(\\S+)", Pattern.MULTILINE);

    /** How the client talks: embeddings as JSON numbers or base64 of float32; whether it asks for gzip, as most libraries do. */
    record Client(boolean base64Embeddings, boolean acceptGzip) {
        static final Client PLAIN = new Client(false, false);
    }

    /**
     * Where the API and the admin port answer, with the keys each wants (the admin key null when it wants none);
     * {@code serverHere} says the Parley runs in the bench's own JVM.
     */
    record Endpoints(URI api, String apiKey, URI admin, String adminKey, boolean serverHere) {
    }

    private final String name;
    private final URI base;
    private final String apiKey;
    private final Endpoints endpoints;
    private final int dims;
    private final Client client;
    private final AtomicLong sent = new AtomicLong();

    /** Checks history pages against acknowledged appends (gzipped ones unzipped, only those it checks). */
    private final Freshness freshness = new Freshness();

    /** {@code dims}: the dataset's embedding length, 0 when it has no memories (context then skips them). */
    HttpTarget(String name, Endpoints endpoints, int dims, Client client) {
        this.name = name;
        this.base = endpoints.api();
        this.apiKey = endpoints.apiKey();
        this.endpoints = endpoints;
        this.dims = dims;
        this.client = client;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Session session() {
        var http = client.acceptGzip() ? new MiniHttp(base.getHost(), base.getPort(), apiKey, "Accept-Encoding", "gzip")
                : new MiniHttp(base.getHost(), base.getPort(), apiKey);
        return new Session() {
            @Override
            public void run(Operation operation, Population.Pick pick) throws IOException, Target.Rejected {
                String conversation = "/v1/conversations/" + pick.conversationId();
                long began = System.nanoTime();
                MiniHttp.Response response = switch (operation) {
                    case INBOX -> http.get("/v1/users/" + pick.userId() + "/inbox?limit=20");
                    case HISTORY -> http.get(conversation + "/messages?limit=50");
                    case CONTEXT -> dims == 0 ? http.get(conversation + "/context?messages=20")
                            : http.post(conversation + "/context", MiniHttp.bytes("{\"messages\":20,\"memories\":5,\"memory_embedding\":"),
                            embedding(pick.topic(), dims), END);
                    case APPEND -> http.post(conversation + "/messages", MiniHttp.bytes(
                            "{\"role\":\"user\",\"content\":\"" + Target.messageText(sent.incrementAndGet()) + "\"}"));
                    case APPEND_BATCH -> http.post(conversation + "/messages/batch", batch());
                    case READ -> http.post(conversation + "/read", MiniHttp.bytes("{\"message_id\":\"" + pick.messageId() + "\"}"));
                    case BROWSE -> http.get("/v1/characters?limit=20&traits=%7B%22energy%22%3A%22" + pick.energy() + "%22%7D");
                    case SEARCH -> http.get("/v1/search/messages?limit=20&q=" + pick.term() + "&user_id=" + pick.userId());
                    case RECALL -> http.post("/v1/users/" + pick.userId() + "/memories/recall", MiniHttp.bytes("{\"character_id\":\""
                            + pick.characterId() + "\",\"limit\":10,\"embedding\":"), embedding(pick.topic(), Math.max(1, dims)), END);
                    case SEARCH_MEMORIES -> http.get("/v1/search/memories?limit=10&q=" + pick.term() + "&user_id=" + pick.userId());
                    case WINDOW_COUNT -> http.get("/v1/characters/" + pick.characterId() + "/stats?window=1h");
                    case FILTERED_HISTORY -> http.get(conversation + "/messages?limit=50&metadata="
                            + URLEncoder.encode("{\"model\":\"" + pick.model() + "\"}", StandardCharsets.UTF_8));
                };
                if (response.status() == 503 || response.status() == 429) {
                    throw new Target.Rejected(operation + " answered " + response.status());
                }
                if (response.status() >= 300) {
                    throw new IOException(operation + " answered " + response.status() + ": " + http.unzipped(response).text());
                }
                if (operation == Operation.APPEND) {
                    MiniHttp.Response message = http.unzipped(response);
                    freshness.appended(pick.conversationId(), message.body(), message.length());
                } else if (operation == Operation.HISTORY && freshness.checks(pick.conversationId(), began)) {
                    MiniHttp.Response page = http.unzipped(response);
                    freshness.read(pick.conversationId(), began, page.body(), page.length());
                }
            }

            @Override
            public void close() throws IOException {
                http.close();
            }
        };
    }

    /**
     * Fails at once, saying what to do, when nothing answers at the API or it refuses the key: a run against it
     * spent its whole duration on errors and exited 0. {@code option} names where the address came from.
     */
    void probe(String option) {
        MiniHttp.Response answer;
        try (var http = new MiniHttp(base.getHost(), base.getPort(), apiKey)) {
            answer = http.get("/v1/characters?limit=1");
            if (answer.status() == 401 || answer.status() == 403) {
                throw new IllegalStateException("the Parley at " + option + " " + base + " does not know the bench app's key (it "
                        + "answered " + answer.status() + "): it must serve the database given by --database-url/--data-dir");
            }
            if (answer.status() != 200) {
                throw new IllegalStateException("the Parley at " + option + " " + base + " answered GET /v1/characters with "
                        + answer.status() + ": " + http.unzipped(answer).text());
            }
        } catch (IOException e) {
            throw new IllegalStateException("nothing answers at " + option + " " + base + " (" + e.getMessage() + "): start "
                    + "Parley there (parley serve) on the bench's database, or leave out " + option + " to measure one this run starts", e);
        }
    }

    private byte[] embedding(int topic, int dims) {
        return client.base64Embeddings() ? Topics.queryBase64(topic, dims) : Topics.queryJson(topic, dims);
    }

    @Override
    public Freshness.Counts freshness() {
        return freshness.counts();
    }

    /** Parley's cache counters, scraped from its admin port's {@code /metrics}. */
    @Override
    public CacheCounts cacheCounts() throws IOException {
        return CacheCounts.fromPrometheus(metrics());
    }

    /** The server's JVM CPU time, from its admin port's {@code /metrics}, unless it is the bench's own JVM. */
    @Override
    public Long serverCpuNanos() throws IOException {
        if (endpoints.serverHere()) {
            return null;
        }
        Matcher sample = CPU_TIME.matcher(metrics());
        return sample.find() ? (long) Double.parseDouble(sample.group(1)) : null;
    }

    private String metrics() throws IOException {
        URI admin = endpoints.admin();
        try (var http = new MiniHttp(admin.getHost(), admin.getPort(), endpoints.adminKey())) {
            MiniHttp.Response metrics = http.get("/metrics");
            if (metrics.status() != 200) {
                throw new IOException("GET /metrics answered " + metrics.status() + ": " + metrics.text());
            }
            return metrics.text();
        } catch (java.net.ConnectException e) {
            throw new IOException("nothing answers at " + admin + " for the server's metrics: give the admin port of the "
                    + "Parley at --url with --admin-url (parley serve prints it)", e);
        }
    }

    /** {"messages":[...]}: a batch of Operation.BATCH user messages. */
    private byte[] batch() {
        var body = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < Operation.BATCH; i++) {
            body.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"")
                    .append(Target.messageText(sent.incrementAndGet())).append("\"}");
        }
        return MiniHttp.bytes(body.append("]}").toString());
    }
}
