package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.parley.support.TestDatabase;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The plan tests write their datasets with the database's now() and compute bounds with the JVM's
 * clock, so both must tell the same date; under .ci/dated-tests, the date that script gave them.
 * These fail if the faked clock did not reach the test JVM or the PostgreSQL it started.
 */
class DatabaseClockTest {
    @Test
    void the_test_database_and_the_tests_agree_on_the_date() throws SQLException {
        Instant tests = Instant.now();
        Instant database;
        try (var connection = TestDatabase.get().connect("postgres"); var s = connection.createStatement();
             var rows = s.executeQuery("SELECT now()")) {
            rows.next();
            database = rows.getTimestamp(1).toInstant();
        }

        assertThat(Duration.between(database, tests).abs()).as("database now() " + database + ", tests' " + tests)
                .isLessThan(Duration.ofMinutes(1));
    }

    @Test
    void the_tests_run_on_the_date_they_were_given() {
        String given = System.getenv("PARLEY_TEST_DATE"); // set by .ci/dated-tests along with the faked clock
        assumeTrue(given != null, "no date given: the tests run on today's");
        Instant start = Instant.parse(given);

        assertThat(Instant.now()).isBetween(start, start.plus(Duration.ofMinutes(30)));
    }
}
