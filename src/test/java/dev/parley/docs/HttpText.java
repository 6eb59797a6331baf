package dev.parley.docs;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An answer as text, shown in a document or printed by a command: an optional head (the status line
 * {@code HTTP/1.1 404 Not Found} of {@code curl -i}, header lines such as {@code ETag: "…"}, {@code ...}
 * for headers left out) and a body after the blank line that ends the head, or the body alone.
 */
record HttpText(Integer status, Set<String> headers, String body) {
    private static final Pattern STATUS_LINE = Pattern.compile("^HTTP/\\S+ (\\d{3})\\b.*");
    private static final Pattern HEADER = Pattern.compile("^([A-Za-z][A-Za-z0-9-]*): .*");

    static HttpText parse(String text) {
        List<String> lines = text.replace("\r", "").lines().toList();
        if (!lines.isEmpty() && STATUS_LINE.matcher(lines.get(0)).matches()) {
            int blank = lines.indexOf("");
            List<String> head = blank < 0 ? lines : lines.subList(0, blank);
            String body = blank < 0 ? "" : String.join("\n", lines.subList(blank + 1, lines.size()));
            return new HttpText(status(lines.get(0)), headerNames(head.subList(1, head.size())), body.strip());
        }
        if (!lines.isEmpty() && lines.stream().allMatch(l -> HEADER.matcher(l).matches() || l.equals("..."))) {
            return new HttpText(null, headerNames(lines), "");
        }
        return new HttpText(null, Set.of(), text.strip());
    }

    private static Integer status(String line) {
        Matcher matcher = STATUS_LINE.matcher(line);
        return matcher.matches() ? Integer.valueOf(matcher.group(1)) : null;
    }

    private static Set<String> headerNames(List<String> lines) {
        Set<String> names = new LinkedHashSet<>();
        for (String line : lines) {
            Matcher header = HEADER.matcher(line);
            if (header.matches()) {
                names.add(header.group(1).toLowerCase(Locale.ROOT));
            }
        }
        return names;
    }
}
