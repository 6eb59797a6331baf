package dev.parley.bench;

/** What a chat app does against its store, as the workload mixes it. */
public enum Operation {
    INBOX("inbox page (20)"),
    HISTORY("history, last 50"),
    CONTEXT("context (profile + 20 messages + 5 memories)"),
    APPEND("append one message"),
    READ("mark read"),
    BROWSE("characters by trait"),
    SEARCH("search a user's messages"),
    RECALL("memory recall, top 10");

    final String label;

    Operation(String label) {
        this.label = label;
    }
}
