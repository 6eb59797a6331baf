package dev.parley.http;

import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.chat.Inbox;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Leaderboards;
import dev.parley.chat.Limits;
import dev.parley.chat.NotFound;
import dev.parley.chat.Stats;
import dev.parley.chat.User;
import dev.parley.chat.Users;
import dev.parley.input.Check;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/** /v1/users, a user's inbox, counters and stats; the leaderboard of their counters. */
final class UserHandlers {

    private final Users users;
    private final Inbox inbox;
    private final Stats stats;
    private final Leaderboards leaderboards;
    private final ReadCache cache;
    private final Limits limits;

    UserHandlers(Users users, Inbox inbox, Stats stats, Leaderboards leaderboards, ReadCache cache, Limits limits) {
        this.users = users;
        this.inbox = inbox;
        this.stats = stats;
        this.leaderboards = leaderboards;
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
        Responses.json(ctx, users.patch(Auth.app(ctx), userId, profilePatch, Conditional.requiredVersion(ctx, User.class, userId),
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
        long[] position = Cursor.positions(ctx, Cursor.Kind.INBOX, 4);
        long appId = Auth.app(ctx);
        if (position == null) {
            Conditional.send(ctx, firstPage(appId, userId, limit));
            return;
        }
        if (position[2] != userId) { // another user's activity order would start this one's inbox at an arbitrary point
            throw new InvalidInput("cursor", "is a cursor of another user's inbox; page with the cursors of user " + userId
                    + "'s own pages");
        }
        Responses.json(ctx, inboxPage(appId, userId, new Inbox.Position(position[0], position[1], position[3]), limit));
    }

    /** The first inbox page as GET sends it: what opening the app shows, so it is cached, its unread counts 30 s at most. */
    Rendered<Pages.InboxPage> firstPage(long appId, long userId, int limit) {
        return cache.getAsSent(Scope.inbox(appId, userId), "inbox:" + limit, Pages.InboxPage.class,
                () -> inboxPage(appId, userId, Inbox.Position.START, limit));
    }

    /** A page and the cursor after it, which carries the first page's newest activity on (Inbox.Position). */
    private Pages.InboxPage inboxPage(long appId, long userId, Inbox.Position after, int limit) {
        List<Inbox.Entry> entries = inbox.page(appId, userId, after, Cursor.probe(limit));
        long firstPage = after.equals(Inbox.Position.START) && !entries.isEmpty() ? entries.getFirst().activityId()
                : after.firstPageActivityId();
        var listed = Cursor.paged(Cursor.Kind.INBOX, entries, limit,
                e -> new long[] {e.activityId(), e.conversationId(), userId, firstPage});
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

    void leaderboard(Context ctx) {
        String counter = counter(ctx);
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long board = fingerprint(Auth.app(ctx), counter);
        Leaderboards.Position after = leaderboardCursor(ctx, board);
        List<Leaderboards.Entry> entries = leaderboards.page(Auth.app(ctx), counter, after, Cursor.probe(limit));
        var listed = Cursor.paged(Cursor.Kind.LEADERBOARD, entries, limit,
                last -> new long[] {last.value(), last.userId(), last.rank(), after.position() + limit, board});
        Responses.json(ctx, new Pages.Leaderboard(counter, listed.page(), listed.next()));
    }

    void rank(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        Responses.json(ctx, leaderboards.standing(Auth.app(ctx), userId, counter(ctx)));
    }

    private static String counter(Context ctx) {
        return Check.requiredNonBlank("counter", ctx.queryParam("counter"), Check.MAX_COUNTER_NAME_BYTES);
    }

    /**
     * Where a leaderboard cursor continues: the last entry it listed (value, user id, rank) and how many were listed up
     * to it. It carries its app and counter, as a search cursor its search: a position (and the rank it carries) means
     * something only on its own board; another app's gave its ranks to this app's users.
     */
    private static Leaderboards.Position leaderboardCursor(Context ctx, long board) {
        long[] cursor = Cursor.positions(ctx, Cursor.Kind.LEADERBOARD, 5);
        if (cursor == null) {
            return Leaderboards.Position.START;
        }
        if (cursor[4] != board) {
            throw new InvalidInput("cursor", "continues the leaderboard of another counter or app; page with the cursors of this one");
        }
        if (cursor[3] < 1 || cursor[2] < 1 || cursor[2] > cursor[3]) {
            throw new InvalidInput("cursor", "is not a cursor issued by this endpoint");
        }
        return new Leaderboards.Position(cursor[0], cursor[1], cursor[2], cursor[3]);
    }

    private static long fingerprint(long appId, String counter) {
        return UUID.nameUUIDFromBytes(("leaderboard\n" + appId + "\n" + counter).getBytes(StandardCharsets.UTF_8))
                .getMostSignificantBits();
    }
}
