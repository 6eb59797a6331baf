package dev.parley.redis;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.metrics.Metrics;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one connection to Redis (PARLEY_REDIS_URL) that every shared part uses, behind a circuit. Redis is
 * an optimisation here, never a dependency: a command that fails or outlasts the timeout opens the
 * circuit, and from then on every caller goes without Redis at once, adding no latency, until a probe
 * (one every {@code retry}, on the executor it is given) connects, pings and runs the steps registered
 * with {@link #whenBack} again. Going down and coming back are logged once each; the {@value
 * Metrics#REDIS_UP} gauge shows the state.
 */
public final class Redis implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Redis.class);
    // A connect runs on the probe's thread or at start, never on a request's, so it may take far longer than a
    // command: the first one in a fresh JVM loads and starts Netty, which took over a second on a busy machine.
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    // What Redis answers to a database number it does not have, a password it does not take, or none when it asks one.
    // NOPERM: an ACL user the URL names may not run Parley's commands or scripts, or touch its keys.
    private static final List<String> REFUSALS = List.of("ERR DB index", "WRONGPASS", "NOAUTH", "ERR invalid password",
            "ERR AUTH", "NOPERM");
    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

    private final RedisClient client;
    private final RedisURI uri;
    private final Duration retry;
    private final ScheduledExecutorService executor;
    private final Ticker ticker;
    private final List<Consumer<RedisCommands<String, byte[]>>> whenBack = new CopyOnWriteArrayList<>();
    private final AtomicBoolean up = new AtomicBoolean();
    private final MeterRegistry registry;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<String, Counter> errors = new ConcurrentHashMap<>();
    private volatile StatefulRedisConnection<String, byte[]> connection; // null until the first connect
    private volatile long downSince;
    private volatile boolean closed;

    /**
     * A link to {@code url} whose commands give up after {@code timeout}; nothing is sent until {@link #open}.
     * Lettuce's threads come from {@code resources}, which the caller shuts down after closing this.
     */
    public Redis(String url, Duration timeout, Duration retry, ClientResources resources, ScheduledExecutorService executor,
                 Ticker ticker, MeterRegistry registry) {
        this.uri = RedisURI.create(url);
        uri.setTimeout(CONNECT_TIMEOUT); // what a connect's handshake may take; commands have TimeoutOptions below
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(false) // the probe reconnects, so a reconnect is always followed by the steps of whenBack
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).build())
                .build());
        this.retry = retry;
        this.executor = executor;
        this.ticker = ticker;
        this.registry = registry;
        Gauge.builder(Metrics.REDIS_UP, up, state -> state.get() ? 1 : 0).description(Metrics.REDIS_UP_HELP).register(registry);
    }

    /** Registers a step that runs on every (re)connect, before any caller is let through: the circuit closes only if it succeeds. */
    public void whenBack(Consumer<RedisCommands<String, byte[]>> step) {
        whenBack.add(step);
    }

    /**
     * Loads {@code scripts} into Redis on every (re)connect, before callers are let through: a user the ACL denies
     * scripts (NOPERM) is then refused at the start, and a probe does not call Redis back only for the
     * first script run to open the circuit again, once a second. A proxy that takes EVAL but not SCRIPT (twemproxy,
     * Envoy's) answers the load with another error: nothing is loaded then, and each script is sent whole once.
     */
    public void runs(Script... scripts) {
        whenBack(commands -> {
            for (Script script : scripts) {
                try {
                    commands.scriptLoad(script.text());
                } catch (RedisCommandExecutionException e) {
                    if (String.valueOf(e.getMessage()).startsWith("NOPERM")) {
                        throw e;
                    }
                    return;
                }
            }
        });
    }

    /**
     * Connects now, or, if Redis does not answer, says so once and leaves the retrying to the probes. A Redis that
     * answers and refuses the URL's database number, credentials or the user's permissions is a setting to mend, not
     * an outage to wait out: that stops the start, since an instance serving on would keep typing and presence of its
     * own unseen.
     */
    public void open() {
        RedisException failure = attempt();
        if (failure == null) {
            LOG.info("Redis at {} shares cached reads, typing and presence between instances", where());
            return;
        }
        if (refusesTheUrl(failure)) {
            throw new IllegalStateException("Redis at " + where() + " refuses PARLEY_REDIS_URL (" + reason(failure)
                    + "): mend its database number, credentials or the user's permissions (ACL)");
        }
        downSince = ticker.read();
        LOG.warn("Redis at {} does not answer ({}); serving from this instance's memory and PostgreSQL without it, "
                + "and trying it again every {} ms", where(), reason(failure), retry.toMillis());
        executor.schedule(this::probeUntilBack, retry.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether callers use Redis right now (the circuit is closed). */
    public boolean up() {
        return up.get();
    }

    /** Where Redis is, for log lines: host, port and database, never the password. */
    public String where() {
        return uri.getHost() + ":" + uri.getPort() + (uri.getDatabase() == 0 ? "" : "/" + uri.getDatabase());
    }

    /**
     * Runs {@code command} (named {@code name} in the metrics), whose result must not be null. Empty when
     * the circuit is open or the command failed; a failure opens the circuit.
     */
    public <T> Optional<T> run(String name, Function<RedisCommands<String, byte[]>, T> command) {
        StatefulRedisConnection<String, byte[]> open = connection;
        if (!up.get() || open == null) {
            return Optional.empty();
        }
        long start = ticker.read();
        try {
            return Optional.of(Objects.requireNonNull(command.apply(open.sync()), name));
        } catch (RedisException e) {
            failed(name, e);
            return Optional.empty();
        } finally {
            timer(name).record(ticker.read() - start, TimeUnit.NANOSECONDS);
        }
    }

    private void failed(String command, RedisException e) {
        errors.computeIfAbsent(command, c -> Counter.builder(Metrics.REDIS_ERRORS).description(Metrics.REDIS_ERRORS_HELP)
                .tag("command", c).register(registry)).increment();
        if (closed || !up.compareAndSet(true, false)) {
            return; // already down: the one line was logged by whoever opened the circuit
        }
        downSince = ticker.read();
        LOG.warn("Redis at {} failed ({}: {}); serving from this instance's memory and PostgreSQL without it, "
                + "and trying it again every {} ms", where(), command, reason(e), retry.toMillis());
        executor.schedule(this::probeUntilBack, retry.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void probeUntilBack() {
        if (closed) {
            return;
        }
        RedisException failure = attempt();
        if (failure != null) {
            LOG.debug("Redis at {} still does not answer: {}", where(), reason(failure));
            executor.schedule(this::probeUntilBack, retry.toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        LOG.info("Redis at {} answers again; it is used again after {} ms without it", where(),
                TimeUnit.NANOSECONDS.toMillis(ticker.read() - downSince));
    }

    /**
     * One attempt to be up: connect if the connection is gone, ping, run the steps of whenBack. Null when it
     * worked; otherwise a connection that still looks open is closed, so the next attempt starts afresh rather
     * than wait on a socket that may never answer again.
     */
    private RedisException attempt() {
        StatefulRedisConnection<String, byte[]> current = connection;
        try {
            if (current == null || !current.isOpen()) { // without auto-reconnect, one that lost its socket is closed already
                current = client.connect(CODEC, uri);
                connection = current;
            }
            RedisCommands<String, byte[]> commands = current.sync();
            commands.ping();
            whenBack.forEach(step -> step.accept(commands));
        } catch (RedisException e) {
            if (current != null && current.isOpen()) {
                current.closeAsync();
            }
            return e;
        }
        up.set(true);
        return null;
    }

    /** Whether Redis answered and refused the database number or the credentials the URL gives. */
    private static boolean refusesTheUrl(RedisException e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof RedisCommandExecutionException refused) {
                String message = String.valueOf(refused.getMessage());
                return REFUSALS.stream().anyMatch(message::startsWith);
            }
        }
        return false;
    }

    /** Lettuce's message, and the cause under it when that says more ("Unable to connect to ...: Connection refused"). */
    private static String reason(RedisException e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String message = String.valueOf(e.getMessage());
        String cause = root.getMessage();
        return root == e || cause == null || message.contains(cause) ? message : message + ": " + cause;
    }

    private Timer timer(String command) {
        return timers.computeIfAbsent(command, c -> Timer.builder(Metrics.REDIS_COMMAND_SECONDS)
                .description(Metrics.REDIS_COMMAND_SECONDS_HELP).tag("command", c)
                .serviceLevelObjectives(Metrics.REDIS_BUCKETS).register(registry));
    }

    /** Stops probing and closes the connection; commands after this go without Redis. */
    @Override
    public void close() {
        closed = true;
        up.set(false);
        StatefulRedisConnection<String, byte[]> open = connection;
        if (open != null && open.isOpen()) {
            open.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
