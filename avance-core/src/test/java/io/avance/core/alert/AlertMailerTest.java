package io.avance.core.alert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.event.PeerChanged;
import io.avance.api.event.VolumeStateChanged;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.replication.ReplicationState;
import io.avance.core.config.OperationsConfig;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.core.operations.OpsTesting;
import io.avance.core.time.NanoClock;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Alerts against a real SMTP server (GreenMail) on loopback: the right mail arrives for a fault
 * that needs a person, a flapping fault is mailed once and then summed up in one digest,
 * acknowledged and minor faults are not mailed.
 */
class AlertMailerTest {

    @TempDir
    Path directory;

    private GreenMail smtp;
    private AvanceNode node;
    private Operations operations;

    @BeforeEach
    void start() {
        // Port 0: the server binds a port of the kernel's choosing and reports it.
        smtp = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP).dynamicPort());
        smtp.start();
        OperationsConfig.Alerts alerts = new OperationsConfig.Alerts("127.0.0.1", smtp.getSmtp().getPort(),
                OperationsConfig.SmtpSecurity.NONE, Optional.empty(), Optional.empty(), "avance@example.com",
                List.of("ops@example.com", "oncall@example.com"), TimeUnit.HOURS.toNanos(1),
                TimeUnit.SECONDS.toNanos(2), TimeUnit.MINUTES.toNanos(5));
        node = AvanceNode.builder(OpsTesting.standalone(directory, "alpha",
                new OperationsConfig.Builder().alerts(alerts).build())).build();
        node.start();
        operations = Operations.builder(node).start();
    }

    @AfterEach
    void stop() {
        operations.close();
        node.close();
        smtp.stop();
    }

    @Test
    void aFaultThatNeedsAPersonIsMailedToEveryRecipient() throws Exception {
        node.faults().raise(Fault.of(Component.POWER_SUPPLY, "psu2", Severity.MAJOR, "no input voltage"));
        OpsTesting.await(() -> smtp.getReceivedMessages().length >= 2, Duration.ofSeconds(20),
                () -> "no mail arrived");
        MimeMessage mail = smtp.getReceivedMessages()[0];
        assertEquals("[Avance alpha] MAJOR: major power supply fault at psu2: no input voltage on node alpha",
                mail.getSubject());
        String body = GreenMailUtil.getBody(mail);
        assertTrue(body.contains("Node alpha reports a major power supply fault at psu2: no input voltage"), body);
        assertTrue(body.contains("Replace or repair the part"), body);
        assertEquals("avance@example.com", mail.getFrom()[0].toString());
        assertEquals(2, smtp.getReceivedMessages().length, "one copy per recipient");
        // The server has the message before the sender has its answer and journals the send.
        OpsTesting.await(() -> node.journal().read(e -> e.action().equals("alert mail")
                && e.outcome().startsWith("sent"), 5).size() >= 1, Duration.ofSeconds(20),
                () -> "the send was not journaled: " + node.journal().readLines());
    }

    @Test
    void aFlappingFaultIsMailedOnceAndItsRepeatsGoIntoOneDigest() throws Exception {
        for (int i = 0; i < 20; i++) {
            node.faults().raise(Fault.of(Component.PUBLIC_NETWORK, "lan", Severity.MAJOR, "link down"));
            node.faults().clear(Component.PUBLIC_NETWORK, "lan");
        }
        // A minor fault needs no person.
        node.faults().raise(Fault.of(Component.FAN, "fan1", Severity.MINOR, "slightly slow"));
        // An acknowledged fault stops alerting: it was mailed once; its later changes are not.
        node.faults().raise(Fault.of(Component.DISK, "sdb", Severity.MAJOR, "reallocated sectors"));
        OpsTesting.await(() -> subjects(smtp, "ops@").stream().anyMatch(s -> s.contains("sdb")), Duration.ofSeconds(20),
                () -> "the disk fault was not mailed: " + subjects(smtp, "ops@"));
        node.faults().acknowledge(Component.DISK, "sdb", "olga");
        node.faults().raise(Fault.of(Component.DISK, "sdb", Severity.CRITICAL, "reallocated sectors, growing"));

        OpsTesting.await(() -> subjects(smtp, "ops@").stream().anyMatch(s -> s.contains("digest")),
                Duration.ofSeconds(20), () -> "no digest: " + subjects(smtp, "ops@"));
        // Let a second digest period pass: nothing more may arrive.
        Instant quietUntil = Instant.now().plusSeconds(3);
        OpsTesting.await(() -> Instant.now().isAfter(quietUntil), Duration.ofSeconds(10), () -> "");
        List<String> subjects = subjects(smtp, "ops@");
        assertEquals(1, subjects.stream().filter(s -> s.contains("public network fault at lan")).count(), subjects.toString());
        assertEquals(1, subjects.stream().filter(s -> s.contains("sdb")).count(), subjects.toString());
        assertEquals(0, subjects.stream().filter(s -> s.contains("fan1")).count(), subjects.toString());
        List<String> digests = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (MimeMessage mail : smtp.getReceivedMessages()) {
            if (mail.getSubject().contains("digest") && seen.add(mail.getMessageID())) {
                digests.add(GreenMailUtil.getBody(mail));
            }
        }
        int repeats = 0;
        for (String digest : digests) {
            java.util.regex.Matcher matcher = java.util.regex.Pattern.compile("fault at lan: link down on node alpha: happened (\\d+) more")
                    .matcher(digest.replace("=\r\n", "").replace("\r\n", "\n"));
            while (matcher.find()) {
                repeats += Integer.parseInt(matcher.group(1));
            }
            assertTrue(!digest.contains("sdb"), "the acknowledged fault is not in the digest: " + digest);
        }
        assertEquals(19, repeats, "every repeat of the flapping link is counted once: " + digests);
        assertTrue(digests.size() <= 2, "the repeats came in at most two digests: " + subjects);
    }

    @Test
    void theEventsThatNeedAPersonAreClassified() {
        AlertMailer mailer = new AlertMailer(node.config().operations().alerts().orElseThrow(), node, NanoClock.system(),
                Clock.systemUTC());
        try {
            NodeId beta = NodeId.of("beta");
            assertTrue(mailer.classify(new PeerChanged(Instant.now(), node.id(), beta, false, PairRole.BACKUP, true,
                    "failed 3 times")).orElseThrow().subject().contains("node beta declared down"));
            assertTrue(mailer.classify(new VolumeStateChanged(Instant.now(), node.id(), "data", ReplicationState.CONNECTED,
                    ReplicationState.SPLIT_BRAIN, "both changed")).orElseThrow().subject().contains("split brain"));
            assertTrue(mailer.classify(new PeerChanged(Instant.now(), node.id(), beta, true, PairRole.BACKUP, false,
                    "heard")).isEmpty());
            assertTrue(mailer.classify(new VolumeStateChanged(Instant.now(), node.id(), "data", ReplicationState.SYNCED,
                    ReplicationState.DEGRADED, "peer lost")).isEmpty());
        } finally {
            mailer.close();
        }
    }

    private static List<String> subjects(GreenMail smtp, String recipient) {
        // GreenMail keeps one copy per recipient: count each mail once, by its Message-ID.
        List<String> subjects = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        try {
            for (MimeMessage mail : smtp.getReceivedMessages()) {
                if (mail.getAllRecipients()[0].toString().startsWith(recipient) && seen.add(mail.getMessageID())) {
                    subjects.add(mail.getSubject());
                }
            }
        } catch (jakarta.mail.MessagingException e) {
            throw new IllegalStateException(e);
        }
        return subjects;
    }
}
