package dev.parley.chat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.apps.Apps;
import dev.parley.cache.ReadCache;
import dev.parley.config.CounterFlush;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;

/** An app of its own with one user and one character, made through the stores, and what it stored. */
final class ChatFixture {
    final long id;
    final long userId;
    final long characterId;
    private final Database database;
    private final Ids ids;

    ChatFixture(Database database, Ids ids, String name) {
        this.database = database;
        this.ids = ids;
        id = Apps.forCommands(database).create(name + "-" + System.nanoTime()).appId();
        userId = new Users(database, ReadCache.none(), counters()).upsert(id, "user", null).user().id();
        characterId = new Characters(database, ReadCache.none()).create(id, new CharacterProfile.Draft("Luna", "You are Luna.", null, null, null)).id();
    }

    long conversation() {
        return new Conversations(database, ids, ReadCache.none(), counters()).create(id,
                new Conversation.Draft(userId, List.of(characterId), "english", null, null, null)).id();
    }

    /** Counters are not what these tests are about: a buffer that nothing moves. */
    private CounterBuffer counters() {
        return new CounterBuffer(database, ReadCache.none(), Runnable::run, Ticker.systemTicker(), CounterFlush.DEFAULTS,
                new SimpleMeterRegistry());
    }

    List<String> contents(long conversationId) {
        return database.read(handle -> handle.list(new Query("test.contents",
                "SELECT content FROM messages WHERE app_id = ? AND conversation_id = ? ORDER BY seq"),
                row -> row.getString(1), id, conversationId));
    }

    List<String> keys() {
        return database.read(handle -> handle.list(new Query("test.keys",
                "SELECT idempotency_key FROM message_idempotency_keys WHERE app_id = ? ORDER BY idempotency_key"),
                row -> row.getString(1), id));
    }
}
