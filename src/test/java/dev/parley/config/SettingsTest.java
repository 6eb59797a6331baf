package dev.parley.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Period;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
    @Test
    void caches_whose_budgets_take_over_half_the_heap_are_warned_of_naming_both_settings() {
        Settings defaults = Settings.resolve(Settings.Flags.none(), Map.of()); // 256 MiB each

        assertThat(defaults.cachesCrowdingTheHeap(512L << 20)).hasValueSatisfying(warning -> assertThat(warning)
                .contains("PARLEY_CACHE_SIZE, 256 MiB").contains("PARLEY_RECALL_CACHE, 256 MiB").contains("512 MiB of a 512 MiB heap"));
        assertThat(defaults.cachesCrowdingTheHeap(1L << 30)).as("exactly half").isEmpty();
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_CACHE_SIZE", "64MiB", "PARLEY_RECALL_CACHE", "64MiB"))
                .cachesCrowdingTheHeap(512L << 20)).isEmpty();
    }

    @Test
    void defaults_need_no_configuration() {
        Settings settings = Settings.resolve(Settings.Flags.none(), Map.of("HOME", "/home/ada"));

        assertThat(settings.databaseUrl()).isEmpty();
        assertThat(settings.dataDir()).isEqualTo(Path.of("/home/ada/.parley"));
        assertThat(settings.port()).isEqualTo(8080);
        assertThat(settings.maxContentBytes()).isEqualTo(32 * 1024);
        assertThat(settings.maxMetadataBytes()).isEqualTo(16 * 1024);
        assertThat(settings.poolTimeout()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void months_are_archived_after_the_age_parley_archive_after_gives_and_never_by_default() {
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of()).archiveAfter()).isEmpty();
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ARCHIVE_AFTER", "off")).archiveAfter()).isEmpty();
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ARCHIVE_AFTER", "6mo")).archiveAfter())
                .contains(Period.ofMonths(6));
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ARCHIVE_AFTER", "2w")).archiveAfter())
                .contains(Period.ofWeeks(2));
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ARCHIVE_AFTER", "6 months")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("PARLEY_ARCHIVE_AFTER").hasMessageContaining("6mo");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ARCHIVE_AFTER", "0d")))
                .isInstanceOf(InvalidSetting.class);
    }

    @Test
    void a_flag_wins_over_its_environment_variable() {
        var flags = new Settings.Flags(null, null, null, null, "9000", null, null, null, "64KiB", null, "1s", null, null, "32MiB",
                null, null, null, null, "inbox=10s", null, null, "250ms", null, null, null, null, null, null, null, false);
        Settings settings = Settings.resolve(flags, Map.of("PARLEY_PORT", "7000", "PARLEY_MAX_METADATA", "1MiB",
                "PARLEY_MEMORY_SCOPE_LIMIT", "1GiB"));

        assertThat(settings.port()).isEqualTo(9000);
        assertThat(settings.maxContentBytes()).isEqualTo(64 * 1024);
        assertThat(settings.maxMetadataBytes()).isEqualTo(1 << 20);
        assertThat(settings.memoryScopeBytes()).isEqualTo(32L << 20);
        assertThat(settings.slowQueryThreshold()).isEqualTo(Duration.ofSeconds(1));
        assertThat(settings.cacheTtls()).isEqualTo(new CacheTtls(Duration.ofMinutes(30), Duration.ofMinutes(15),
                Duration.ofMinutes(5), Duration.ofSeconds(10)));
        assertThat(settings.counterFlush()).isEqualTo(new CounterFlush(10, Duration.ofMillis(250)));
    }

    @Test
    void counters_are_written_every_10_increments_or_5_seconds_unless_told_otherwise() {
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of()).counterFlush()).isEqualTo(CounterFlush.DEFAULTS);
        assertThat(CounterFlush.DEFAULTS).hasToString("10 increments or 5s");
        assertThat(CounterFlush.DEFAULTS.checkEvery()).isEqualTo(Duration.ofMillis(500));
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_COUNTER_FLUSH_EVERY", "1",
                "PARLEY_COUNTER_FLUSH_AFTER", "1m")).counterFlush()).isEqualTo(new CounterFlush(1, Duration.ofMinutes(1)));
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_COUNTER_FLUSH_EVERY", "0")))
                .hasMessageContaining("--counter-flush-every").hasMessageContaining("PARLEY_COUNTER_FLUSH_EVERY")
                .hasMessageContaining("between 1 and 1000000");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_COUNTER_FLUSH_AFTER", "2h")))
                .hasMessageContaining("PARLEY_COUNTER_FLUSH_AFTER");
    }

    @Test
    void requests_get_a_10_second_statement_budget_and_a_2_second_lock_budget() {
        RequestLimits limits = Settings.resolve(Settings.Flags.none(), Map.of()).requestLimits();
        assertThat(limits).isEqualTo(new RequestLimits(Duration.ofSeconds(10), Duration.ofSeconds(2)));
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_STATEMENT_TIMEOUT", "1s")).requestLimits().lockTimeout())
                .as("no longer than the statement budget unless told").isEqualTo(Duration.ofSeconds(1));
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_STATEMENT_TIMEOUT", "1s",
                "PARLEY_LOCK_TIMEOUT", "3s")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("PARLEY_LOCK_TIMEOUT")
                .hasMessageContaining("PARLEY_STATEMENT_TIMEOUT");
    }

    @Test
    void cache_lifetimes_default_to_the_seeds_and_name_what_is_wrong() {
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of()).cacheTtls()).isEqualTo(CacheTtls.DEFAULTS);
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_CACHE_SIZE", "0")).cacheBytes()).isZero();
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_CACHE_TTL", "profile=1m")))
                .hasMessageContaining("PARLEY_CACHE_TTL").hasMessageContaining("character");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_CACHE_TTL", "inbox=2d")))
                .hasMessageContaining("PARLEY_CACHE_TTL");
    }

    @Test
    void redis_is_optional_and_its_url_prefix_and_timeouts_are_checked() {
        Settings none = Settings.resolve(Settings.Flags.none(), Map.of());
        Settings set = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REDIS_URL", "redis://:secret@cache:6380/2",
                "PARLEY_REDIS_TIMEOUT", "50ms", "PARLEY_TYPING_TTL", "5s"));

        assertThat(none.redisUrl()).isEmpty();
        assertThat(none.redisPrefix()).isEqualTo("parley:");
        assertThat(none.typingTtl()).isEqualTo(Duration.ofSeconds(10));
        assertThat(none.presenceTtl()).isEqualTo(Duration.ofSeconds(60));
        assertThat(set.redisUrl()).contains("redis://:secret@cache:6380/2");
        assertThat(set.redisTimeout()).isEqualTo(Duration.ofMillis(50));
        assertThat(set.typingTtl()).isEqualTo(Duration.ofSeconds(5));
        assertThat(set.toString()).contains("redis://:***@cache:6380/2").doesNotContain("secret");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REDIS_URL", "http://:secret@cache:6379")))
                .hasMessageContaining("PARLEY_REDIS_URL").hasMessageContaining("redis://").hasMessageNotContaining("secret");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REDIS_TIMEOUT", "1ms")))
                .hasMessageContaining("--redis-timeout");
    }

    /**
     * Lettuce took these, and each named a host that never answers: an instance then served for ever without the
     * shared tier, as in an outage. And a password with a space in it was shown in the message, which quoted the URL.
     */
    @Test
    void a_redis_url_whose_host_and_port_cannot_be_told_apart_is_refused_without_quoting_it() {
        for (String url : List.of("redis://:topsecret@127.0.0.1:port", "redis://:top@secret:pw@127.0.0.1:6379",
                "redis://:top secret@127.0.0.1:6379", "redis://:topsecret@redis_cache:6379")) {
            assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REDIS_URL", url))).as(url)
                    .hasMessageContaining("PARLEY_REDIS_URL").hasMessageContaining("is not a Redis URL Parley can read")
                    .hasMessageContaining("percent-encoded").hasMessageNotContaining("secret")
                    .satisfies(refused -> assertThat(Passwords.hiddenIn(refused.getMessage())).as("as printed")
                            .isEqualTo(refused.getMessage()));
        }
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REDIS_URL", "redis://:top%40secret%3Apw@127.0.0.1:6379"))
                .redisUrl()).as("percent-encoded, it is taken").isPresent();
    }

    @Test
    void the_recall_cache_is_sized_in_bytes_and_256_mib_by_default() {
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of()).recallCacheBytes()).isEqualTo(256L << 20);
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_RECALL_CACHE", "2GiB")).recallCacheBytes())
                .isEqualTo(2L << 30);
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_RECALL_CACHE", "1TiB")).recallCacheBytes())
                .as("the largest it takes, as the error for a larger one names it").isEqualTo(1L << 40);
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_RECALL_CACHE", "plenty")))
                .hasMessageContaining("--recall-cache").hasMessageContaining("PARLEY_RECALL_CACHE");
    }

    @Test
    void a_memory_scope_holds_64_mib_of_embeddings_by_default_and_at_least_one_of_4096_dimensions() {
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of()).memoryScopeBytes()).isEqualTo(64L << 20);
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_MEMORY_SCOPE_LIMIT", "16KiB")).memoryScopeBytes())
                .isEqualTo(16L << 10);
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_MEMORY_SCOPE_LIMIT", "15KiB")))
                .hasMessageContaining("--memory-scope-limit").hasMessageContaining("PARLEY_MEMORY_SCOPE_LIMIT");
    }

    @Test
    void a_listen_address_must_resolve_to_one_of_this_machines_and_the_wildcard_and_loopback_are() {
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_HOST", "not..a..host")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("--host (PARLEY_HOST)").hasMessageContaining("does not resolve");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_HOST", "192.0.2.1"))) // TEST-NET-1
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("not an address of this machine");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ADMIN_HOST", "192.0.2.1",
                "PARLEY_ADMIN_KEY", "k".repeat(32))))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("PARLEY_ADMIN_HOST").hasMessageContaining("not an address");
        for (String host : List.of("0.0.0.0", "::", "localhost", "127.0.0.1", "::1")) {
            assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_HOST", host)).host()).isEqualTo(host);
        }
    }

    @Test
    void a_database_url_with_a_port_out_of_range_names_its_setting() {
        for (var setting : List.of(Map.of("PARLEY_REPLICA_URLS", "postgres://app:s3cret@standby:99999/chat"),
                Map.of("PARLEY_REPLICA_URLS", "postgres://app@standby-1:5432/chat,jdbc:postgresql://standby-2:0/chat"),
                Map.of("DATABASE_URL", "jdbc:postgresql://db.internal:5432,db.backup:70000/chat?user=app"))) {
            String name = setting.keySet().iterator().next();
            assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), setting)).as(setting.toString())
                    .isInstanceOf(InvalidSetting.class).hasMessageContaining(name).hasMessageContaining("a port is 1 to 65535")
                    .hasMessageNotContaining("s3cret");
        }
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REPLICA_URLS",
                "postgres://app:p%3Ass@[::1]:6543/chat,jdbc:postgresql://standby/chat")).replication().urls()).hasSize(2);
    }

    @Test
    void a_replica_named_twice_is_refused_naming_parley_replica_urls() {
        for (String twice : List.of("postgres://app:s3cret@standby:5432/chat,postgres://app@standby:5432/chat",
                "postgres://app@Standby/chat,jdbc:postgresql://standby:5432/chat?user=reader")) {
            assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REPLICA_URLS", twice))).as(twice)
                    .isInstanceOf(InvalidSetting.class).hasMessageStartingWith("PARLEY_REPLICA_URLS names standby:5432/chat twice")
                    .hasMessageNotContaining("s3cret");
        }
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_REPLICA_URLS",
                "postgres://app@standby:5432/chat,postgres://app@standby:5433/chat,postgres://app@standby:5432/other"))
                .replication().urls()).as("another port or database").hasSize(3);
    }

    @Test
    void an_invalid_value_names_the_flag_and_the_variable() {
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PORT", "eighty")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("--port").hasMessageContaining("PARLEY_PORT");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_POOL_SIZE", "0")))
                .hasMessageContaining("PARLEY_POOL_SIZE").hasMessageContaining("between 1 and 1000");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_MAX_BODY", "lots")))
                .hasMessageContaining("PARLEY_MAX_BODY");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("DATABASE_URL", "mysql://x")))
                .hasMessageContaining("DATABASE_URL");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_MIGRATE", "perhaps")))
                .hasMessageContaining("PARLEY_MIGRATE");
    }

    @Test
    void database_urls_become_jdbc_urls_and_the_password_is_never_printed() {
        Settings settings = Settings.resolve(Settings.Flags.none(),
                Map.of("DATABASE_URL", "postgres://app:s%40cret@db.internal:6432/chat?sslmode=require"));
        DatabaseUrl url = settings.databaseUrl().orElseThrow();

        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:6432/chat?sslmode=require");
        assertThat(url.user()).isEqualTo("app");
        assertThat(url.password()).isEqualTo("s@cret");
        assertThat(settings.toString()).doesNotContain("s@cret").doesNotContain("s%40cret").contains("***");
    }

    @Test
    void the_admin_port_listens_on_loopback_and_anywhere_else_only_with_an_admin_key() {
        Settings plain = Settings.resolve(Settings.Flags.none(), Map.of());
        assertThat(plain.admin().host()).isEqualTo("127.0.0.1");
        assertThat(plain.admin().port()).isEqualTo(8081);
        assertThat(plain.admin().key()).isEmpty();

        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ADMIN_HOST", "0.0.0.0")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("PARLEY_ADMIN_KEY");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ADMIN_KEY", "short")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("at least");
        Settings open = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_ADMIN_HOST", "0.0.0.0",
                "PARLEY_ADMIN_KEY", "a-long-enough-admin-key-0123456789"));
        assertThat(open.admin().host()).isEqualTo("0.0.0.0");
        assertThat(open.toString()).doesNotContain("a-long-enough-admin-key").contains("admin key set");
    }

    @Test
    void behind_pgbouncer_in_transaction_mode_the_pool_prepares_nothing_and_sessions_go_to_the_direct_url() {
        var through = Map.of("DATABASE_URL", "postgres://app@bouncer:6432/chat?sslmode=require", "PARLEY_PGBOUNCER", "transaction",
                "PARLEY_DIRECT_DATABASE_URL", "postgres://app:s3cret@db.internal:5432/chat");
        Settings settings = Settings.resolve(Settings.Flags.none(), through);

        assertThat(settings.pgbouncer()).isEqualTo(PgBouncer.TRANSACTION);
        assertThat(settings.pgbouncer().poolUrl(settings.databaseUrl().orElseThrow().jdbcUrl()))
                .isEqualTo("jdbc:postgresql://bouncer:6432/chat?sslmode=require&prepareThreshold=0");
        assertThat(settings.directDatabaseUrl().orElseThrow().jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5432/chat");
        assertThat(settings.toString()).contains("pgbouncer=transaction").doesNotContain("s3cret");
        assertThat(Settings.resolve(Settings.Flags.none(), Map.of()).pgbouncer()).isEqualTo(PgBouncer.OFF);
        assertThat(PgBouncer.OFF.poolUrl("jdbc:postgresql://db/chat")).isEqualTo("jdbc:postgresql://db/chat");
    }

    @Test
    void pgbouncer_settings_that_cannot_work_are_refused_naming_the_setting() {
        String bouncer = "postgres://app@bouncer:6432/chat";
        String direct = "postgres://app@db:5432/chat";
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("DATABASE_URL", bouncer, "PARLEY_PGBOUNCER", "transaction")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("PARLEY_DIRECT_DATABASE_URL must name PostgreSQL itself");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("DATABASE_URL", bouncer, "PARLEY_PGBOUNCER", "statement")))
                .isInstanceOf(InvalidSetting.class).hasMessageStartingWith("PARLEY_PGBOUNCER must be off or transaction");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("DATABASE_URL", bouncer + "?prepareThreshold=5",
                "PARLEY_PGBOUNCER", "transaction", "PARLEY_DIRECT_DATABASE_URL", direct)))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("prepareThreshold=5").hasMessageContaining("must be 0");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("DATABASE_URL", direct + "?sslmode=disable",
                "PARLEY_PGBOUNCER", "transaction", "PARLEY_DIRECT_DATABASE_URL", direct)))
                .as("no PgBouncer between: requests would lose their lock and statement budgets").isInstanceOf(InvalidSetting.class)
                .hasMessageContaining("name the same server (db:5432/chat)");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PGBOUNCER", "transaction")))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("DATABASE_URL is not set");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_DIRECT_DATABASE_URL", direct)))
                .isInstanceOf(InvalidSetting.class).hasMessageStartingWith("PARLEY_DIRECT_DATABASE_URL is set, but DATABASE_URL is not");
        assertThatThrownBy(() -> Settings.resolve(Settings.Flags.none(), Map.of("DATABASE_URL", bouncer,
                "PARLEY_DIRECT_DATABASE_URL", "mysql://db/chat")))
                .isInstanceOf(InvalidSetting.class).hasMessageStartingWith("PARLEY_DIRECT_DATABASE_URL must start with");
    }
}
