package dev.parley.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.chat.CharacterProfile;
import dev.parley.chat.Conversation;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.User;
import dev.parley.input.Check;
import dev.parley.json.Nullable;
import dev.parley.lifecycle.Erasure;
import dev.parley.lifecycle.Import;
import dev.parley.lifecycle.Retention;
import dev.parley.lifecycle.UserExport;
import dev.parley.lifecycle.Utf8Lines;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.zip.GZIPOutputStream;

/** Deleting conversations and characters, erasing a user, exporting what is held about one, and the app's retention. */
final class LifecycleHandlers {
    private final Erasure erasure;
    private final UserExport export;
    private final Retention retention;
    private final Import imports;
    private final long maxLineBytes;

    /** {@code maxLineBytes}: an import line's limit, a request body's (PARLEY_MAX_BODY). */
    LifecycleHandlers(Erasure erasure, UserExport export, Retention retention, Import imports, long maxLineBytes) {
        this.erasure = erasure;
        this.export = export;
        this.retention = retention;
        this.imports = imports;
        this.maxLineBytes = maxLineBytes;
    }

    /**
     * Reads the NDJSON body as it arrives, a chunk of lines at a time (so its size is bounded by nothing but
     * the time it takes; each line by PARLEY_MAX_BODY), each line strictly UTF-8, and answers with what was
     * imported and rejected.
     */
    void importLines(Context ctx) throws IOException {
        Requests.refuseEncoded(ctx);
        String type = ctx.contentType() == null ? "" : ctx.contentType().split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!type.equals("application/x-ndjson") && !type.equals("application/jsonl")) {
            throw new BadRequest(415, "unsupported-media-type", null, "an import is NDJSON, one JSON object per line "
                    + "(Content-Type: application/x-ndjson), not " + (type.isEmpty() ? "a body without a Content-Type" : type));
        }
        String charset = Requests.charsetOf(ctx.contentType());
        if (charset != null && !charset.equals("utf-8") && !charset.equals("utf8")) {
            throw new BadRequest(415, "unsupported-media-type", null, "an import is NDJSON in UTF-8, not charset=" + charset);
        }
        Import.Report report;
        try {
            report = imports.run(Auth.app(ctx), new Utf8Lines(ctx.req().getInputStream(), maxLineBytes), read -> {
            });
        } catch (IOException e) { // the body stopped coming: the client's, not a fault of Parley's; what was read stays
            throw Requests.unreadable(e, ctx.req().getContentLengthLong(), "what was imported before it stays (whole chunks "
                    + "of " + Import.CHUNK + " lines): run the import again to finish it, and what is there is found and skipped");
        }
        Responses.json(ctx, report);
    }

    /** How long the app keeps its messages, and before when they are deleted now. */
    record Kept(@Nullable Integer messageDays, @Nullable Instant deletesBefore) {
    }

    void getRetention(Context ctx) {
        Responses.json(ctx, kept(Auth.app(ctx)));
    }

    void setRetention(Context ctx) {
        var input = Requests.body(ctx, Bodies.RetentionInput.class);
        JsonNode days = input.messageDays();
        if (days == null) {
            throw new InvalidInput("message_days", "is required: days to keep messages, 1-" + Retention.MAX_DAYS
                    + ", or null to keep them for ever");
        }
        if (!days.isNull() && (!days.canConvertToInt() || !days.isIntegralNumber() || days.intValue() < 1
                || days.intValue() > Retention.MAX_DAYS)) {
            throw new InvalidInput("message_days", "must be a whole number of days from 1 to " + Retention.MAX_DAYS
                    + ", or null to keep messages for ever; got " + Check.printable(days.toString()));
        }
        long appId = Auth.app(ctx);
        retention.setDays(appId, days.isNull() ? null : days.intValue());
        Responses.json(ctx, kept(appId));
    }

    private Kept kept(long appId) {
        OptionalInt days = retention.days(appId);
        return days.isPresent() ? new Kept(days.getAsInt(), retention.cutoffTime(days.getAsInt())) : new Kept(null, null);
    }

    void deleteConversation(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        Responses.json(ctx, erasure.deleteConversation(Auth.app(ctx), conversationId, memories(ctx),
                Conditional.requiredVersion(ctx, Conversation.class, conversationId), Auth.keyPrefix(ctx)));
    }

    void deleteCharacter(Context ctx) {
        long characterId = Params.id(ctx, "character_id");
        Responses.json(ctx, erasure.deleteCharacter(Auth.app(ctx), characterId,
                Conditional.requiredVersion(ctx, CharacterProfile.class, characterId), Auth.keyPrefix(ctx)));
    }

    void eraseUser(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        Responses.json(ctx, erasure.eraseUser(Auth.app(ctx), userId, Conditional.requiredVersion(ctx, User.class, userId),
                Auth.keyPrefix(ctx)));
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
        response.addHeader("Vary", "Accept-Encoding"); // beside Vary: Origin (Cors)
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
        throw new InvalidInput("memories", "must be keep or delete, got '" + Check.printable(raw) + "'");
    }
}
