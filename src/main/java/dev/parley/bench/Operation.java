package dev.parley.bench;

/** What a chat app does against its store, as the workload mixes it. */
public enum Operation {
    INBOX("inbox page (20)", "inbox"),
    HISTORY("history, last 50", "history"),
    CONTEXT("context (profile + 20 messages + 5 memories)", "context"),
    APPEND("append one message", null),
    APPEND_BATCH("append " + Operation.BATCH + " messages in one request", null),
    READ("mark read", null),
    BROWSE("characters by trait", null),
    SEARCH("search a user's messages", null),
    RECALL("memory recall, top 10", null),
    /** Not in the chat mix: its own ({@code --mix search-memories}). */
    SEARCH_MEMORIES("search a user's memories, top 10", null),
    WINDOW_COUNT("character's messages, last hour", null),
    FILTERED_HISTORY("history by metadata, last 50", null);

    /** Messages in one APPEND_BATCH. */
    static final int BATCH = 100;

    final String label;
    /** The cache that answers this operation's reads, as Parley's cache metrics name it; null when none does. */
    final String cache;

    Operation(String label, String cache) {
        this.label = label;
        this.cache = cache;
    }
}
