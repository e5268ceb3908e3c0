package io.avance.testkit.hypervisor;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Everything a simulated guest needs to go on that is not in its memory: its "registers".
 *
 * <pre>
 *  +0   int   magic 0x41564453 "AVDS"
 *  +4   int   format version (1)
 *  +8   byte  program: 0 kv, 1 idle
 *  +9   long  memory size in bytes (must match the target's spec)
 *  +17  long  boot id (a migration is the same boot, so it moves unchanged)
 *  +25  long  last log sequence number
 *  +33  long  log append offset
 *  +41  long  memory dirtier's random state
 *  +49  long  disk writer's random state
 *  +57  int   CRC32C of every byte before it
 * </pre>
 *
 * @param program       the guest program
 * @param memoryBytes   the guest's memory size
 * @param bootId        the boot this guest is in
 * @param lastSequence  the sequence number of the last PUT logged (kv), 0 otherwise
 * @param appendOffset  where the next log record goes (kv), 0 otherwise
 * @param dirtierState  the memory dirtier's generator state
 * @param diskState     the disk writer's generator state
 */
record DeviceState(GuestOptions.Program program, long memoryBytes, long bootId, long lastSequence,
                   long appendOffset, long dirtierState, long diskState) {

    static final int MAGIC = 0x41564453;
    static final int VERSION = 1;
    static final int BYTES = 61;

    /** @return the encoded state */
    byte[] encode() {
        ByteBuffer buffer = ByteBuffer.allocate(BYTES);
        buffer.putInt(MAGIC).putInt(VERSION).put((byte) program.ordinal()).putLong(memoryBytes).putLong(bootId)
                .putLong(lastSequence).putLong(appendOffset).putLong(dirtierState).putLong(diskState);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, buffer.position());
        buffer.putInt((int) crc.getValue());
        return buffer.array();
    }

    /**
     * Decodes a saved state.
     *
     * @param bytes what {@link #encode()} produced on the source
     * @return the state
     * @throws IllegalArgumentException saying what is wrong with the bytes
     */
    static DeviceState decode(byte[] bytes) {
        if (bytes == null || bytes.length != BYTES) {
            throw new IllegalArgumentException("device state of the simulated hypervisor is " + BYTES
                    + " bytes, got " + (bytes == null ? "none" : bytes.length));
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        try {
            int magic = buffer.getInt();
            int version = buffer.getInt();
            if (magic != MAGIC) {
                throw new IllegalArgumentException(String.format(
                        "not a device state of the simulated hypervisor (magic %08x)", magic));
            }
            if (version != VERSION) {
                throw new IllegalArgumentException("device state version " + version + ", this hypervisor reads "
                        + VERSION);
            }
            CRC32C crc = new CRC32C();
            crc.update(bytes, 0, BYTES - 4);
            if ((int) crc.getValue() != ByteBuffer.wrap(bytes, BYTES - 4, 4).getInt()) {
                throw new IllegalArgumentException("device state damaged: bad CRC32C");
            }
            int program = buffer.get();
            if (program < 0 || program >= GuestOptions.Program.values().length) {
                throw new IllegalArgumentException("device state names program " + program);
            }
            return new DeviceState(GuestOptions.Program.values()[program], buffer.getLong(), buffer.getLong(),
                    buffer.getLong(), buffer.getLong(), buffer.getLong(), buffer.getLong());
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("device state truncated", e);
        }
    }
}
