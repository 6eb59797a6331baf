package dev.parley.apps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.cache.Invalidations;
import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.lifecycle.Erasure;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ApiKeysTest {
    private static ConnectionTarget target;
    private static Database database;
    private final AtomicLong nanos = new AtomicLong();
    private final ApiKeys keys = new ApiKeys(database, nanos::get); // a ticker the test moves by hand
    private final Apps apps = new Apps(database, keys, new Origins(database, nanos::get),
            Erasure.forCommands(database, Clock.systemUTC()));

    @BeforeAll
    static void migrate() {
        target = TestDatabase.get().migrated("parley_keys");
        database = TestDatabase.pool(target, 2);
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void only_the_sha256_of_a_key_is_stored() {
        var created = apps.create("hashed");

        List<String> stored = database.read(handle -> handle.list(new Query("test.key_rows",
                "SELECT encode(key_hash, 'hex') || ' ' || key_prefix FROM api_keys WHERE app_id = ?"), row -> row.getString(1),
                created.appId()));

        assertThat(stored).containsExactly(HexFormat.of().formatHex(ApiKeys.hash(created.apiKey())) + " "
                + created.apiKey().substring(0, 10));
        assertThat(keys.resolve(created.apiKey()).map(ApiKeys.Holder::appId)).hasValue(created.appId());
    }

    @Test
    void a_revoked_key_stops_working_once_its_cached_answer_expires() {
        var created = apps.create("revoked");
        assertThat(keys.resolve(created.apiKey()).map(ApiKeys.Holder::appId)).hasValue(created.appId());

        database.read(handle -> handle.execute(new Query("test.revoke", "UPDATE api_keys SET revoked_at = now() WHERE app_id = ?"),
                created.appId()));

        assertThat(keys.resolve(created.apiKey()).map(ApiKeys.Holder::appId)).as("still cached").hasValue(created.appId());
        nanos.addAndGet(ApiKeys.CACHE_TTL.plus(Duration.ofSeconds(1)).toNanos());
        assertThat(keys.resolve(created.apiKey()).map(ApiKeys.Holder::appId)).isEmpty();
    }

    @Test
    void a_revoked_key_stops_working_as_soon_as_the_change_is_heard() throws Exception {
        var created = apps.create("revoked-now");
        var other = apps.create("still-valid");
        var listener = Executors.newSingleThreadExecutor();
        try (var invalidations = new Invalidations(target, listener)) {
            keys.forgetOnChange(invalidations);
            Wait.until("the listener to listen", Duration.ofSeconds(10), invalidations::listening);
            assertThat(keys.resolve(created.apiKey()).map(ApiKeys.Holder::appId)).hasValue(created.appId());
            assertThat(keys.resolve(other.apiKey()).map(ApiKeys.Holder::appId)).hasValue(other.appId());

            database.read(handle -> handle.execute(new Query("test.revoke", "UPDATE api_keys SET revoked_at = now() WHERE app_id = ?"),
                    created.appId()));

            Wait.until("the revoked key to be refused", Duration.ofSeconds(10), () -> keys.resolve(created.apiKey()).isEmpty());
            assertThat(keys.resolve(other.apiKey()).map(ApiKeys.Holder::appId)).hasValue(other.appId());
        } finally {
            listener.shutdownNow();
        }
    }

    @Test
    void malformed_and_unknown_keys_resolve_to_nothing() {
        assertThat(keys.resolve(null)).isEmpty();
        assertThat(keys.resolve("pk_short")).isEmpty();
        assertThat(keys.resolve("pk_" + "B".repeat(43))).isEmpty();
    }
}
