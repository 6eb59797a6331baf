package dev.parley;

import static dev.parley.support.Cli.parley;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.apps.Apps;
import dev.parley.cache.ReadCache;
import dev.parley.chat.CharacterProfile;
import dev.parley.chat.Characters;
import dev.parley.chat.Conversation;
import dev.parley.chat.Conversations;
import dev.parley.chat.CounterBuffer;
import dev.parley.chat.Users;
import dev.parley.config.CounterFlush;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.support.Cli.Run;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code parley apps}: keys created, listed and revoked, origins set, apps deleted, from the command line. */
class AppsCommandTest {
    private static final String DATABASE = "parley_cli_app_keys";
    private static final String NOWHERE = "postgres://nobody@127.0.0.1:1/none"; // connecting would fail, with status 1
    private static final Pattern KEY = Pattern.compile("pk_[A-Za-z0-9_-]{43}");
    private static String url;

    @BeforeAll
    static void database() {
        TestDatabase.get().migrated(DATABASE);
        url = TestDatabase.get().url(DATABASE);
    }

    @Test
    void keys_are_created_listed_by_prefix_and_revoked_by_prefix_or_id_and_never_shown_again() {
        String first = key(parley("apps", "create", "keyed", "--database-url", url));
        Run created = parley("apps", "keys", "create", "keyed", "--database-url", url);
        String second = key(created);

        Run revokedByPrefix = parley("apps", "keys", "revoke", "keyed", first.substring(0, 10), "--database-url", url);
        Run listed = parley("apps", "keys", "list", "keyed", "--database-url", url);
        String secondId = idOf(listed, second.substring(0, 10));
        Run revokedById = parley("apps", "keys", "revoke", "keyed", secondId, "--database-url", url);
        Run apps = parley("apps", "list", "--database-url", url);

        assertThat(created.out()).contains("shown only this once").contains(second.substring(0, 10));
        assertThat(revokedByPrefix.status()).as(revokedByPrefix.err()).isZero();
        assertThat(revokedByPrefix.out()).contains(first.substring(0, 10)).contains("revoked");
        assertThat(listed.out()).contains("PREFIX").contains(first.substring(0, 10)).contains(second.substring(0, 10))
                .doesNotContain(first).doesNotContain(second);
        assertThat(listed.out()).containsPattern(Pattern.quote(first.substring(0, 10)) + "\\s+\\S+\\s+\\d{4}-")
                .containsPattern(Pattern.quote(second.substring(0, 10)) + "\\s+\\S+\\s+-");
        assertThat(revokedById.status()).as(revokedById.err()).isZero();
        assertThat(apps.out()).containsPattern("keyed\\s+0\\s");
    }

    @Test
    void an_unknown_app_or_key_fails_with_status_1_naming_it_and_prints_nothing_on_stdout() {
        parley("apps", "create", "lonely", "--database-url", url);

        Run noApp = parley("apps", "keys", "list", "nobody", "--database-url", url);
        Run noKey = parley("apps", "keys", "revoke", "lonely", "pk_0000000", "--database-url", url);

        assertThat(noApp.status()).isEqualTo(1);
        assertThat(noApp.err()).contains("no app is named 'nobody'");
        assertThat(noApp.out()).as("no table header for an app that is not there").isEmpty();
        assertThat(noKey.status()).isEqualTo(1);
        assertThat(noKey.err()).contains("pk_0000000");
    }

    @Test
    void usage_errors_exit_2_before_connecting() {
        Run[] runs = {
                parley("apps", "keys", "create", "bad name!", "--database-url", NOWHERE),
                parley("apps", "keys", "revoke", "fine", "not-a-key", "--database-url", NOWHERE),
                parley("apps", "keys", "revoke", "fine", "--database-url", NOWHERE),
                parley("apps", "delete", "fine", "--database-url", NOWHERE),
                parley("apps", "cors", "fine", "--database-url", NOWHERE),
                parley("apps", "cors", "fine", "--origins", "https://a.example,https://b.example/path", "--database-url", NOWHERE),
                parley("apps", "cors", "fine", "--origins", "https://a.example", "--clear", "--database-url", NOWHERE)};

        for (Run run : runs) {
            assertThat(run.status()).as(run.err()).isEqualTo(2);
            assertThat(run.err()).doesNotContain("refused");
        }
        assertThat(runs[1].err()).contains("not-a-key").contains("id or its prefix");
        assertThat(runs[3].err()).contains("--yes");
        assertThat(runs[5].err()).contains("origins[1]").contains("https://b.example/path");
    }

    @Test
    void the_database_flag_counts_before_a_subcommand_or_a_sub_subcommand_and_not_on_both_sides() {
        Run created = parley("apps", "--database-url", url, "create", "early");
        assertThat(created.status()).as(created.err()).isZero();
        Run another = parley("apps", "--database-url", url, "keys", "create", "early");
        Run cors = parley("apps", "--database-url", url, "cors", "early", "--origins", "https://early.example");
        Run both = parley("apps", "--database-url", NOWHERE, "keys", "revoke", "early", key(created).substring(0, 10),
                "--database-url", url);
        Run keys = parley("apps", "keys", "--database-url", url, "list", "early");
        Run listed = parley("apps", "--database-url", url, "list");
        Run deleted = parley("apps", "--database-url", url, "delete", "early", "--yes");

        assertThat(another.status()).as(another.err()).isZero();
        assertThat(cors.status()).as(cors.err()).isZero();
        assertThat(both.status()).isEqualTo(2);
        assertThat(both.err()).contains("'--database-url' should be specified only once, before or after the subcommand")
                .doesNotContain("refused");
        assertThat(keys.out()).as("neither revoked").contains(key(created).substring(0, 10))
                .contains(key(another).substring(0, 10)).doesNotContainPattern("\\d{4}-\\S+\\s+\\d{4}-");
        assertThat(listed.out()).containsPattern("early\\s+2\\s.*https://early.example");
        assertThat(deleted.status()).as(deleted.err()).isZero();
        assertThat(parley("apps", "list", "--database-url", url).out()).doesNotContain("early");
    }

    @Test
    void cors_sets_an_apps_origins_as_browsers_send_them_and_clears_them() {
        parley("apps", "create", "browser", "--database-url", url);

        Run set = parley("apps", "cors", "browser", "--origins", "https://App.Example:443,http://localhost:5173", "--database-url", url);
        Run listed = parley("apps", "list", "--database-url", url);
        Run cleared = parley("apps", "cors", "browser", "--clear", "--database-url", url);
        Run listedAgain = parley("apps", "list", "--database-url", url);

        assertThat(set.status()).as(set.err()).isZero();
        assertThat(set.out()).contains("https://app.example, http://localhost:5173");
        assertThat(listed.out()).containsPattern("browser\\s.*https://app.example,http://localhost:5173");
        assertThat(cleared.out()).contains("allows no browser origin");
        assertThat(listedAgain.out()).containsPattern("browser\\s.*\\s-\\R");
    }

    @Test
    void delete_wants_yes_then_removes_the_app_with_its_chats_and_keys_and_leaves_others() {
        parley("apps", "create", "doomed", "--database-url", url);
        parley("apps", "create", "spared", "--database-url", url);
        aChatIn("doomed");

        Run refused = parley("apps", "delete", "doomed", "--database-url", url);
        Run stillThere = parley("apps", "list", "--database-url", url);
        Run deleted = parley("apps", "delete", "doomed", "--yes", "--database-url", url);
        Run listed = parley("apps", "list", "--database-url", url);
        Run again = parley("apps", "delete", "doomed", "--yes", "--database-url", url);

        assertThat(refused.status()).isEqualTo(2);
        assertThat(refused.err()).contains("parley apps delete doomed --yes");
        assertThat(stillThere.out()).contains("doomed");
        assertThat(deleted.status()).as(deleted.err()).isZero();
        assertThat(deleted.out()).contains("Deleted app 'doomed'").containsPattern("api_keys_revoked\\s+1")
                .containsPattern("users\\s+1").containsPattern("characters\\s+1").containsPattern("conversations\\s+1");
        assertThat(listed.out()).doesNotContain("doomed").contains("spared");
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).contains("no app is named 'doomed'");
    }

    /** A user, a character and a conversation between them, written as the API would. */
    private static void aChatIn(String app) {
        try (Database database = TestDatabase.pool(TestDatabase.get().target(DATABASE), 2)) {
            long appId = Apps.idOf(database, app);
            var counters = new CounterBuffer(database, ReadCache.none(), Runnable::run, Ticker.systemTicker(), CounterFlush.DEFAULTS,
                    new SimpleMeterRegistry());
            long user = new Users(database, ReadCache.none(), counters).upsert(appId, "someone", null).user().id();
            long character = new Characters(database, ReadCache.none())
                    .create(appId, new CharacterProfile.Draft("Luna", "You are Luna.", null, null, null)).id();
            new Conversations(database, new Ids(Clock.systemUTC()), ReadCache.none(), counters)
                    .create(appId, new Conversation.Draft(user, List.of(character), "english", null, null, null));
        }
    }

    private static String key(Run run) {
        assertThat(run.status()).as(run.err()).isZero();
        Matcher key = KEY.matcher(run.out());
        assertThat(key.find()).as(run.out()).isTrue();
        return key.group();
    }

    /** The id in the row of {@code prefix} in a key listing. */
    private static String idOf(Run listing, String prefix) {
        Matcher row = Pattern.compile("(?m)^(\\d+)\\s+" + Pattern.quote(prefix)).matcher(listing.out());
        assertThat(row.find()).as(listing.out()).isTrue();
        return row.group(1);
    }
}
