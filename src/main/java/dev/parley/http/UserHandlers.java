package dev.parley.http;

import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.chat.Inbox;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.NotFound;
import dev.parley.chat.Stats;
import dev.parley.chat.Users;
import dev.parley.input.Check;
import io.javalin.http.Context;

/** /v1/users, a user's inbox, counters and stats. */
final class UserHandlers {

    private final Users users;
    private final Inbox inbox;
    private final Stats stats;
    private final ReadCache cache;
    private final Limits limits;

    UserHandlers(Users users, Inbox inbox, Stats stats, ReadCache cache, Limits limits) {
        this.users = users;
        this.inbox = inbox;
        this.stats = stats;
        this.cache = cache;
        this.limits = limits;
    }

    void upsert(Context ctx) {
        var input = Requests.body(ctx, Bodies.UserInput.class);
        String externalId = Check.requiredNonBlank("external_id", input.externalId(), Limits.MAX_EXTERNAL_ID_BYTES);
        var upserted = users.upsert(Auth.app(ctx), externalId, Check.object("profile", input.profile(), limits.maxMetadataBytes()));
        Responses.json(ctx, upserted.created() ? 201 : 200, upserted.user());
    }

    void get(Context ctx) {
        Conditional.send(ctx, users.rendered(Auth.app(ctx), Params.id(ctx, "user_id")));
    }

    void patch(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.UserPatch.class);
        if (input.profile() == null || input.profile().isNull()) {
            throw new InvalidInput("profile", "is required: the JSON merge patch to apply, such as {\"plan\": \"pro\"}");
        }
        var profilePatch = Check.object("profile", input.profile(), limits.maxMetadataBytes());
        Responses.json(ctx, users.patch(Auth.app(ctx), userId, profilePatch, Conditional.requiredVersion(ctx),
                limits.maxMetadataBytes()));
    }

    void findByExternalId(Context ctx) {
        String externalId = Check.requiredNonBlank("external_id", ctx.queryParam("external_id"), Limits.MAX_EXTERNAL_ID_BYTES);
        Responses.json(ctx, users.findByExternalId(Auth.app(ctx), externalId)
                .orElseThrow(() -> new NotFound("user with external_id", "'" + Check.printable(externalId) + "'")));
    }

    void inbox(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long[] position = Cursor.positions(ctx, Cursor.Kind.INBOX, 2);
        long appId = Auth.app(ctx);
        if (position == null) {
            Conditional.send(ctx, firstPage(appId, userId, limit));
            return;
        }
        Responses.json(ctx, inboxPage(appId, userId, new Inbox.Position(position[0], position[1]), limit));
    }

    /** The first inbox page as GET sends it: what opening the app shows, so it is cached, its unread counts 30 s at most. */
    Rendered<Pages.InboxPage> firstPage(long appId, long userId, int limit) {
        return cache.getAsSent(Scope.inbox(appId, userId), "inbox:" + limit, Pages.InboxPage.class,
                () -> inboxPage(appId, userId, Inbox.Position.START, limit));
    }

    private Pages.InboxPage inboxPage(long appId, long userId, Inbox.Position after, int limit) {
        var listed = Cursor.paged(Cursor.Kind.INBOX, inbox.page(appId, userId, after, Cursor.probe(limit)), limit,
                e -> new long[] {e.activityId(), e.conversationId()});
        return new Pages.InboxPage(listed.page(), listed.next());
    }

    void incrementCounters(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        boolean durable = Params.flag(ctx, "durable");
        var deltas = Check.increments(Requests.body(ctx, Bodies.CounterIncrements.class).increments());
        Responses.json(ctx, new Pages.Counters(users.incrementCounters(Auth.app(ctx), userId, deltas, durable)));
    }

    void stats(Context ctx) {
        Responses.json(ctx, stats.user(Auth.app(ctx), Params.id(ctx, "user_id")));
    }
}
