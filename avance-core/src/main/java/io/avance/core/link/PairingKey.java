package io.avance.core.link;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The pairing secret, and the MACs derived from it. The secret itself never leaves this object
 * and never goes on the wire.
 *
 * <ul>
 *   <li>Link authentication: {@code HMAC-SHA256(secret, "avance/link-auth/v1" || side ||
 *       len(dialerHello) || dialerHello || len(acceptorHello) || acceptorHello)}, where {@code side}
 *       is {@code 'D'} for the dialer's proof and {@code 'A'} for the acceptor's. Binding both
 *       hellos (with their nonces, node ids and versions) makes a proof useless on any other
 *       connection; binding the side stops a proof being reflected back to its sender.</li>
 *   <li>Datagrams: {@code HMAC-SHA256(k, datagram)} truncated to 16 bytes, where
 *       {@code k = HMAC-SHA256(secret, "avance/public-heartbeat/v1")}.</li>
 * </ul>
 * Thread-safe.
 */
public final class PairingKey {

    /** Bytes of MAC appended to each datagram. */
    public static final int DATAGRAM_MAC_BYTES = 16;

    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] LINK_LABEL = "avance/link-auth/v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATAGRAM_LABEL = "avance/public-heartbeat/v1".getBytes(StandardCharsets.US_ASCII);

    private final SecretKeySpec linkKey;
    private final SecretKeySpec datagramKey;

    /**
     * Creates the key.
     *
     * @param secret the pairing secret, at least 32 bytes; copied
     */
    public PairingKey(byte[] secret) {
        if (secret.length < 32) {
            throw new IllegalArgumentException("the pairing secret must be at least 32 bytes");
        }
        this.linkKey = new SecretKeySpec(secret.clone(), ALGORITHM);
        this.datagramKey = new SecretKeySpec(mac(linkKey, DATAGRAM_LABEL), ALGORITHM);
    }

    /** Which end of a connection a proof comes from. */
    public enum Side {
        /** The node that opened the connection. */
        DIALER('D'),
        /** The node that accepted it. */
        ACCEPTOR('A');

        private final byte code;

        Side(char code) {
            this.code = (byte) code;
        }
    }

    /**
     * The proof one side sends.
     *
     * @param side          whose proof
     * @param dialerHello   the dialer's HELLO payload as sent
     * @param acceptorHello the acceptor's HELLO payload as sent
     * @return 32 bytes
     */
    public byte[] linkProof(Side side, byte[] dialerHello, byte[] acceptorHello) {
        ByteBuffer input = ByteBuffer.allocate(LINK_LABEL.length + 1 + 4 + dialerHello.length + 4
                + acceptorHello.length);
        input.put(LINK_LABEL).put(side.code).putInt(dialerHello.length).put(dialerHello)
                .putInt(acceptorHello.length).put(acceptorHello);
        return mac(linkKey, input.array());
    }

    /**
     * Checks a proof in constant time.
     *
     * @param side          whose proof it claims to be
     * @param dialerHello   the dialer's HELLO payload
     * @param acceptorHello the acceptor's HELLO payload
     * @param proof         the proof received
     * @return true if it is right
     */
    public boolean verifyLinkProof(Side side, byte[] dialerHello, byte[] acceptorHello, byte[] proof) {
        return MessageDigest.isEqual(linkProof(side, dialerHello, acceptorHello), proof);
    }

    /**
     * The MAC of a datagram's body.
     *
     * @param data   the bytes
     * @param offset where they start
     * @param length how many
     * @return {@value #DATAGRAM_MAC_BYTES} bytes
     */
    public byte[] datagramMac(byte[] data, int offset, int length) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(datagramKey);
            mac.update(data, offset, length);
            return Arrays.copyOf(mac.doFinal(), DATAGRAM_MAC_BYTES);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is unavailable", e);
        }
    }

    /**
     * Checks a datagram's MAC in constant time.
     *
     * @param data   the bytes
     * @param offset where the body starts
     * @param length the body's length
     * @param mac    the MAC received
     * @return true if it is right
     */
    public boolean verifyDatagram(byte[] data, int offset, int length, byte[] mac) {
        return MessageDigest.isEqual(datagramMac(data, offset, length), mac);
    }

    private static byte[] mac(SecretKeySpec key, byte[] input) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac.doFinal(input);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is unavailable", e);
        }
    }

    @Override
    public String toString() {
        return "PairingKey[redacted]";
    }
}
