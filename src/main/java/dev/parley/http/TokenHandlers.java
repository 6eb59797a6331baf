package dev.parley.http;

import dev.parley.apps.UserTokens;
import dev.parley.chat.InvalidInput;
import dev.parley.input.Check;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** Minting user tokens: the app's backend asks, with the app's key, for one of its users. */
final class TokenHandlers {
    private final UserTokens tokens;

    TokenHandlers(UserTokens tokens) {
        this.tokens = tokens;
    }

    void issue(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.TokenInput.class);
        int ttl = input.ttlSeconds() == null ? (int) UserTokens.DEFAULT_TTL.toSeconds() : input.ttlSeconds();
        if (ttl < UserTokens.MIN_TTL_SECONDS || ttl > UserTokens.MAX_TTL_SECONDS) {
            throw new InvalidInput("ttl_seconds", "must be between " + UserTokens.MIN_TTL_SECONDS + " and "
                    + UserTokens.MAX_TTL_SECONDS + " seconds, got " + ttl);
        }
        Responses.json(ctx, 201, tokens.issue(Auth.key(ctx), userId, Duration.ofSeconds(ttl), scopes(input.scopes())));
    }

    private static List<UserTokens.Scope> scopes(List<String> names) {
        if (names == null) {
            return List.of(UserTokens.Scope.READ, UserTokens.Scope.WRITE);
        }
        if (names.isEmpty()) {
            throw new InvalidInput("scopes", "must hold read, write or both");
        }
        return names.stream().map(name -> switch (name == null ? "" : name) {
            case "read" -> UserTokens.Scope.READ;
            case "write" -> UserTokens.Scope.WRITE;
            default -> throw new InvalidInput("scopes", "takes read and write, not '" + Check.printable(name) + "'");
        }).toList();
    }
}
