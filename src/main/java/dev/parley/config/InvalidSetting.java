package dev.parley.config;

/** A setting could not be used; the message names the flag and the environment variable that carry it. */
public final class InvalidSetting extends RuntimeException {
    InvalidSetting(String flag, String envName, String problem) {
        super(describe(flag, envName) + " " + problem);
    }

    private static String describe(String flag, String envName) {
        if (flag == null) {
            return envName;
        }
        if (envName == null) { // a flag no variable carries
            return flag;
        }
        return flag + " (" + envName + ")";
    }
}
