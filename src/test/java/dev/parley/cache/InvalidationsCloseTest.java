package dev.parley.cache;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A server that stops closes its listener and then the embedded PostgreSQL it ran, which ends the listening session: a
 * clean stop, not an outage, so no warning that invalidations stopped being heard.
 */
class InvalidationsCloseTest {
    @Test
    void a_session_ended_after_close_is_no_warning() throws Exception {
        var logger = (Logger) LoggerFactory.getLogger(Invalidations.class);
        var logged = new ListAppender<ILoggingEvent>();
        logged.start();
        logger.addAppender(logged);
        var listener = Executors.newSingleThreadExecutor();
        try (var sql = TestDatabase.get().connect("postgres")) {
            var invalidations = new Invalidations(TestDatabase.get().migrated("parley_invalidations_close"), listener);
            Wait.until("the listener to connect", Duration.ofSeconds(10), invalidations::listening);

            invalidations.close();
            sql.createStatement().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    + "WHERE datname = 'parley_invalidations_close' AND application_name = 'parley-invalidations'");
            listener.shutdown();
            assertThat(listener.awaitTermination(10, TimeUnit.SECONDS)).as("the listener ends").isTrue();
        } finally {
            logger.detachAppender(logged);
            listener.shutdownNow();
        }
        assertThat(logged.list).filteredOn(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
    }
}
