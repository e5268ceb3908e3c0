package io.avance.testkit.hypervisor;

import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * What a simulated guest reports about itself, read directly rather than over its network
 * endpoint: for tests and the demo. A snapshot; immutable.
 *
 * <p>{@code keys}, {@code lastSequence} and {@code bootId} are guest state: they live in guest
 * memory or device state and move with a migration. The counters are this node's: they count
 * what this copy of the guest did since it started running here.
 *
 * @param program          the guest program ({@code kv} or {@code idle})
 * @param bootId           the boot this guest is in, 16 hex digits; a reboot changes it, a
 *                         migration does not
 * @param keys             keys in the kv table (0 for idle)
 * @param lastSequence     the sequence number of the last PUT logged (0 for idle or none yet)
 * @param logBytes         bytes of the disk log in use (0 for idle)
 * @param paused           whether the guest is paused
 * @param endpoint         where the kv service listens, while its NIC is plugged in here
 * @param requestsServed   requests this copy answered
 * @param pagesDirtied     pages the memory dirtier wrote here
 * @param diskBlocksWritten scratch blocks the disk writer wrote here
 * @param diskErrors       scratch writes that failed here
 */
public record GuestStats(String program, String bootId, long keys, long lastSequence, long logBytes, boolean paused,
                         Optional<InetSocketAddress> endpoint, long requestsServed, long pagesDirtied,
                         long diskBlocksWritten, long diskErrors) {
}
