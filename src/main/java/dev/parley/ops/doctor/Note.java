package dev.parley.ops.doctor;

/** Why a check was skipped, or what it could not see: said plainly, with what would lift the limit. */
public record Note(String check, String reason) {
}
