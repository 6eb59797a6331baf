package dev.parley.http;

import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.input.Check;
import dev.parley.memory.Memories;
import dev.parley.search.Languages;
import dev.parley.search.MessageSearch;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/** /v1/search: words in messages (of a conversation, a user or the app) and in a user's memories. */
final class SearchHandlers {
    static final int MAX_QUERY_BYTES = 1000;

    private final MessageSearch messages;
    private final Memories memories;
    private final Languages languages;

    SearchHandlers(MessageSearch messages, Memories memories, Languages languages) {
        this.messages = messages;
        this.memories = memories;
        this.languages = languages;
    }

    void messages(Context ctx) {
        String text = query(ctx);
        Long userId = Params.optionalId(ctx, "user_id");
        Long conversationId = Params.optionalId(ctx, "conversation_id");
        String language = ctx.queryParam("language") == null ? null : languages.require("language", ctx.queryParam("language"));
        MessageSearch.Order order = order(ctx.queryParam("order"));
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        MessageSearch.Scope scope = conversationId != null ? new MessageSearch.Scope.Conversation(conversationId)
                : userId != null ? new MessageSearch.Scope.User(userId) : new MessageSearch.Scope.App();
        if (conversationId != null && userId != null) {
            throw new InvalidInput("user_id", "cannot be given together with conversation_id; a conversation has one user");
        }
        boolean archived = Params.flag(ctx, "include_archived");
        long search = fingerprint(scope, text, language, order, archived);
        long[] position = Cursor.positions(ctx, Cursor.Kind.SEARCH, 3);
        if (position != null && position[2] != search) {
            throw new InvalidInput("cursor", "continues another search: q, language, order, user_id or conversation_id, and "
                    + "include_archived must be those of the page that gave it");
        }
        MessageSearch.After after = position == null ? MessageSearch.After.START
                : new MessageSearch.After(Float.intBitsToFloat((int) position[0]), position[1]);
        List<MessageSearch.Hit> hits = messages.search(Auth.app(ctx), scope, text, language, order, after, Cursor.probe(limit), archived);
        var listed = Cursor.paged(Cursor.Kind.SEARCH, hits, limit, hit -> new long[] {Float.floatToIntBits(hit.rank()), hit.messageId(), search});
        Responses.json(ctx, new Pages.MessageHits(listed.page(), listed.next()));
    }

    /**
     * What a search cursor is bound to: its position (a rank, a message id) means something only in the search
     * that made it, so a cursor given to another one is refused rather than read as a place in it.
     */
    private static long fingerprint(MessageSearch.Scope scope, String text, String language, MessageSearch.Order order,
                                    boolean archived) {
        String search = String.join("\n", scope.toString(), text, String.valueOf(language), order.name(), String.valueOf(archived));
        return UUID.nameUUIDFromBytes(search.getBytes(StandardCharsets.UTF_8)).getMostSignificantBits();
    }

    void memories(Context ctx) {
        String text = query(ctx);
        long userId = Params.requiredId(ctx, "user_id");
        Long characterId = Params.optionalId(ctx, "character_id");
        String language = languages.require("language", ctx.queryParam("language"));
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        Responses.json(ctx, new Pages.MemoryHits(memories.search(Auth.app(ctx), userId, characterId, text, language, limit)));
    }

    private static String query(Context ctx) {
        return Check.requiredNonBlank("q", ctx.queryParam("q"), MAX_QUERY_BYTES);
    }

    private static MessageSearch.Order order(String raw) {
        if (raw == null) {
            return MessageSearch.Order.RELEVANCE;
        }
        return switch (raw) {
            case "relevance" -> MessageSearch.Order.RELEVANCE;
            case "recent" -> MessageSearch.Order.RECENT;
            default -> throw new InvalidInput("order", "must be relevance or recent, got '" + Check.printable(raw) + "'");
        };
    }
}
