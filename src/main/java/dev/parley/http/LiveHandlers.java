package dev.parley.http;

import dev.parley.chat.InvalidInput;
import dev.parley.input.Check;
import dev.parley.live.Presence;
import dev.parley.live.Typing;
import io.javalin.http.Context;

/** Typing in a conversation and a user's presence: short-lived state, kept in Redis or in memory, never in PostgreSQL. */
final class LiveHandlers {
    private final Typing typing;
    private final Presence presence;

    LiveHandlers(Typing typing, Presence presence) {
        this.typing = typing;
        this.presence = presence;
    }

    void setTyping(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.TypingInput.class);
        Long characterId = Check.optionalPositive("character_id", input.characterId());
        Long userId = AsItsUser.member(ctx, Check.optionalPositive("user_id", input.userId()), characterId);
        if ((userId == null) == (characterId == null)) {
            throw new InvalidInput("user_id", "or character_id must name who types, one of the two");
        }
        boolean typed = input.typing() == null || input.typing();
        Responses.json(ctx, new Pages.Typists(typing.set(Auth.app(ctx), conversationId,
                new Typing.Participant(userId, characterId), typed)));
    }

    void typing(Context ctx) {
        Responses.json(ctx, new Pages.Typists(typing.now(Auth.app(ctx), Params.id(ctx, "conversation_id"))));
    }

    void setPresence(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.PresenceInput.class);
        String status = input.status();
        if (!Presence.ONLINE.equals(status) && !Presence.OFFLINE.equals(status)) {
            throw new InvalidInput("status", "must be 'online' while the user is here (sent again within the presence "
                    + "lifetime) or 'offline' when they leave" + (status == null ? "" : ", not '" + Check.printable(status) + "'"));
        }
        Responses.json(ctx, presence.mark(Auth.app(ctx), userId, status.equals(Presence.ONLINE)));
    }

    void presence(Context ctx) {
        Responses.json(ctx, presence.of(Auth.app(ctx), Params.id(ctx, "user_id")));
    }
}
