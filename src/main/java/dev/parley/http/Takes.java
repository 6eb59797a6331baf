package dev.parley.http;

import dev.parley.input.Check;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What a field of a request body takes, for the API document: its bounds, named with the same constants
 * (or settings) the handler checks it with. {@code RequestBoundsTest} sends each bound's first refused
 * value to the server and fails when it is taken, so the document cannot promise what the checks refuse
 * or the reverse.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
@interface Takes {
    /** The field must be given (on a PATCH of the same record every field is optional). */
    boolean required() default false;

    /** At most this many UTF-8 bytes: the document's {@code maxLength}, a bound on characters that holds for bytes too. */
    int maxBytes() default 0;

    /** A bound set by the server's settings: a string's bytes (each item's, of a list of strings), or a JSON value's serialised bytes. */
    Setting setting() default Setting.NONE;

    int minItems() default 0;

    int maxItems() default 0;

    double minimum() default Double.NaN;

    double maximum() default Double.NaN;

    /** A JSON value that must be an object, as {@code Check.object} holds it; without this, any JSON value. */
    boolean object() default false;

    /**
     * A JSON value (metadata, traits) a PATCH may change but not remove: an explicit null is refused, naming it
     * ({@link Requests#patch}), as it is for every field that is not a JSON value. The document then allows no null.
     */
    boolean notNull() default false;

    /** The only values a string may take. */
    String[] oneOf() default {};

    /** The settings a field's size follows: PARLEY_MAX_CONTENT and PARLEY_MAX_METADATA. */
    enum Setting { NONE, CONTENT, METADATA }
}
