package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Query;
import java.util.concurrent.atomic.AtomicLong;

/**
 * "bare": the simplest store a team could write instead of Parley, as the yardstick for appends: one
 * single-row {@code INSERT} per message, in its own transaction, into an unpartitioned table whose
 * only index is its primary key. No sequence number per conversation, no idempotency key, no
 * conversation pointer, no search words: whatever Parley does on top must still keep up with it.
 * A batch is one multi-row {@code INSERT}. The table lives beside the dataset and is created on
 * first use. Appends only.
 */
final class BareTarget implements Target {
    static final Query CREATE = new Query("bare.create_table", """
            CREATE TABLE IF NOT EXISTS bench_bare_messages (
                message_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                conversation_id bigint      NOT NULL,
                role            text        NOT NULL,
                content         text        NOT NULL,
                created_at      timestamptz NOT NULL DEFAULT now()
            )""");
    static final Query INSERT = new Query("bare.insert_message", """
            INSERT INTO bench_bare_messages (conversation_id, role, content) VALUES (?, 'user', ?)""");
    static final Query INSERT_MANY = new Query("bare.insert_messages", """
            INSERT INTO bench_bare_messages (conversation_id, role, content)
            SELECT ?, 'user', content FROM unnest(?::text[]) AS t(content)""");

    private final Database database;
    private final AtomicLong sent = new AtomicLong();

    BareTarget(Database database) {
        this.database = database;
        database.inTransaction(handle -> handle.execute(CREATE));
    }

    @Override
    public String name() {
        return "bare";
    }

    private String content() {
        return Target.messageText(sent.incrementAndGet());
    }

    @Override
    public Session session() {
        return (operation, pick) -> {
            // In autocommit (Database.read runs so): the INSERT is its own transaction, one commit each.
            switch (operation) {
                case APPEND -> database.read(handle -> handle.execute(INSERT, pick.conversationId(), content()));
                case APPEND_BATCH -> database.read(handle -> handle.execute(INSERT_MANY, pick.conversationId(),
                        handle.array("text", java.util.stream.Stream.generate(this::content).limit(Operation.BATCH)
                                .toArray(String[]::new))));
                default -> throw new IllegalStateException("the bare target only appends, not " + operation);
            }
        };
    }
}
