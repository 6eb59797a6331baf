package dev.parley.bench;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.ReadCache;
import dev.parley.chat.BatchWriter;
import dev.parley.chat.Characters;
import dev.parley.chat.CounterBuffer;
import dev.parley.chat.GroupCommit;
import dev.parley.chat.Inbox;
import dev.parley.chat.Members;
import dev.parley.chat.MessageFilter;
import dev.parley.chat.MessageLog;
import dev.parley.chat.NewMessage;
import dev.parley.chat.ReadMarkers;
import dev.parley.chat.Users;
import dev.parley.chat.WindowCounts;
import dev.parley.config.CounterFlush;
import dev.parley.context.ChatContext;
import dev.parley.context.ContextRequest;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.json.Json;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.memory.RecallRequest;
import dev.parley.search.Languages;
import dev.parley.search.MessageSearch;
import dev.parley.search.Snippets;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * "raw": the same SQL Parley runs, through Parley's own classes in this process, with no HTTP and
 * no JSON in between: what the database gives for this work, the ceiling for the HTTP figures.
 */
final class ServiceTarget implements Target {
    private final long appId;
    private final Inbox inbox;
    private final MessageLog log;
    private final ChatContext context;
    private final ReadMarkers readMarkers;
    private final Characters characters;
    private final GroupCommit appends;
    private final ExecutorService writerThreads;
    private final MessageSearch search;
    private final Recall recall;
    private final Memories memories;
    private final WindowCounts counts;
    private final int dims;
    private final AtomicLong sent = new AtomicLong();

    /** {@code dims}: the dataset's embedding length, 0 when it has no memories (context then skips them). */
    ServiceTarget(Database database, long appId, int appendWriters, int dims) {
        this.appId = appId;
        this.dims = dims;
        var snippets = new Snippets();
        this.search = new MessageSearch(database, Clock.systemUTC(), snippets);
        this.recall = new Recall(database, Clock.systemUTC(), 256L << 20, new SimpleMeterRegistry());
        this.counts = new WindowCounts(database, Clock.systemUTC());
        this.inbox = new Inbox(database);
        ReadCache none = ReadCache.none(); // the SQL as Parley runs it on a miss, every time
        this.log = new MessageLog(database, none, Clock.systemUTC());
        this.characters = new Characters(database, none);
        var counters = new CounterBuffer(database, none, Runnable::run, Ticker.systemTicker(), CounterFlush.DEFAULTS,
                new SimpleMeterRegistry()); // the bench moves no counters: this only shows the stored ones
        this.memories = new Memories(database, snippets);
        this.context = new ChatContext(database, none, characters, new Users(database, none, counters), counters, recall,
                memories);
        this.readMarkers = new ReadMarkers(database, none);
        this.writerThreads = Executors.newFixedThreadPool(GroupCommit.threads(appendWriters),
                Thread.ofPlatform().name("bench-append-", 0).daemon().factory());
        this.appends = new GroupCommit(new BatchWriter(database, new Ids(Clock.systemUTC()), none), writerThreads, appendWriters,
                Ticker.systemTicker(), BenchCommand.POOL_TIMEOUT, new SimpleMeterRegistry());
    }

    @Override
    public String name() {
        return "raw";
    }

    private NewMessage benchMessage() {
        return Target.message(sent.incrementAndGet());
    }

    @Override
    public Session session() {
        return this::perform;
    }

    /**
     * One operation, its answer dropped. A switch expression, so that an operation added to {@link Operation} fails to
     * compile here until this target runs it, rather than being timed as nothing.
     */
    private Object perform(Operation operation, Population.Pick pick) {
        return switch (operation) {
            case INBOX -> inbox.page(appId, pick.userId(), Inbox.Position.START, 20);
            case HISTORY -> log.history(appId, pick.conversationId(), new MessageLog.Position.Latest(), 50);
            case CONTEXT -> context.build(appId, contextFor(pick));
            case APPEND -> appends.append(appId, pick.conversationId(), benchMessage());
            case APPEND_BATCH -> appends.append(appId, pick.conversationId(),
                    java.util.stream.Stream.generate(this::benchMessage).limit(Operation.BATCH).toList());
            case READ -> readMarkers.markRead(appId, pick.conversationId(), pick.messageId(), Members.Kind.USER, null);
            case BROWSE -> characters.list(appId, 0, Json.MAPPER.valueToTree(Map.of("energy", pick.energy())), null, 20);
            case SEARCH -> search.search(appId, new MessageSearch.Scope.User(pick.userId()), pick.term(), null,
                    MessageSearch.Order.RELEVANCE, MessageSearch.After.START, 20);
            case RECALL -> recall(pick, 10);
            case SEARCH_MEMORIES -> memories.search(appId, pick.userId(), null, pick.term(), Languages.DEFAULT,
                    MessageSearch.Order.RELEVANCE, Memories.SearchAfter.START, 10);
            case WINDOW_COUNT -> counts.character(appId, pick.characterId(), Duration.ofHours(1));
            case FILTERED_HISTORY -> log.filtered(appId, pick.conversationId(), new MessageLog.Position.Latest(),
                    byModel(pick), 50);
        };
    }

    /** What the HTTP target asks for: 20 messages and, when the dataset has memories, 5 recalled by the pick's topic. */
    private ContextRequest contextFor(Population.Pick pick) {
        var request = ContextRequest.of(pick.conversationId(), 20);
        return dims == 0 ? request : request.recalling(Topics.topic(pick.topic(), dims), 5);
    }

    static MessageFilter byModel(Population.Pick pick) {
        return new MessageFilter(null, null, null, Json.MAPPER.valueToTree(Map.of("model", pick.model())), null, null, null);
    }

    private Recall.Result recall(Population.Pick pick, int limit) {
        float[] query = Topics.topic(pick.topic(), Math.max(1, dims));
        return recall.recall(appId, pick.userId(), pick.characterId(), RecallRequest.of(query, limit), "embedding");
    }

    @Override
    public void close() {
        appends.close();
        writerThreads.shutdown();
    }
}
