package dev.parley.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;

/**
 * Log lines to standard error, written in blocks rather than one write(2) each: a line waits at most
 * {@link #LATEST} (or until 64 KB have gathered), a line at warn or above goes out at once with those
 * before it, and once the JVM begins to shut down every line goes out as it comes. With the access log
 * on, the write per request was a twentieth of the server's CPU for a cached read (docs/benchmarks.md).
 * What a process killed outright (SIGKILL) loses is the last tenth of a second of info lines.
 */
final class BufferedConsole extends OutputStreamAppender<ILoggingEvent> {
    static final Duration LATEST = Duration.ofMillis(100);

    BufferedConsole() {
        this(new StandardError());
    }

    BufferedConsole(OutputStream out) {
        setOutputStream(new Gathered(out));
        setImmediateFlush(false);
    }

    @Override
    protected void subAppend(ILoggingEvent event) {
        super.subAppend(event);
        if (event.getLevel().isGreaterOrEqual(Level.WARN)) {
            try {
                getOutputStream().flush();
            } catch (IOException e) {
                addError("could not write a log line to standard error", e);
            }
        }
    }

    /** Whatever {@code System.err} is when a block is written (tests replace it), a block at a time. */
    private static final class StandardError extends OutputStream {
        @Override
        public void write(int b) {
            System.err.write(b);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            System.err.write(bytes, offset, length);
        }

        @Override
        public void flush() {
            System.err.flush();
        }
    }

    /** The bytes of lines not yet written, and the thread that writes them out in time. */
    static final class Gathered extends OutputStream {
        private final OutputStream out;
        private final byte[] waiting = new byte[64 * 1024];
        private int used; // guarded by this
        private boolean direct; // guarded by this: the JVM is shutting down

        Gathered(OutputStream out) {
            this.out = out;
            Thread.ofPlatform().daemon().name("parley-log-writer").start(this::writeInTime);
            Runtime.getRuntime().addShutdownHook(new Thread(this::goDirect, "parley-log-shutdown"));
        }

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
            if (direct || length > waiting.length - used) {
                flush();
                if (direct || length > waiting.length) {
                    out.write(bytes, offset, length);
                    return;
                }
            }
            System.arraycopy(bytes, offset, waiting, used, length);
            if (used == 0) {
                notifyAll(); // the writer starts the clock on the first line waiting
            }
            used += length;
        }

        @Override
        public synchronized void flush() throws IOException {
            if (used > 0) {
                int length = used;
                used = 0;
                out.write(waiting, 0, length);
            }
        }

        /** The appender stops: what waits goes out; standard error itself stays open. */
        @Override
        public void close() throws IOException {
            flush();
        }

        private void writeInTime() {
            try {
                while (true) {
                    synchronized (this) {
                        while (used == 0) {
                            wait();
                        }
                    }
                    Thread.sleep(LATEST);
                    flushQuietly();
                }
            } catch (InterruptedException e) {
                flushQuietly();
            }
        }

        /** From now on every line goes out as it comes (the JVM is shutting down), and what waits goes first. */
        synchronized void goDirect() {
            direct = true;
            flushQuietly();
        }

        private synchronized void flushQuietly() {
            try {
                flush();
            } catch (IOException e) {
                // standard error is gone: nowhere left to say so
            }
        }
    }
}
