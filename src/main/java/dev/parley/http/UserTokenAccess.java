package dev.parley.http;

import dev.parley.apps.UserTokens;
import dev.parley.chat.NotFound;
import dev.parley.chat.UserReach;
import io.javalin.http.Context;
import io.javalin.http.Handler;

/**
 * What a request with a user token may reach: the routes marked {@link Route#reachableByUserTokens()}, and
 * there only its own user's data: the user in the path, a conversation the user is in, one of the user's
 * memories, or searches and lists narrowed to the user. Someone else's is answered 404 (as an id of another
 * app is), a route for the app's key or a missing scope 403. A request with the app's key passes untouched.
 * Inside a conversation it reaches, whom the token writes, reads and types as is {@link AsItsUser}'s rule.
 */
final class UserTokenAccess {
    private static final String APP_ONLY = "this route takes the app's key: a user token reaches only its user's "
            + "conversations, messages, inbox, memories and search";

    /** Where a route's data says whose it is. */
    enum Owner { PATH_USER, PATH_CONVERSATION, PATH_MEMORY, QUERY }

    private final UserReach reach;

    UserTokenAccess(UserReach reach) {
        this.reach = reach;
    }

    /** Whose data a route serves, from its path: its conversation, memory or user, else its query parameters. */
    static Owner ownerOf(String path) {
        if (path.contains("{conversation_id}")) {
            return Owner.PATH_CONVERSATION;
        }
        if (path.contains("{memory_id}")) {
            return Owner.PATH_MEMORY;
        }
        return path.contains("{user_id}") ? Owner.PATH_USER : Owner.QUERY;
    }

    Handler guarded(Route route, Handler handler) {
        return ctx -> {
            UserTokens.Claims claims = Auth.userToken(ctx);
            if (claims != null) {
                admit(route, ctx, claims);
            }
            handler.handle(ctx);
        };
    }

    private void admit(Route route, Context ctx, UserTokens.Claims claims) {
        if (!route.reachableByUserTokens()) {
            throw new Forbidden(APP_ONLY);
        }
        // What the route does decides, not its method: a recall is a POST that only reads.
        UserTokens.Scope needed = route.reads() ? UserTokens.Scope.READ : UserTokens.Scope.WRITE;
        if (!claims.allows(needed)) {
            throw new Forbidden("the user token has no " + route.scope() + " scope");
        }
        long app = claims.appId();
        long user = claims.userId();
        switch (ownerOf(route.path())) {
            case PATH_USER -> {
                long asked = Params.id(ctx, "user_id");
                if (asked != user) {
                    throw new NotFound("user", asked);
                }
            }
            case PATH_CONVERSATION -> {
                long conversation = Params.id(ctx, "conversation_id");
                if (!reach.conversation(app, conversation, user)) {
                    throw new NotFound("conversation", conversation);
                }
            }
            case PATH_MEMORY -> {
                long memory = Params.id(ctx, "memory_id");
                if (!reach.memory(app, memory, user)) {
                    throw new NotFound("memory", memory);
                }
            }
            case QUERY -> narrowedToUser(route, ctx, app, user);
        }
    }

    /** A search or list: it must name the token's user, or (a message search) one of the user's conversations. */
    private void narrowedToUser(Route route, Context ctx, long app, long user) {
        Long asked = Params.optionalId(ctx, "user_id");
        Long conversation = Params.optionalId(ctx, "conversation_id");
        if (asked != null && asked != user) {
            throw new Forbidden("a user token searches and lists only its own user's data: user_id must be " + user);
        }
        if (conversation != null && !reach.conversation(app, conversation, user)) {
            throw new NotFound("conversation", conversation);
        }
        if (asked == null && conversation == null) {
            boolean byConversation = route.query().stream().anyMatch(parameter -> parameter.name().equals("conversation_id"));
            throw new Forbidden("with a user token, give user_id=" + user + (byConversation ? " (or a conversation_id of the user's)" : ""));
        }
    }
}
