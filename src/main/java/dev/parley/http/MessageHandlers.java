package dev.parley.http;

import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.chat.GroupCommit;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.Message;
import dev.parley.chat.MessageFilter;
import dev.parley.chat.MessageLog;
import dev.parley.chat.NewMessage;
import dev.parley.input.Check;
import dev.parley.input.OriginalTime;
import dev.parley.json.JsonText;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** /v1/conversations/{conversation_id}/messages: append, history, edit, delete, replies. */
final class MessageHandlers {
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final String REPLAYED = "Idempotent-Replayed";

    private final GroupCommit appends;
    private final MessageLog log;
    private final ReadCache cache;
    private final Limits limits;
    private final Clock clock;

    MessageHandlers(GroupCommit appends, MessageLog log, ReadCache cache, Limits limits, Clock clock) {
        this.appends = appends;
        this.log = log;
        this.cache = cache;
        this.limits = limits;
        this.clock = clock;
    }

    void append(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.MessageInput.class);
        String key = headerKey(ctx);
        if (key != null && input.idempotencyKey() != null && !key.equals(input.idempotencyKey())) {
            throw new InvalidInput("idempotency_key", "differs from the Idempotency-Key header; send one or the other");
        }
        NewMessage message = newMessage(ctx, "", input, key != null ? key : input.idempotencyKey());
        var appended = appends.append(Auth.app(ctx), conversationId, message);
        if (appended.replayed()) {
            ctx.header(REPLAYED, "true");
        }
        Responses.json(ctx, appended.replayed() ? 200 : 201, appended.message());
    }

    void appendBatch(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.MessageBatch.class);
        if (input.messages() == null) {
            throw new InvalidInput("messages", "is required: the list of 1 to " + Limits.MAX_BATCH + " messages to append");
        }
        if (input.messages().isEmpty()) {
            throw new InvalidInput("messages", "must hold at least one message");
        }
        if (input.messages().size() > Limits.MAX_BATCH) {
            throw new InvalidInput("messages", "holds " + input.messages().size() + " messages; the limit is " + Limits.MAX_BATCH);
        }
        String headerKey = headerKey(ctx);
        List<NewMessage> messages = new ArrayList<>();
        for (int i = 0; i < input.messages().size(); i++) {
            var item = input.messages().get(i);
            if (item == null) {
                throw new InvalidInput("messages[" + i + "]", "must be a message object");
            }
            // With a header key the batch as a whole is idempotent: message i is stored under "<key>:<i>".
            String key = item.idempotencyKey() != null ? item.idempotencyKey()
                    : headerKey != null ? headerKey + ":" + i : null;
            messages.add(newMessage(ctx, "messages[" + i + "].", item, key));
        }
        var appended = appends.append(Auth.app(ctx), conversationId, messages);
        boolean allReplayed = appended.stream().allMatch(GroupCommit.Appended::replayed);
        if (allReplayed) {
            ctx.header(REPLAYED, "true");
        }
        Responses.json(ctx, allReplayed ? 200 : 201, new Pages.AppendedMessages(appended.stream()
                .map(a -> new Pages.AppendedMessage(a.message(), a.replayed())).toList()));
    }

    void history(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE);
        String before = ctx.queryParam("before");
        String after = ctx.queryParam("after");
        if (before != null && after != null) {
            throw new InvalidInput("before", "cannot be combined with after; page one way at a time");
        }
        MessageFilter filter = filter(ctx);
        long appId = Auth.app(ctx);
        if (before == null && after == null && filter.isEmpty()) {
            Conditional.send(ctx, latestPage(appId, conversationId, limit)); // the one page the cache holds
            return;
        }
        MessageLog.Position position = before != null
                ? new MessageLog.Position.Before(cursorMessage(conversationId, "before", before))
                : after != null ? new MessageLog.Position.After(cursorMessage(conversationId, "after", after))
                : new MessageLog.Position.Latest();
        MessageLog.Page page = filter.isEmpty() ? log.history(appId, conversationId, position, limit)
                : log.filtered(appId, conversationId, position, filter, limit);
        Responses.json(ctx, historyPage(conversationId, page, position));
    }

    /**
     * The message id in a history cursor. A cursor carries its conversation: message ids are ordered across
     * conversations, so another conversation's cursor would page through this one from an arbitrary point.
     */
    private static long cursorMessage(long conversationId, String name, String raw) {
        long[] positions = Cursor.decode(Cursor.Kind.MESSAGE, 2, name, raw);
        if (positions[1] != conversationId) {
            throw new InvalidInput(name, "is a cursor of another conversation; page with the cursors of conversation "
                    + conversationId + "'s own pages");
        }
        return positions[0];
    }

    private static String cursor(long conversationId, long messageId) {
        return Cursor.encode(Cursor.Kind.MESSAGE, messageId, conversationId);
    }

    /** The history filters of the query string; {@link MessageFilter#NONE} when none is given. */
    private MessageFilter filter(Context ctx) {
        String role = ctx.queryParam("role");
        if (role != null && !Message.ROLES.contains(role)) {
            throw new InvalidInput("role", "must be one of user, assistant, system, tool; got '" + Check.printable(role) + "'");
        }
        var filter = new MessageFilter(role, Params.optionalId(ctx, "author_character_id"), Params.optionalId(ctx, "author_user_id"),
                Params.jsonObject(ctx, "metadata", limits.maxMetadataBytes()), Params.optionalFlag(ctx, "has_attachments"),
                Params.instant(ctx, "created_after"), Params.instant(ctx, "created_before"));
        if (filter.createdAfter() != null && filter.createdBefore() != null && !filter.createdAfter().isBefore(filter.createdBefore())) {
            throw new InvalidInput("created_before", "must be later than created_after");
        }
        return filter;
    }

    /** The latest history page as GET sends it: read on every chat turn, so it is cached until the next message. */
    Rendered<Pages.HistoryPage> latestPage(long appId, long conversationId, int limit) {
        return cache.getAsSent(Scope.conversation(appId, conversationId), "history:" + limit, Pages.HistoryPage.class,
                () -> {
                    var latest = new MessageLog.Position.Latest();
                    return historyPage(conversationId, log.history(appId, conversationId, latest, limit), latest);
                });
    }

    /**
     * A page and its cursors: before its first message and after its last. An empty page after a cursor still has
     * older messages (the cursor's own and those before it), and one before a cursor newer ones, so its cursors
     * start where it was asked from; only an empty latest page has none.
     */
    private static Pages.HistoryPage historyPage(long conversationId, MessageLog.Page page, MessageLog.Position position) {
        List<Message> messages = page.messages();
        if (!messages.isEmpty()) {
            return withCursors(conversationId, page, messages.getFirst().id(), messages.getLast().id());
        }
        return switch (position) {
            case MessageLog.Position.Latest latest -> new Pages.HistoryPage(messages, page.hasOlder(), page.hasNewer(), null, null);
            // before= reads the ids below its cursor and after= those above it: both take in the id asked from.
            case MessageLog.Position.After after -> withCursors(conversationId, page, after.messageId() + 1, after.messageId());
            case MessageLog.Position.Before before -> withCursors(conversationId, page, before.messageId(), before.messageId() - 1);
        };
    }

    private static Pages.HistoryPage withCursors(long conversationId, MessageLog.Page page, long olderThan, long newerThan) {
        return new Pages.HistoryPage(page.messages(), page.hasOlder(), page.hasNewer(), cursor(conversationId, olderThan),
                cursor(conversationId, newerThan));
    }

    void get(Context ctx) {
        Responses.json(ctx, log.get(Auth.app(ctx), Params.id(ctx, "conversation_id"), Params.id(ctx, "message_id")));
    }

    void edit(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        long messageId = Params.id(ctx, "message_id");
        AsItsUser.changes(ctx, () -> log.get(Auth.app(ctx), conversationId, messageId));
        var input = Requests.patch(ctx, Bodies.MessageEdit.class);
        if (input.content() != null) {
            Check.required("content", input.content(), limits.maxContentBytes());
        }
        Responses.json(ctx, log.edit(Auth.app(ctx), conversationId, messageId, Conditional.requiredTag(ctx), input.content(),
                input.metadata() != null, Check.object("metadata", input.metadata(), limits.maxMetadataBytes()),
                input.attachments() != null, Check.json("attachments", input.attachments(), limits.maxMetadataBytes())));
    }

    void delete(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        long messageId = Params.id(ctx, "message_id");
        AsItsUser.changes(ctx, () -> log.get(Auth.app(ctx), conversationId, messageId));
        if (Params.flag(ctx, "hard")) {
            log.hardDelete(Auth.app(ctx), conversationId, messageId, Conditional.requiredTag(ctx));
            ctx.status(204);
        } else {
            Responses.json(ctx, log.softDelete(Auth.app(ctx), conversationId, messageId, Conditional.requiredTag(ctx)));
        }
    }

    void replies(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        long messageId = Params.id(ctx, "message_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE);
        long after = replyCursorMessage(ctx, conversationId, messageId);
        var listed = Cursor.paged(Cursor.Kind.REPLY, log.replies(Auth.app(ctx), conversationId, messageId, after, Cursor.probe(limit)),
                limit, m -> new long[] {m.id(), conversationId, messageId});
        Responses.json(ctx, new Pages.MessagePage(listed.page(), listed.next()));
    }

    /**
     * The reply id in a replies cursor, 0 on a first page. A cursor carries its conversation and its parent: reply ids
     * are ordered across threads, so another message's cursor would page through these replies from an arbitrary point.
     */
    private static long replyCursorMessage(Context ctx, long conversationId, long parentId) {
        long[] positions = Cursor.positions(ctx, Cursor.Kind.REPLY, 3);
        if (positions == null) {
            return 0;
        }
        if (positions[1] != conversationId || positions[2] != parentId) {
            throw new InvalidInput("cursor", "is a cursor of another message's replies; page with the cursors of message "
                    + parentId + "'s own replies in conversation " + conversationId);
        }
        return positions[0];
    }

    private NewMessage newMessage(Context ctx, String prefix, Bodies.MessageInput input, String key) {
        String role = input.role() == null ? "user" : input.role();
        if (!Message.ROLES.contains(role)) {
            throw new InvalidInput(prefix + "role", "must be one of user, assistant, system, tool; got '" + Check.printable(role) + "'");
        }
        String content = Check.required(prefix + "content", input.content(), limits.maxContentBytes());
        Long characterId = Check.optionalPositive(prefix + "character_id", input.characterId());
        Long userId = AsItsUser.author(ctx, prefix, role, Check.optionalPositive(prefix + "user_id", input.userId()), characterId);
        AsItsUser.asOfNow(ctx, prefix, input.createdAt());
        return new NewMessage(role, content, characterId,
                JsonText.of(Check.object(prefix + "metadata", input.metadata(), limits.maxMetadataBytes())),
                JsonText.of(Check.json(prefix + "attachments", input.attachments(), limits.maxMetadataBytes())),
                Check.optionalPositive(prefix + "reply_to_id", input.replyToId()),
                key == null ? null : Check.requiredNonBlank(prefix + "idempotency_key", key, Limits.MAX_IDEMPOTENCY_KEY_BYTES),
                userId,
                OriginalTime.of(prefix + "created_at", input.createdAt(), clock));
    }

    private static String headerKey(Context ctx) {
        String key = ctx.header(IDEMPOTENCY_KEY);
        return key == null ? null : Check.requiredNonBlank(IDEMPOTENCY_KEY, key, Limits.MAX_IDEMPOTENCY_KEY_BYTES);
    }
}
