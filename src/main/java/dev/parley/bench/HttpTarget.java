package dev.parley.bench;

import java.io.IOException;
import java.net.URI;
import java.util.concurrent.atomic.AtomicLong;

/** The workload through Parley's HTTP API, one keep-alive connection per worker. */
final class HttpTarget implements Target {
    private final URI base;
    private final String apiKey;
    private final int dims;
    private final AtomicLong sent = new AtomicLong();

    /** {@code dims}: the dataset's embedding length, 0 when it has no memories (context then skips them). */
    HttpTarget(URI base, String apiKey, int dims) {
        this.base = base;
        this.apiKey = apiKey;
        this.dims = dims;
    }

    @Override
    public String name() {
        return "parley";
    }

    @Override
    public Session session() {
        var http = new MiniHttp(base.getHost(), base.getPort(), apiKey);
        return new Session() {
            @Override
            public void run(Operation operation, Population.Pick pick) throws IOException, Target.Rejected {
                String conversation = "/v1/conversations/" + pick.conversationId();
                MiniHttp.Response response = switch (operation) {
                    case INBOX -> http.get("/v1/users/" + pick.userId() + "/inbox?limit=20");
                    case HISTORY -> http.get(conversation + "/messages?limit=50");
                    case CONTEXT -> dims == 0 ? http.get(conversation + "/context?messages=20")
                            : http.post(conversation + "/context", "{\"messages\":20,\"memories\":5,\"memory_embedding\":"
                            + Topics.queryJson(pick.topic(), dims) + "}");
                    case APPEND -> http.post(conversation + "/messages",
                            "{\"role\":\"user\",\"content\":\"bench message " + sent.incrementAndGet() + " about the stars tonight\"}");
                    case READ -> http.post(conversation + "/read", "{\"message_id\":\"" + pick.messageId() + "\"}");
                    case BROWSE -> http.get("/v1/characters?limit=20&traits=%7B%22energy%22%3A%22" + pick.energy() + "%22%7D");
                    case SEARCH -> http.get("/v1/search/messages?limit=20&q=" + pick.term() + "&user_id=" + pick.userId());
                    case RECALL -> http.post("/v1/users/" + pick.userId() + "/memories/recall", "{\"character_id\":\""
                            + pick.characterId() + "\",\"limit\":10,\"embedding\":" + Topics.queryJson(pick.topic(), Math.max(1, dims)) + "}");
                };
                if (response.status() == 503 || response.status() == 429) {
                    throw new Target.Rejected(operation + " answered " + response.status());
                }
                if (response.status() >= 300) {
                    throw new IOException(operation + " answered " + response.status() + ": " + response.text());
                }
            }

            @Override
            public void close() throws IOException {
                http.close();
            }
        };
    }
}
