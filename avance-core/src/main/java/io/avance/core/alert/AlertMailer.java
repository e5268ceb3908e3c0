package io.avance.core.alert;

import io.avance.api.PairRole;
import io.avance.api.event.FaultRaised;
import io.avance.api.event.PairEvent;
import io.avance.api.event.PairListener;
import io.avance.api.event.PeerChanged;
import io.avance.api.event.VmStateChanged;
import io.avance.api.event.VolumeStateChanged;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.VolumeStatus;
import io.avance.core.config.OperationsConfig;
import io.avance.core.journal.AuditJournal;
import io.avance.core.monitor.EventText;
import io.avance.core.node.AvanceNode;
import io.avance.core.time.NanoClock;
import io.netty.util.concurrent.DefaultThreadFactory;
import jakarta.mail.Authenticator;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.PasswordAuthentication;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Mails the events that need a person, once each, and gathers repeats into a digest.
 *
 * <p>Each alert has a key (the fault's component and location, the volume, the peer). Per key:
 *
 * <pre>
 *   QUIET --alert--&gt; mailed at once --------&gt; HELD (repeats counted, not mailed)
 *   HELD  --digest interval--&gt; one digest mail for every key with repeats, counts reset
 *   HELD  --repeat interval since the last mail--&gt; QUIET (the next alert is mailed at once)
 * </pre>
 *
 * <p>So a link that flaps a hundred times sends one mail, then at most one digest per digest
 * interval while it goes on. Acknowledged faults are not mailed. Only this node's own faults are
 * mailed by it: the peer mails its own, so a pair with both nodes up sends each alert once.
 * Events that concern the pair (a node declared down, a split brain) are mailed by the node
 * that observes them.
 *
 * <p>Mails go out on a thread of their own; a failed send is retried three times with growing
 * delays, then logged and journaled. Thread-safe.
 */
public final class AlertMailer implements PairListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(AlertMailer.class.getName());

    private final OperationsConfig.Alerts settings;
    private final AvanceNode node;
    private final NanoClock clock;
    private final Clock wallClock;
    private final Session session;
    private final ScheduledExecutorService executor;
    private final Map<String, Held> held = new LinkedHashMap<>();
    private final Map<String, long[]> resyncProgress = new LinkedHashMap<>();

    private static final class Held {
        long lastMailedNanos;
        int repeats;
        Instant firstRepeat;
        String lastText;
    }

    /**
     * One alert.
     *
     * @param key     what it is about, for de-duplication
     * @param subject the mail's subject
     * @param text    what happened
     */
    record Alert(String key, String subject, String text) {
    }

    /**
     * Creates the mailer; it sends nothing until events arrive.
     *
     * @param settings  the SMTP server and recipients
     * @param node      the node whose events these are
     * @param clock     for de-duplication intervals
     * @param wallClock for the times in mails
     */
    public AlertMailer(OperationsConfig.Alerts settings, AvanceNode node, NanoClock clock, Clock wallClock) {
        this.settings = Objects.requireNonNull(settings);
        this.node = Objects.requireNonNull(node);
        this.clock = Objects.requireNonNull(clock);
        this.wallClock = Objects.requireNonNull(wallClock);
        this.session = session(settings);
        this.executor = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("avance-alerts-"
                + node.id().value(), true));
        long digest = settings.digestIntervalNanos();
        executor.scheduleAtFixedRate(this::sendDigest, digest, digest, TimeUnit.NANOSECONDS);
        long stallCheck = Math.min(TimeUnit.SECONDS.toNanos(5), settings.resyncStallNanos() / 2);
        executor.scheduleWithFixedDelay(this::checkResyncs, stallCheck, stallCheck, TimeUnit.NANOSECONDS);
    }

    private static Session session(OperationsConfig.Alerts settings) {
        Properties properties = new Properties();
        String protocol = settings.security() == OperationsConfig.SmtpSecurity.TLS ? "smtps" : "smtp";
        properties.put("mail.transport.protocol", protocol);
        properties.put("mail." + protocol + ".host", settings.smtpHost());
        properties.put("mail." + protocol + ".port", String.valueOf(settings.smtpPort()));
        properties.put("mail." + protocol + ".connectiontimeout", "10000");
        properties.put("mail." + protocol + ".timeout", "10000");
        properties.put("mail." + protocol + ".writetimeout", "10000");
        if (settings.security() == OperationsConfig.SmtpSecurity.STARTTLS) {
            properties.put("mail.smtp.starttls.enable", "true");
            properties.put("mail.smtp.starttls.required", "true");
        }
        if (settings.security() != OperationsConfig.SmtpSecurity.NONE) {
            properties.put("mail." + protocol + ".ssl.checkserveridentity", "true");
        }
        Authenticator authenticator = null;
        if (settings.user().isPresent()) {
            properties.put("mail." + protocol + ".auth", "true");
            String user = settings.user().get();
            String password = settings.password().orElse("");
            authenticator = new Authenticator() {
                @Override
                protected PasswordAuthentication getPasswordAuthentication() {
                    return new PasswordAuthentication(user, password);
                }
            };
        }
        return Session.getInstance(properties, authenticator);
    }

    @Override
    public void onEvent(PairEvent event) {
        Optional<Alert> alert = classify(event);
        alert.ifPresent(this::raise);
    }

    /** Decides whether an event needs a person, and what to tell them. */
    Optional<Alert> classify(PairEvent event) {
        String self = node.id().value();
        if (event instanceof FaultRaised raised && raised.node().equals(node.id())) {
            Fault fault = raised.fault();
            if (fault.severity() == Severity.MINOR && !fault.predicted()) {
                return Optional.empty();
            }
            if (node.faults().acknowledgement(fault.component(), fault.location()).isPresent()) {
                return Optional.empty();
            }
            String what = EventText.describe(fault);
            String action = fault.predicted() ? "The part is expected to fail: plan its replacement."
                    : "Replace or repair the part; the pair keeps running on the healthier node.";
            return Optional.of(new Alert("fault:" + fault.component() + ":" + fault.location(),
                    (fault.severity() == Severity.CRITICAL ? "CRITICAL" : "MAJOR") + ": " + what + " on node " + self,
                    "Node " + self + " reports a " + what + ".\n" + action + "\nHealth score now " + raised.score()
                            + "."));
        }
        if (event instanceof PeerChanged peer && peer.declaredDown()) {
            return Optional.of(new Alert("down:" + peer.peer(), "CRITICAL: node " + peer.peer() + " declared down",
                    "Node " + self + " declared node " + peer.peer() + " down: " + peer.detail()
                            + "\nThe pair runs on one node, without redundancy, until it is repaired."));
        }
        if (event instanceof VolumeStateChanged volume && volume.to() == ReplicationState.SPLIT_BRAIN) {
            return Optional.of(new Alert("split-brain:" + volume.volume(), "CRITICAL: split brain on volume "
                    + volume.volume(), "Both nodes changed volume " + volume.volume()
                    + " while they could not reach each other (" + volume.reason() + ").\nReplication of it is"
                    + " stopped until an administrator chooses, in the monitor, whose changes to discard."));
        }
        if (event instanceof VmStateChanged vm && vm.to() == VmState.FAILED) {
            return Optional.of(new Alert("vm-failed:" + vm.vm(), "CRITICAL: VM " + vm.vm() + " failed", "VM " + vm.vm()
                    + " failed on node " + self + " and is no longer restarted: " + vm.reason()));
        }
        return Optional.empty();
    }

    /** Mails an alert now, or holds it for the digest if the same one was mailed recently. */
    void raise(Alert alert) {
        long now = clock.nanoTime();
        boolean mailNow;
        synchronized (held) {
            Held state = held.get(alert.key());
            if (state == null || now - state.lastMailedNanos >= settings.repeatIntervalNanos()) {
                if (state == null) {
                    state = new Held();
                    held.put(alert.key(), state);
                }
                state.lastMailedNanos = now;
                mailNow = true;
            } else {
                if (state.repeats == 0) {
                    state.firstRepeat = wallClock.instant();
                }
                state.repeats++;
                state.lastText = alert.subject();
                mailNow = false;
            }
        }
        if (mailNow) {
            executor.execute(() -> send("[Avance " + node.id() + "] " + alert.subject(), alert.text() + "\n\n"
                    + summary(), alert.key()));
        }
    }

    private void sendDigest() {
        List<String> lines = new ArrayList<>();
        synchronized (held) {
            for (Map.Entry<String, Held> entry : held.entrySet()) {
                Held state = entry.getValue();
                if (state.repeats > 0) {
                    lines.add("- " + state.lastText + ": happened " + state.repeats + " more time"
                            + (state.repeats == 1 ? "" : "s") + " since " + state.firstRepeat);
                    state.repeats = 0;
                }
            }
        }
        if (!lines.isEmpty()) {
            send("[Avance " + node.id() + "] digest: " + lines.size() + " repeated alert" + (lines.size() == 1 ? "" : "s"),
                    "These alerts were mailed once and have happened again since; they were held back so as not to"
                            + " flood you:\n\n" + String.join("\n", lines) + "\n\n" + summary(), "digest");
        }
    }

    private void checkResyncs() {
        long now = clock.nanoTime();
        try {
            for (VolumeStatus volume : node.volumes().volumes()) {
                if (volume.resync().isEmpty()) {
                    resyncProgress.remove(volume.name());
                    continue;
                }
                long done = volume.resync().get().bytesDone();
                long[] last = resyncProgress.get(volume.name());
                if (last == null || last[0] != done) {
                    resyncProgress.put(volume.name(), new long[] {done, now, 0});
                } else if (last[2] == 0 && now - last[1] >= settings.resyncStallNanos()) {
                    last[2] = 1;
                    raise(new Alert("resync-stalled:" + volume.name(), "MAJOR: resync of volume " + volume.name()
                            + " stalled", "The resync of volume " + volume.name() + " has made no progress for "
                            + TimeUnit.NANOSECONDS.toSeconds(now - last[1]) + " s at "
                            + String.format(java.util.Locale.ROOT, "%.1f", volume.resync().get().percentDone())
                            + " %. The backup's copy stays out of date; check the private link and the backup's disk."));
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "resync check", e);
        }
    }

    private String summary() {
        StringBuilder out = new StringBuilder("The pair now, as node " + node.id() + " sees it:\n");
        out.append("- node ").append(node.id()).append(": ").append(node.role().name().toLowerCase(java.util.Locale.ROOT))
                .append(", health ").append(node.faults().score().value()).append('\n');
        node.status().flatMap(s -> s.peer()).ifPresent(peer -> out.append("- node ").append(peer.id()).append(": ")
                .append(peer.role() == PairRole.UNDECIDED ? "unknown" : peer.role().name().toLowerCase(java.util.Locale.ROOT))
                .append(", health ").append(peer.health().value()).append('\n'));
        out.append("Sent ").append(wallClock.instant()).append(". Acknowledge faults in the monitor to stop their alerts.\n");
        return out.toString();
    }

    private void send(String subject, String text, String key) {
        long delayMillis = 1_000;
        for (int attempt = 1; ; attempt++) {
            try {
                MimeMessage message = new MimeMessage(session);
                message.setFrom(new InternetAddress(settings.from()));
                for (String to : settings.to()) {
                    message.addRecipient(Message.RecipientType.TO, new InternetAddress(to));
                }
                message.setSubject(subject, "UTF-8");
                message.setText(text, "UTF-8");
                message.setSentDate(java.util.Date.from(wallClock.instant()));
                message.setHeader("X-Avance-Alert", key);
                Transport.send(message);
                journal("alert mail", subject, "sent to " + String.join(", ", settings.to()));
                return;
            } catch (MessagingException e) {
                if (attempt >= 4 || executor.isShutdown()) {
                    LOG.log(Level.WARNING, "cannot send the alert mail ''" + subject + "''", e);
                    journal("alert mail", subject, "failed: " + e.getMessage());
                    return;
                }
                try {
                    // This thread sends only alerts: waiting here delays later mails, which is right,
                    // since they would fail the same way.
                    TimeUnit.MILLISECONDS.sleep(delayMillis);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
                delayMillis *= 4;
            }
        }
    }

    private void journal(String action, String detail, String outcome) {
        AuditJournal journal = node.journal();
        if (journal != null) {
            journal.record("system", action, detail, outcome);
        }
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
