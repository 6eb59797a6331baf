package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A PARLEY_REPLICA_URLS entry that names a server which is not a standby (here the primary itself) is never
 * read from, and Parley says why: one WARN line for it, {@code parley_replica_standby} 0, and its state naming
 * it "not a standby" rather than "not answering".
 */
class ReplicaNotAStandbyTest {
    @Test
    void a_replica_url_naming_the_primary_is_logged_once_as_not_a_standby_and_never_read_from() throws Exception {
        ConnectionTarget target = TestDatabase.get().migrated("parley_replica_not_standby");
        var logged = new ListAppender<ILoggingEvent>();
        var logger = (Logger) LoggerFactory.getLogger(Replicas.class);
        logged.start();
        logger.addAppender(logged);
        var registry = new SimpleMeterRegistry();
        var sampler = Executors.newSingleThreadScheduledExecutor();
        try (Database primary = TestDatabase.pool(target, 2);
             Replicas replicas = Replicas.start(primary, List.of(target), 1, List.of(),
                     new Replicas.Options(Duration.ofMinutes(1), Duration.ofMillis(100), Duration.ofMillis(20), null), QueryLog.quiet(),
                     registry, sampler, Clock.systemUTC(), (replica, name) -> null)) {
            try {
                Thread.sleep(300); // some fifteen samples, each finding it not in recovery
                String name = Replicas.nameOf(target);

                assertThat(replicas.read(handle -> 1, false)).as("read from the primary").isNull();
                List<String> warnings = logged.list.stream().filter(e -> e.getLevel() == Level.WARN)
                        .map(ILoggingEvent::getFormattedMessage).toList();
                assertThat(warnings).singleElement().asString()
                        .contains("read replica " + name + " is not a standby").contains("will not read from it");
                assertThat(replicas.states()).singleElement().satisfies(state -> {
                    assertThat(state.inRotation()).isFalse();
                    assertThat(state.problem()).startsWith("not a standby");
                });
                assertThat(registry.get("parley_replica_standby").tag("replica", name).gauge().value()).isZero();
                assertThat(registry.get("parley_replica_lag_seconds").tag("replica", name).gauge().getId().getDescription())
                        .contains("not a standby");
            } finally {
                sampler.shutdownNow(); // before the pools close, which it samples
            }
        } finally {
            logger.detachAppender(logged);
        }
    }

    /** Two URLs on one server, its two databases, are two replicas with two names in the metrics and the log. */
    @Test
    void two_replica_urls_on_one_server_are_named_apart_by_their_database() {
        ConnectionTarget target = TestDatabase.get().migrated("parley_replica_not_standby");
        var postgres = new ConnectionTarget(target.jdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/postgres$1"), target.user(),
                target.password());
        var registry = new SimpleMeterRegistry();
        var sampler = Executors.newSingleThreadScheduledExecutor();
        try (Database primary = TestDatabase.pool(target, 2);
             Replicas replicas = Replicas.start(primary, List.of(target, postgres), 1, List.of(),
                     new Replicas.Options(Duration.ofMinutes(1), Duration.ofMillis(100), Duration.ofHours(1), null), QueryLog.quiet(),
                     registry, sampler, Clock.systemUTC(), (replica, name) -> null)) {
            try {
                assertThat(replicas.states()).map(Replicas.State::name).doesNotHaveDuplicates();
                assertThat(registry.find("parley_replica_standby").gauges()).hasSize(2);
            } finally {
                sampler.shutdownNow();
            }
        }
    }
}
