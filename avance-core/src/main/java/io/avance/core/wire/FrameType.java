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
    /** A node claims or renews an epoch at the quorum witness. */
    WITNESS_CLAIM(0x20, 128),
    /** The quorum witness's answer. */
    WITNESS_ANSWER(0x21, 128);

    private static final FrameType[] BY_CODE = new FrameType[256];

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
