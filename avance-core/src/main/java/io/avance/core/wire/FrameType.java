package io.avance.core.wire;

/**
 * The frame types of protocol version 1, with the largest payload each may carry.
 *
 * <p>Codes are grouped: 0x01-0x0F handshake, 0x10-0x2F pair control, 0x30-0x5F replication,
 * 0x60-0x7F migration. A receiver rejects a code it does not know.
 */
public enum FrameType {
    /** First message on a connection: who I am, who I think you are, a nonce. */
    HELLO(0x01, 256),
    /** Proof of the pairing secret: an HMAC over both hellos. */
    AUTH(0x02, 32),
    /** The sender verified the peer's proof; the session is open. Carries the chosen version. */
    READY(0x03, 2),
    /** Liveness, role, epoch, health; also sent over public networks. */
    HEARTBEAT(0x10, 16 * 1024),
    /** A candidate asks the peer to promise an epoch to it. */
    PROMOTE_REQUEST(0x11, 128),
    /** The peer's answer to a promote request. */
    PROMOTE_REPLY(0x12, 512),
    /** The primary gives the next epoch to its backup (graceful switchover). */
    HANDOVER(0x13, 128),
    /** The primary asks its backup to reboot. */
    REBOOT_REQUEST(0x14, 1024),
    /** The VM catalog (primary to backup), and each node's host resources. */
    VM_CATALOG(0x15, 64 + Message.VmCatalog.MAX_ENTRIES * (3 + Message.CatalogEntry.MAX_SPEC_BYTES)),
    /** A node claims or renews an epoch at the quorum witness. */
    WITNESS_CLAIM(0x20, 128),
    /** The quorum witness's answer. */
    WITNESS_ANSWER(0x21, 128),
    /** Data channel: a node describes its copy of a volume (generations, state). */
    VOLUME_HELLO(0x30, 512),
    /** Data channel: the primary tells the backup what happens to a volume (its sync decision). */
    SYNC_PLAN(0x31, 512),
    /** Data channel: dirty-bitmap words, backup to primary, to merge before a resync. */
    BITMAP_WORDS(0x32, Limits.DATA),
    /** Data channel: a replicated write, primary to backup. */
    WRITE(0x33, Limits.DATA),
    /** Data channel: a replicated write of zeros or trim. */
    ZEROES(0x34, 64),
    /** Data channel: make everything so far durable. */
    FLUSH(0x35, 32),
    /** Data channel: the backup applied (or failed to apply) a write, zeroes or flush. */
    ACK(0x36, 32),
    /** Data channel: a block run the resync source sends to the target. */
    RESYNC_DATA(0x37, Limits.DATA),
    /** Data channel: the target applied a resync run. */
    RESYNC_ACK(0x38, 32),
    /** Data channel: the resync is complete; the target adopts the source's generation. */
    RESYNC_DONE(0x39, 128),
    /** Data channel: the primary asks for digests of a run of blocks (online verify). */
    VERIFY_REQUEST(0x3A, 64),
    /** Data channel: the backup's digests. */
    VERIFY_DIGESTS(0x3B, 64 + 8 * 4096),
    /** Data channel: the primary reads from the backup's copy (its own disk failed). */
    READ_REQUEST(0x3C, 64),
    /** Data channel: the data read, or an error. */
    READ_REPLY(0x3D, Limits.DATA),
    /** Data channel: the primary deletes a volume; the backup deletes its copy first. */
    VOLUME_DELETE(0x3E, 512),
    /** Data channel: the backup deleted its copy of a volume (or could not, and why). */
    VOLUME_DELETED(0x3F, 1024),
    /** Migration channel: the source offers a VM (its spec and memory geometry). */
    MIGRATE_BEGIN(0x60, 32 * 1024),
    /** Migration channel: the target accepts (the paused VM exists) or refuses. */
    MIGRATE_ACCEPT(0x61, 1024),
    /** Migration channel: a batch of pages: some with data, some known to be zero. */
    MIGRATE_PAGES(0x62, Limits.DATA + 64 * 1024),
    /** Migration channel: the source sent every page of a round. */
    MIGRATE_ROUND_END(0x63, 64),
    /** Migration channel: the target applied every page of a round. */
    MIGRATE_ROUND_ACK(0x64, 64),
    /** Migration channel: the paused VM's device state, the last thing sent. */
    MIGRATE_DEVICE(0x65, Limits.DATA),
    /** Migration channel: the target holds the whole VM and can activate it. */
    MIGRATE_PREPARED(0x66, 64),
    /** Migration channel: the source will never resume its copy: the target may run the VM. */
    MIGRATE_ACTIVATE(0x67, 64),
    /** Migration channel: the VM runs on the target (or could not be activated). */
    MIGRATE_DONE(0x68, 1024),
    /** Migration channel: either side gives the migration up; the source's copy runs on. */
    MIGRATE_ABORT(0x69, 1024),
    /** Migration channel: a chunk of the hypervisor's native migration stream. */
    MIGRATE_STREAM(0x6A, (1 << 20) + 64),
    /** Migration channel: the native stream is complete. */
    MIGRATE_STREAM_END(0x6B, 64);

    private static final FrameType[] BY_CODE = new FrameType[256];

    /** Payload bounds shared by several types. */
    public static final class Limits {
        /** The largest data payload on the data channel: 4 MiB of data and a small header. */
        public static final int DATA = (4 << 20) + 64;

        private Limits() {
        }
    }

    static {
        for (FrameType type : values()) {
            BY_CODE[type.code] = type;
        }
    }

    private final int code;
    private final int maxPayloadBytes;

    FrameType(int code, int maxPayloadBytes) {
        this.code = code;
        this.maxPayloadBytes = maxPayloadBytes;
    }

    /** @return the type's code on the wire */
    public int code() {
        return code;
    }

    /** @return the largest payload a frame of this type may carry */
    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    /**
     * The type with the given code.
     *
     * @param code a code from the wire
     * @return the type, or null if unknown
     */
    public static FrameType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
