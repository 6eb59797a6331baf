package dev.parley.http;

import dev.parley.chat.CharacterProfile;
import dev.parley.chat.Conversation;
import dev.parley.chat.Inbox;
import dev.parley.chat.Leaderboards;
import dev.parley.chat.Message;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import dev.parley.live.Typing;
import dev.parley.memory.Memories;
import dev.parley.memory.Memory;
import dev.parley.search.MessageSearch;
import java.util.List;

/** Response bodies that wrap lists; {@code next_cursor} is null on the last page. */
final class Pages {
    private Pages() {
    }

    record CharacterPage(List<CharacterProfile> characters, @Nullable String nextCursor) {
    }

    record ConversationPage(List<Conversation> conversations, @Nullable String nextCursor) {
    }

    record InboxPage(List<Inbox.Entry> conversations, @Nullable String nextCursor) {
    }

    /** Every member of a conversation, bounded by Limits.MAX_GROUP_USERS and MAX_GROUP_CHARACTERS: no pages. */
    record Members(List<dev.parley.chat.Members.Member> members) {
    }

    /**
     * Messages oldest first. Pass {@code older_cursor} as {@code before} for the page before this one,
     * {@code newer_cursor} as {@code after} for newer messages (or to poll for new ones). Both carry the conversation,
     * and those of an empty page start where it was asked from: has_older or has_newer always comes with a cursor that works.
     */
    record HistoryPage(List<Message> messages, boolean hasOlder, boolean hasNewer, @Nullable String olderCursor, @Nullable String newerCursor) {
    }

    record MessagePage(List<Message> messages, @Nullable String nextCursor) {
    }

    /** Appended messages; {@code replayed} flags those an earlier attempt with the same Idempotency-Key had stored. */
    record AppendedMessages(List<AppendedMessage> messages) {
    }

    record AppendedMessage(Message message, boolean replayed) {
    }

    record Counters(JsonText counters) {
    }

    /** The app's users by one counter as last written, highest first, ties by user id; ranks 1, 2, 2, 4. */
    record Leaderboard(String counter, List<Leaderboards.Entry> entries, @Nullable String nextCursor) {
    }

    record MemoryPage(List<Memory> memories, @Nullable String nextCursor) {
    }

    /** The memories a batch stored, in the order sent. */
    record StoredMemories(List<Memory> memories) {
    }

    /** Matching messages, best (or newest) first; {@code snippet} wraps matched words in <mark></mark>, unescaped. */
    record MessageHits(List<MessageSearch.Hit> hits, @Nullable String nextCursor) {
    }

    record MemoryHits(List<Memories.Found> hits, @Nullable String nextCursor) {
    }

    /** Who types in a conversation now, soonest to stop first. */
    record Typists(List<Typing.Typist> typing) {
    }
}
