package dev.parley.http;

import dev.parley.chat.Inbox;
import dev.parley.chat.Limits;
import dev.parley.chat.NotFound;
import dev.parley.chat.Stats;
import dev.parley.chat.Users;
import io.javalin.http.Context;
import java.util.List;

/** /v1/users, a user's inbox and stats. */
final class UserHandlers {
    private static final int MAX_EXTERNAL_ID_BYTES = 255;

    private final Users users;
    private final Inbox inbox;
    private final Stats stats;
    private final Limits limits;

    UserHandlers(Users users, Inbox inbox, Stats stats, Limits limits) {
        this.users = users;
        this.inbox = inbox;
        this.stats = stats;
        this.limits = limits;
    }

    void upsert(Context ctx) {
        var input = Requests.body(ctx, Bodies.UserInput.class);
        String externalId = Check.requiredNonBlank("external_id", input.externalId(), MAX_EXTERNAL_ID_BYTES);
        var upserted = users.upsert(Auth.app(ctx), externalId, Check.object("profile", input.profile(), limits.maxMetadataBytes()));
        Responses.json(ctx, upserted.created() ? 201 : 200, upserted.user());
    }

    void get(Context ctx) {
        Responses.json(ctx, users.get(Auth.app(ctx), Params.id(ctx, "user_id")));
    }

    void findByExternalId(Context ctx) {
        String externalId = Check.requiredNonBlank("external_id", ctx.queryParam("external_id"), MAX_EXTERNAL_ID_BYTES);
        Responses.json(ctx, users.findByExternalId(Auth.app(ctx), externalId)
                .orElseThrow(() -> new NotFound("user with external_id", "'" + Params.printable(externalId) + "'")));
    }

    void inbox(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long[] position = Cursor.positions(ctx, Cursor.Kind.INBOX, 2);
        Inbox.Position after = position == null ? Inbox.Position.START : new Inbox.Position(position[0], position[1]);
        List<Inbox.Entry> page = inbox.page(Auth.app(ctx), userId, after, limit);
        Responses.json(ctx, new Pages.InboxPage(page, Cursor.next(Cursor.Kind.INBOX, page, limit,
                e -> new long[] {e.activityId(), e.conversationId()})));
    }

    void stats(Context ctx) {
        Responses.json(ctx, stats.user(Auth.app(ctx), Params.id(ctx, "user_id")));
    }
}
