package dev.parley.docs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Whether a command answered as its document shows. The status: the one a shown status line names
 * ({@code HTTP/1.1 404 Not Found}), else a shown problem document's {@code status} (and its {@code type}
 * must match), else, for a shown body that is not JSON ({@code 304} printed by {@code -w}), that text
 * exactly, else any 2xx. Shown header lines must be among the answer's headers (values differ: ETags).
 * A shown JSON body must have the real body's shape ({@link DocJson}). A command that shows no answer
 * must get a 2xx for every request it makes. Every command must exit 0 and use no unset variable.
 */
final class AnswerCheck {
    private static final String PROBLEM_TYPES = "https://parley.dev/problems/";

    private AnswerCheck() {
    }

    /** Why the outcome differs from what the document shows, or empty when it does not. */
    static Optional<String> mismatch(DocExample example, DocShell.Outcome outcome) {
        if (!outcome.unset().isEmpty()) {
            return Optional.of("uses $" + String.join(", $", outcome.unset()) + ", which no command before it sets");
        }
        if (outcome.exit() != 0) {
            return Optional.of("exited with status " + outcome.exit());
        }
        if (example.callsParley() && outcome.statuses().isEmpty()) {
            return Optional.of("Parley did not answer");
        }
        HttpText shown = HttpText.parse(String.join("\n", example.shown()));
        HttpText real = HttpText.parse(outcome.stdout());
        return headMismatch(shown, real).or(() -> bodyMismatch(shown, real, outcome));
    }

    private static Optional<String> headMismatch(HttpText shown, HttpText real) {
        if (shown.status() != null && !shown.status().equals(real.status())) {
            return Optional.of("shows status " + shown.status() + ", printed " + real.status());
        }
        return shown.headers().stream().filter(h -> !real.headers().contains(h)).findFirst()
                .map(h -> "shows header " + h + ", the answer has none");
    }

    private static Optional<String> bodyMismatch(HttpText shown, HttpText real, DocShell.Outcome outcome) {
        if (shown.body().startsWith("{") || shown.body().startsWith("[")) {
            return jsonMismatch(shown, real, outcome);
        }
        if (!shown.body().isEmpty()) {
            return shown.body().equals(real.body()) ? Optional.empty() : Optional.of("shows '" + shown.body() + "', printed '" + real.body() + "'");
        }
        return shown.status() != null ? Optional.empty() : notSuccess(outcome.statuses());
    }

    private static Optional<String> jsonMismatch(HttpText shown, HttpText real, DocShell.Outcome outcome) {
        DocJson documented;
        try {
            documented = DocJson.parse(shown.body());
        } catch (IllegalArgumentException e) {
            return Optional.of("the document's answer does not read as JSON: " + e.getMessage());
        }
        JsonNode answer;
        try {
            answer = Json.MAPPER.readTree(real.body());
        } catch (IOException e) {
            return Optional.of("shows JSON, printed something else");
        }
        if (answer == null) {
            return Optional.of("shows JSON, printed nothing");
        }
        Optional<String> status = shown.status() != null ? Optional.empty() : problemOrSuccess(documented, answer, outcome);
        return status.or(() -> DocJson.mismatch(documented, answer));
    }

    private static Optional<String> problemOrSuccess(DocJson documented, JsonNode answer, DocShell.Outcome outcome) {
        if (documented instanceof DocJson.Obj shown && shown.members().get("type") instanceof DocJson.Str type
                && type.value().startsWith(PROBLEM_TYPES) && shown.members().get("status") instanceof DocJson.Num status) {
            int expected = Integer.parseInt(status.text());
            if (!Integer.valueOf(expected).equals(outcome.lastStatus())) {
                return Optional.of("shows a " + expected + " problem, answered " + outcome.lastStatus());
            }
            String realType = answer.path("type").asText();
            return realType.equals(type.value()) ? Optional.empty() : Optional.of("shows problem type " + type.value() + ", answered " + realType);
        }
        return notSuccess(outcome.statuses());
    }

    private static Optional<String> notSuccess(List<Integer> statuses) {
        return statuses.stream().filter(s -> s < 200 || s > 299).findFirst().map(s -> "shows a success, answered " + s);
    }
}
