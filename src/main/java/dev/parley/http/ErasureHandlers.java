package dev.parley.http;

import dev.parley.chat.InvalidInput;
import dev.parley.chat.User;
import dev.parley.lifecycle.Erasure;
import dev.parley.lifecycle.UserExport;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.GZIPOutputStream;

/** Deleting conversations and characters, erasing a user, and exporting what is held about one. */
final class ErasureHandlers {
    private final Erasure erasure;
    private final UserExport export;

    ErasureHandlers(Erasure erasure, UserExport export) {
        this.erasure = erasure;
        this.export = export;
    }

    void deleteConversation(Context ctx) {
        Responses.json(ctx, erasure.deleteConversation(Auth.app(ctx), Params.id(ctx, "conversation_id"), memories(ctx),
                Auth.keyPrefix(ctx)));
    }

    void deleteCharacter(Context ctx) {
        Responses.json(ctx, erasure.deleteCharacter(Auth.app(ctx), Params.id(ctx, "character_id"), Auth.keyPrefix(ctx)));
    }

    void eraseUser(Context ctx) {
        Responses.json(ctx, erasure.eraseUser(Auth.app(ctx), Params.id(ctx, "user_id"), Auth.keyPrefix(ctx)));
    }

    /**
     * Streams the export, gzipped when the client accepts it. An unknown user is a 404 before anything is sent;
     * a failure once the body has begun can only cut it short, which a client sees as JSON that does not parse.
     */
    void exportUser(Context ctx) throws IOException {
        long appId = Auth.app(ctx);
        User user = export.user(appId, Params.id(ctx, "user_id"));
        HttpServletResponse response = ctx.res();
        response.setStatus(200);
        response.setContentType("application/json");
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("Content-Disposition", "attachment; filename=\"user-" + user.id() + ".json\"");
        response.setHeader("Vary", "Accept-Encoding");
        boolean gzip = Responses.acceptsGzip(ctx.header("Accept-Encoding"));
        if (gzip) {
            response.setHeader("Content-Encoding", "gzip");
        }
        OutputStream out = response.getOutputStream();
        export.write(appId, user, gzip ? new GZIPOutputStream(out, 64 * 1024) : out);
    }

    /** What a deleted conversation's memories become: kept without it (the default), or deleted. */
    private static Erasure.ConversationMemories memories(Context ctx) {
        String raw = ctx.queryParam("memories");
        if (raw == null || raw.equals("keep")) {
            return Erasure.ConversationMemories.KEEP;
        }
        if (raw.equals("delete")) {
            return Erasure.ConversationMemories.DELETE;
        }
        throw new InvalidInput("memories", "must be keep or delete, got '" + Params.printable(raw) + "'");
    }
}
