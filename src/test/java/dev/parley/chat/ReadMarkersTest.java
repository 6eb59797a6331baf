package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.cache.ReadCache;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a read marker costs the database: its transaction's settings travel with the update. */
class ReadMarkersTest {
    private static final String DB = "parley_read_markers";

    @Test
    void marking_read_is_two_round_trips_the_settings_with_the_update_then_the_commit() {
        TestDatabase.get().migrated(DB);
        try (Database database = TestDatabase.pool(TestDatabase.get().target(DB), 2);
             RoundTrips trips = RoundTrips.to(TestDatabase.get().target(DB));
             Database counted = TestDatabase.pool(trips.target(), 1)) {
            var ids = new Ids(Clock.systemUTC());
            var app = new ChatFixture(database, ids, "markers");
            long conversation = app.conversation();
            List<NewMessage> replies = new ArrayList<>();
            for (int i = 1; i <= 8; i++) {
                replies.add(new NewMessage("assistant", "reply " + i, null, null, null, null, null));
            }
            List<Long> written = new BatchWriter(database, ids, ReadCache.none()).writeAlone(app.id, conversation, replies)
                    .stream().map(appended -> appended.message().id()).toList();
            var markers = new ReadMarkers(counted, ReadCache.none());
            markers.markRead(app.id, conversation, written.getFirst(), Members.Kind.USER, null); // opens the connection uncounted

            for (int seq = 2; seq <= 8; seq++) { // pgjdbc names a statement at its fifth run: before and after
                trips.reset();
                var state = markers.markRead(app.id, conversation, written.get(seq - 1), Members.Kind.USER, null);

                assertThat(state).isEqualTo(new ReadMarkers.ReadState(seq, 8 - seq));
                assertThat(trips.count()).as("round trips of the marker at %d", seq).isEqualTo(2);
            }
        }
    }
}
