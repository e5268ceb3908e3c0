package io.avance.core.link;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PairingKeyTest {

    @Test
    void aProofIsBoundToItsSideAndToBothHellos() {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 3);
        PairingKey key = new PairingKey(secret);
        byte[] dialer = {1, 2, 3};
        byte[] acceptor = {4, 5, 6};
        byte[] proof = key.linkProof(PairingKey.Side.DIALER, dialer, acceptor);
        assertTrue(key.verifyLinkProof(PairingKey.Side.DIALER, dialer, acceptor, proof));
        assertFalse(key.verifyLinkProof(PairingKey.Side.ACCEPTOR, dialer, acceptor, proof), "reflected proof");
        assertFalse(key.verifyLinkProof(PairingKey.Side.DIALER, acceptor, dialer, proof), "hellos swapped");
        assertFalse(key.verifyLinkProof(PairingKey.Side.DIALER, new byte[] {1, 2, 4}, acceptor, proof), "other nonce");
        byte[] other = secret.clone();
        other[0] = 9;
        assertFalse(new PairingKey(other).verifyLinkProof(PairingKey.Side.DIALER, dialer, acceptor, proof));
    }

    @Test
    void shortSecretsAreRefusedAndNeverPrinted() {
        assertThrows(IllegalArgumentException.class, () -> new PairingKey(new byte[16]));
        assertTrue(new PairingKey(new byte[32]).toString().contains("redacted"));
    }
}
