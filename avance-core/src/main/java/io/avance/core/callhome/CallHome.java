package io.avance.core.callhome;

import io.avance.api.event.DecisionTaken;
import io.avance.api.event.PairEvent;
import io.avance.api.event.PairListener;
import io.avance.api.event.ResyncProgressed;
import io.avance.api.event.MigrationProgressed;
import io.avance.core.config.OperationsConfig;
import io.avance.core.journal.AuditJournal;
import io.avance.core.json.JsonWriter;
import io.avance.core.monitor.EventText;
import io.avance.core.node.AvanceNode;
import io.avance.core.time.NanoClock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Sends warnings, faults and recovery actions to the vendor's endpoint.
 *
 * <p>Each event becomes a JSON document that goes into the {@link CallHomeOutbox} first (on
 * disk, fsynced) and is then POSTed by a sender thread, oldest first:
 *
 * <pre>
 * POST callhome.url
 * Content-Type: application/json
 * Idempotency-Key: 5b0e...            (the event's id, also in the body)
 *
 * {"id":"5b0e...","site":"bank-42","node":"alpha","time":"...","kind":"fault","level":"critical",
 *  "event":"FaultRaised","text":"node alpha: critical fan fault at fan2: stopped",
 *  "bundle":"UEsDB..."}              (base64 zip, critical events only)
 * </pre>
 *
 * <p>A 2xx answer removes the event; anything else (no network, TLS failure, 5xx, even 4xx) keeps
 * it and retries after a delay that doubles from {@code callhome.retry-initial} up to
 * {@code callhome.retry-max}, with a random fifth added or taken so that many sites do not
 * retry in step. Nothing is dropped; an event may arrive more than once, with the same id.
 * Bundles are attached to at most one critical event per ten minutes (a storm of critical events
 * must not fill the outbox with bundles). Thread-safe.
 */
public final class CallHome implements PairListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(CallHome.class.getName());
    private static final long BUNDLE_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Writes a diagnostic bundle for a critical event. */
    @FunctionalInterface
    public interface BundleWriter {
        /**
         * Writes a bundle.
         *
         * @param out where to
         * @throws IOException if it cannot
         */
        void write(java.io.OutputStream out) throws IOException;
    }

    private final OperationsConfig.CallHome settings;
    private final AvanceNode node;
    private final NanoClock clock;
    private final Clock wallClock;
    private final CallHomeOutbox outbox;
    private final BundleWriter bundles;
    private final HttpClient client;
    private final ExecutorService intake;
    private final Thread sender;
    private final Object wake = new Object();
    private volatile boolean closed;
    private long lastBundleNanos = Long.MIN_VALUE;
    private volatile String lastError = "";

    /**
     * Opens the outbox and starts sending what it holds (events queued before a restart go first).
     *
     * @param settings  the endpoint and retry settings
     * @param node      the node (its data directory holds the outbox)
     * @param bundles   writes bundles for critical events
     * @param clock     for retry delays
     * @param wallClock for event times
     */
    public CallHome(OperationsConfig.CallHome settings, AvanceNode node, BundleWriter bundles, NanoClock clock,
                    Clock wallClock) {
        this.settings = Objects.requireNonNull(settings);
        this.node = Objects.requireNonNull(node);
        this.bundles = Objects.requireNonNull(bundles);
        this.clock = Objects.requireNonNull(clock);
        this.wallClock = Objects.requireNonNull(wallClock);
        this.outbox = new CallHomeOutbox(node.config().dataDirectory());
        this.client = HttpClient.newBuilder().sslContext(sslContext(settings)).connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.intake = Executors.newSingleThreadExecutor(new io.netty.util.concurrent.DefaultThreadFactory(
                "avance-callhome-intake-" + node.id().value(), true));
        this.sender = new Thread(this::sendLoop, "avance-callhome-" + node.id().value());
        this.sender.setDaemon(true);
        this.sender.start();
    }

    private static SSLContext sslContext(OperationsConfig.CallHome settings) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            if (settings.truststore().isEmpty()) {
                context.init(null, null, null);
                return context;
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(settings.truststore().get())) {
                store.load(in, settings.truststorePassword().toCharArray());
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("callhome.truststore: cannot use "
                    + settings.truststore().map(Object::toString).orElse("the JDK's trust store") + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void onEvent(PairEvent event) {
        if (closed || event instanceof ResyncProgressed || event instanceof MigrationProgressed) {
            return;
        }
        EventText.Described described = EventText.describe(event);
        if (described.level() == EventText.Level.INFO && !(event instanceof DecisionTaken)) {
            return;
        }
        intake.execute(() -> queue(event, described));
    }

    private void queue(PairEvent event, EventText.Described described) {
        String id = UUID.randomUUID().toString();
        JsonWriter json = new JsonWriter().beginObject().name("id").value(id).name("site").value(settings.site())
                .name("node").value(event.node().value()).name("time").value(event.time().toString())
                .name("kind").value(described.kind()).name("level")
                .value(described.level().name().toLowerCase(java.util.Locale.ROOT))
                .name("event").value(event.getClass().getSimpleName()).name("text").value(described.text());
        if (described.level() == EventText.Level.CRITICAL && settings.attachBundles()) {
            long now = clock.nanoTime();
            if (lastBundleNanos == Long.MIN_VALUE || now - lastBundleNanos >= BUNDLE_INTERVAL_NANOS) {
                lastBundleNanos = now;
                ByteArrayOutputStream zip = new ByteArrayOutputStream();
                try {
                    bundles.write(zip);
                    json.name("bundle").value(Base64.getEncoder().encodeToString(zip.toByteArray()));
                } catch (IOException | RuntimeException e) {
                    json.name("bundleError").value(String.valueOf(e));
                }
            } else {
                json.name("bundleOmitted").value("a bundle went with an event less than ten minutes ago");
            }
        }
        outbox.add(id, json.endObject().toString());
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /**
     * Queues an event of the caller's (the embedding program's own warnings).
     *
     * @param kind  what it is about
     * @param level how much it matters
     * @param text  one sentence
     */
    public void report(String kind, EventText.Level level, String text) {
        PairEvent event = new PairEvent() {
            @Override
            public java.time.Instant time() {
                return wallClock.instant();
            }

            @Override
            public io.avance.api.NodeId node() {
                return node.id();
            }
        };
        intake.execute(() -> queue(event, new EventText.Described(kind, level, text)));
    }

    private void sendLoop() {
        long delayNanos = 0;
        while (!closed) {
            if (delayNanos > 0) {
                waitNanos(delayNanos);
                if (closed) {
                    return;
                }
            }
            Optional<CallHomeOutbox.Item> item;
            try {
                item = outbox.oldest();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "cannot read the call-home outbox", e);
                delayNanos = settings.retryMaxNanos();
                continue;
            }
            if (item.isEmpty()) {
                delayNanos = 0;
                synchronized (wake) {
                    try {
                        if (!closed && outboxEmpty()) {
                            wake.wait(TimeUnit.SECONDS.toMillis(30));
                        }
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                continue;
            }
            if (deliver(item.get())) {
                outbox.remove(item.get());
                delayNanos = 0;
            } else {
                delayNanos = delayNanos == 0 ? settings.retryInitialNanos()
                        : Math.min(settings.retryMaxNanos(), delayNanos * 2);
                long jitter = delayNanos / 5;
                delayNanos = Math.max(settings.retryInitialNanos(), delayNanos - jitter
                        + (jitter > 0 ? (long) (RANDOM.nextDouble() * 2 * jitter) : 0));
            }
        }
    }

    private boolean outboxEmpty() {
        try {
            return outbox.size() == 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void waitNanos(long nanos) {
        long deadline = clock.nanoTime() + nanos;
        synchronized (wake) {
            long left;
            while (!closed && (left = deadline - clock.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(wake, left);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private boolean deliver(CallHomeOutbox.Item item) {
        HttpRequest request = HttpRequest.newBuilder(settings.url()).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").header("Idempotency-Key", item.id())
                .header("User-Agent", "avance-callhome").POST(HttpRequest.BodyPublishers.ofString(item.json())).build();
        try {
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 == 2) {
                if (!lastError.isEmpty()) {
                    journal("call home", "endpoint " + settings.url() + " reachable again", "delivering");
                    lastError = "";
                }
                return true;
            }
            failed(item, "HTTP " + response.statusCode());
            return false;
        } catch (IOException e) {
            failed(item, e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
            return false;
        }
    }

    private void failed(CallHomeOutbox.Item item, String error) {
        if (!error.equals(lastError)) {
            LOG.log(Level.WARNING, "call home to {0} failed ({1}); {2} event(s) wait in the outbox and will be retried",
                    settings.url(), error, outbox.size());
            journal("call home", "endpoint " + settings.url(), "failed: " + error + "; retrying");
            lastError = error;
        }
    }

    private void journal(String action, String detail, String outcome) {
        AuditJournal journal = node.journal();
        if (journal != null) {
            journal.record("system", action, detail, outcome);
        }
    }

    /**
     * How many events wait to be delivered.
     *
     * @return the outbox's size
     */
    public int pending() {
        return outbox.size();
    }

    @Override
    public void close() {
        intake.shutdown();
        try {
            intake.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closed = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        sender.interrupt();
        try {
            sender.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
