package dev.parley.http;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.chat.Characters;
import dev.parley.chat.Conversations;
import dev.parley.chat.Inbox;
import dev.parley.chat.Limits;
import dev.parley.chat.Message;
import dev.parley.chat.NotFound;
import dev.parley.chat.Users;
import dev.parley.memory.Recall;
import io.javalin.http.Context;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * POST /v1/users/{user_id}/warm: loads into the read cache what a product shows when the user logs in:
 * the user, their first inbox page, and for each conversation on it the conversation, its latest
 * history page and its characters (the inbox's, and the authors on that page). Each is loaded by the
 * loader its GET route uses, under the same key, so those GETs are then hits. The embeddings of the
 * user's memories those characters keep are read into recall's memory too, for the first context.
 */
final class Warmup {
    /** What was loaded (or found cached already): views per kind, and the messages on the history pages. */
    record Warmed(@JsonFormat(shape = JsonFormat.Shape.STRING) long userId, int conversations, int historyPages,
                  int messages, int characters, int memories) {
    }

    private final Users users;
    private final Conversations conversations;
    private final Characters characters;
    private final UserHandlers inbox;
    private final MessageHandlers history;
    private final Recall recall;

    Warmup(Users users, Conversations conversations, Characters characters, UserHandlers inbox, MessageHandlers history,
           Recall recall) {
        this.users = users;
        this.conversations = conversations;
        this.characters = characters;
        this.inbox = inbox;
        this.history = history;
        this.recall = recall;
    }

    void warm(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        int messages = Params.limit(ctx, "messages", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE);
        long appId = Auth.app(ctx);
        users.rendered(appId, userId); // 404 for a user this app does not have
        var page = inbox.firstPage(appId, userId, limit).model().conversations();
        Set<Long> speakers = new LinkedHashSet<>();
        int read = 0;
        for (Inbox.Entry entry : page) {
            conversations.rendered(appId, entry.conversationId());
            var latest = history.latestPage(appId, entry.conversationId(), messages).model().messages();
            read += latest.size();
            speakers.add(entry.characterId());
            latest.stream().map(Message::characterId).filter(id -> id != null).forEach(speakers::add);
        }
        int warmed = 0;
        for (long characterId : speakers) {
            try {
                characters.rendered(appId, characterId);
                warmed++;
            } catch (NotFound deletedSince) { // an author removed by hand: there is nothing of it to show
            }
        }
        int memories = recall.warm(appId, userId, speakers);
        Responses.json(ctx, new Warmed(userId, page.size(), page.size(), read, warmed, memories));
    }
}
