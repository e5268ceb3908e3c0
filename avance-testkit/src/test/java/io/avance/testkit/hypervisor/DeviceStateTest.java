package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The device state's encoding: it round-trips, and damage is named, not misread. */
class DeviceStateTest {

    private static final DeviceState STATE = new DeviceState(GuestOptions.Program.KV, 64L << 20, 0x1234_5678_9ABC_DEF0L,
            77, 4096, -5, Long.MIN_VALUE);

    @Test
    void itRoundTrips() {
        byte[] bytes = STATE.encode();
        assertEquals(DeviceState.BYTES, bytes.length);
        assertEquals(STATE, DeviceState.decode(bytes));
    }

    @Test
    void damageIsRefusedSayingWhat() {
        byte[] flipped = STATE.encode();
        flipped[30] ^= 1;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceState.decode(flipped)).getMessage()
                .contains("CRC"));
        byte[] foreign = STATE.encode();
        foreign[0] = 'X';
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceState.decode(foreign)).getMessage()
                .contains("magic"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceState.decode(new byte[10])).getMessage()
                .contains("61 bytes"));
        assertThrows(IllegalArgumentException.class, () -> DeviceState.decode(null));
    }
}
