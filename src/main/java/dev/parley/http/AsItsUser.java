package dev.parley.http;

import dev.parley.apps.UserTokens;
import dev.parley.chat.Message;
import dev.parley.chat.UserReach;
import io.javalin.http.Context;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Who a user token acts as once {@link UserTokenAccess} let it into a conversation: its own user, in role user, as of
 * now, changing only messages that user wrote; outside a conversation, storing memories, as of now, only of characters
 * that user talks with. The app's key speaks for anyone in the conversation (a character's reply, a guest's message, a
 * bot's read marker); a token in a browser must not, or one member could write as the character or as another member.
 * Naming anyone else answers 403; leaving the author out means the token's user.
 */
final class AsItsUser {
    static final String WRITES = "a user token writes only as its own user, in role user";
    static final String MARKS = "a user token marks read and types only as its own user";
    static final String CHANGES = "a user token edits and deletes only messages its own user wrote";
    static final String REMEMBERS = "a user token stores memories only of the characters its user talks with";
    static final String AS_OF_NOW = "a user token writes as of now: only the app's key gives an original created_at";

    /** The operations these rules hold on, each with what a user token is refused there: the API document's 403. */
    static final Map<String, String> REFUSED = Map.of(
            "appendMessage", "writing as another user, as a character, in a role other than user or with an original created_at",
            "appendMessages", "writing as another user, as a character, in a role other than user or with an original created_at",
            "markRead", "moving another member's read marker (a user's or a character's)",
            "setTyping", "typing as another member (a user or a character)",
            "editMessage", "editing a message its user did not write",
            "deleteMessage", "deleting a message its user did not write",
            "createMemory", "storing a memory of a character in none of its user's conversations or with an original created_at",
            "createMemories", "storing a memory of a character in none of its user's conversations or with an original created_at");

    private AsItsUser() {
    }

    /** Who writes a message: with a user token its user, whatever the body leaves out; with the app's key {@code userId}. */
    static Long author(Context ctx, String field, String role, Long userId, Long characterId) {
        UserTokens.Claims claims = Auth.userToken(ctx);
        if (claims == null) {
            return userId;
        }
        if (!role.equals("user")) {
            throw new Forbidden(WRITES + ": " + field + "role is '" + role + "'");
        }
        return itsUser(claims, WRITES, field, userId, characterId);
    }

    /**
     * With a user token, 403 when a message or a memory gives its original time. A message's id is drawn from its
     * created_at, so a backdated one would take a place in history before what the other members already read; a
     * memory's created_at is its age in recall's recency score and the order of its recent listing.
     */
    static void asOfNow(Context ctx, String field, String createdAt) {
        if (createdAt != null && Auth.userToken(ctx) != null) {
            throw new Forbidden(AS_OF_NOW + ": " + field + "created_at is given");
        }
    }

    /**
     * With a user token, 403 unless its user is in a conversation with the character a new memory is of: what a
     * character keeps about the user comes from their chats, and a token must not fill the memories of characters
     * its user never met (which the app's backend recalls into their prompts).
     */
    static void remembers(Context ctx, String field, long characterId, UserReach reach) {
        UserTokens.Claims claims = Auth.userToken(ctx);
        if (claims != null && !reach.character(claims.appId(), characterId, claims.userId())) {
            throw new Forbidden(REMEMBERS + ": " + field + "character_id names character " + characterId
                    + ", in none of user " + claims.userId() + "'s conversations");
        }
    }

    /** Whose read marker or typing status a request sets: with a user token its user, also when the body names no one. */
    static Long member(Context ctx, Long userId, Long characterId) {
        UserTokens.Claims claims = Auth.userToken(ctx);
        if (claims == null) {
            return userId; // not in a conditional expression with itsUser's long: a null would unbox
        }
        return itsUser(claims, MARKS, "", userId, characterId);
    }

    /** With a user token, 403 unless its user wrote {@code message}; a message out of reach stays the lookup's 404. */
    static void changes(Context ctx, Supplier<Message> message) {
        UserTokens.Claims claims = Auth.userToken(ctx);
        if (claims == null) {
            return;
        }
        Message found = message.get();
        if (found.userId() == null || found.userId() != claims.userId()) {
            throw new Forbidden(CHANGES + ": message " + found.id() + " is not user " + claims.userId() + "'s");
        }
    }

    private static long itsUser(UserTokens.Claims claims, String rule, String field, Long userId, Long characterId) {
        if (characterId != null) {
            throw new Forbidden(rule + ": " + field + "character_id names character " + characterId);
        }
        if (userId != null && userId != claims.userId()) {
            throw new Forbidden(rule + ": " + field + "user_id names user " + userId + ", not the token's user "
                    + claims.userId());
        }
        return claims.userId();
    }
}
