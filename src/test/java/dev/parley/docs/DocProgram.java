package dev.parley.docs;

import java.util.ArrayList;
import java.util.List;

/**
 * A document's examples in one language as one program: every line of them at its line of the document, blank
 * lines in between, so the line a compiler or an interpreter names is the document's line.
 */
final class DocProgram {
    private DocProgram() {
    }

    /** The blocks of {@code language} in {@code blocks}, in the document's order, as one program's text. */
    static String of(List<DocExamples.Block> blocks, String language) {
        List<String> lines = new ArrayList<>();
        for (DocExamples.Block block : blocks) {
            if (!block.language().equals(language)) {
                continue;
            }
            while (lines.size() < block.line() - 1) {
                lines.add("");
            }
            lines.addAll(block.lines());
        }
        return String.join("\n", lines) + "\n";
    }
}
