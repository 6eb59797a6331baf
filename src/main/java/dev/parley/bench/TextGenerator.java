package dev.parley.bench;

import java.util.SplittableRandom;

/** Chat-like text: user turns short, assistant turns longer, both with a long tail, from a fixed vocabulary. */
final class TextGenerator {
    private static final String[] WORDS = ("""
            the be to of and a in that have i it for not on with he as you do at this but his by from they we say
            her she or an will my one all would there their what so up out if about who get which go me when make
            can like time no just him know take people into year your good some could them see other than then now
            look only come its over think also back after use two how our work first well way even new want because
            any these give day most us star moon night sky dream tea coffee music song movie book story game love
            feel happy sad tired excited today tomorrow yesterday morning evening weekend travel city ocean forest
            mountain rain sun snow wind cat dog friend family work school lesson question answer idea plan hope
            remember forget laugh smile talk listen read write play sing dance cook eat drink walk run sleep wake
            really maybe always never sometimes often quite very little much more less fine great nice lovely
            strange funny curious calm quiet loud bright dark warm cold soft gentle brave honest kind clever
            tell me more about your favourite thing what do you think of why does it matter how did that happen
            """).strip().split("\\s+");

    private TextGenerator() {
    }

    /** A message of the given role: lengths follow a log-normal, around 12 words for users and 60 for assistants. */
    static String message(SplittableRandom random, String role) {
        double median = switch (role) {
            case "assistant" -> 60;
            case "system" -> 25;
            default -> 12;
        };
        int words = (int) Math.max(1, Math.min(2000, Math.round(median * Math.exp(0.6 * Topics.gaussian(random)))));
        StringBuilder text = new StringBuilder(words * 6);
        for (int i = 0; i < words; i++) {
            String word = WORDS[random.nextInt(WORDS.length)];
            if (i == 0) {
                text.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
            } else {
                text.append(' ').append(word);
            }
            if (i + 1 < words && random.nextInt(12) == 0) {
                text.append(random.nextInt(3) == 0 ? '?' : '.');
            }
        }
        return text.append(role.equals("user") && random.nextInt(3) == 0 ? '?' : '.').toString();
    }

    static String word(SplittableRandom random) {
        return WORDS[random.nextInt(WORDS.length)];
    }

}
