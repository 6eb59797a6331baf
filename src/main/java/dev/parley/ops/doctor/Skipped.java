package dev.parley.ops.doctor;

/** A check could not run at all here (an extension, a privilege or a server role is missing). */
final class Skipped extends Exception {
    Skipped(String reason) {
        super(reason, null, false, false);
    }
}
