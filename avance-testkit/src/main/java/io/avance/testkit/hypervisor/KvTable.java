package io.avance.testkit.hypervisor;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The kv guest's hash table, laid out in guest memory: nothing of it lives on the Java heap, so
 * copying the guest's pages copies the table.
 *
 * <pre>
 *  header page (address 0)                slot (256 bytes, 16 per page, from address 4096)
 *  +0  int   magic 0x41564B54 "AVKT"      +0  byte  state: 0 empty, 1 used
 *  +4  int   layout version (1)           +1  byte  key length (1-64)
 *  +8  long  slot count (a power of two)  +2  short value length (1-184)
 *  +16 long  key count                    +4  int   key hash
 *                                         +8  64 bytes key, then 184 bytes value
 * </pre>
 * Open addressing with linear probing. There is no delete, so there are no tombstones. The
 * table takes at most three quarters of its slots ({@link #maxKeys()}), which keeps probes short.
 *
 * <p>Not thread-safe: the guest calls it from one thread at a time (its kv lock).
 */
final class KvTable {

    static final int MAGIC = 0x41564B54;
    static final int VERSION = 1;
    /** The longest key, in bytes of printable ASCII. */
    static final int MAX_KEY = 64;
    /** The longest value, in bytes of printable ASCII. */
    static final int MAX_VALUE = 184;

    private static final int STATE = 0;
    private static final int KEY_LENGTH = 1;
    private static final int VALUE_LENGTH = 2;
    private static final int HASH = 4;
    private static final int KEY = 8;
    private static final int VALUE = KEY + MAX_KEY;

    private final GuestRam ram;
    private final long slots;
    private final long maxKeys;

    private KvTable(GuestRam ram, long slots) {
        this.ram = ram;
        this.slots = slots;
        this.maxKeys = slots / 4 * 3;
    }

    /**
     * Writes an empty table into zeroed memory (a boot).
     *
     * @param ram    the guest's memory, all zeros
     * @param layout where the table goes
     * @return the table
     */
    static KvTable format(GuestRam ram, GuestLayout layout) {
        ram.putInt(GuestLayout.HEADER_ADDRESS, MAGIC);
        ram.putInt(GuestLayout.HEADER_ADDRESS + 4, VERSION);
        ram.putLong(GuestLayout.HEADER_ADDRESS + 8, layout.tableSlots());
        ram.putLong(GuestLayout.HEADER_ADDRESS + 16, 0);
        return new KvTable(ram, layout.tableSlots());
    }

    /**
     * Finds the table in memory that arrived by migration.
     *
     * @param ram    the guest's memory
     * @param layout where the table should be
     * @return the table
     * @throws IllegalStateException if the memory does not hold a table of that layout
     */
    static KvTable attach(GuestRam ram, GuestLayout layout) {
        int magic = ram.getInt(GuestLayout.HEADER_ADDRESS);
        int version = ram.getInt(GuestLayout.HEADER_ADDRESS + 4);
        long slots = ram.getLong(GuestLayout.HEADER_ADDRESS + 8);
        if (magic != MAGIC || version != VERSION) {
            throw new IllegalStateException(String.format("guest memory holds no kv table (magic %08x, version %d)",
                    magic, version));
        }
        if (slots != layout.tableSlots()) {
            throw new IllegalStateException("the kv table in guest memory has " + slots + " slots, a guest of "
                    + layout.memoryBytes() + " bytes has " + layout.tableSlots());
        }
        KvTable table = new KvTable(ram, slots);
        if (table.size() < 0 || table.size() > table.maxKeys) {
            throw new IllegalStateException("the kv table in guest memory claims " + table.size() + " keys");
        }
        return table;
    }

    /** @return how many keys the table holds */
    long size() {
        return ram.getLong(GuestLayout.HEADER_ADDRESS + 16);
    }

    /** @return how many keys the table can hold */
    long maxKeys() {
        return maxKeys;
    }

    /**
     * Tells whether a put of the key would succeed.
     *
     * @param key the key
     * @return true if the key is there already or there is room for one more
     */
    boolean fits(byte[] key) {
        return size() < maxKeys || find(key, hash(key)) >= 0;
    }

    /**
     * Stores a value.
     *
     * @param key   1-64 bytes
     * @param value 1-184 bytes
     * @return true if the key is new
     * @throws IllegalStateException if the key is new and the table is full
     */
    boolean put(byte[] key, byte[] value) {
        checkLengths(key, value);
        int hash = hash(key);
        long slot = index(hash);
        while (true) {
            long address = address(slot);
            if (ram.getByte(address + STATE) == 0) {
                long size = size();
                if (size >= maxKeys) {
                    throw new IllegalStateException("table full");
                }
                ram.putBytes(address + KEY, key, 0, key.length);
                ram.putBytes(address + VALUE, value, 0, value.length);
                ram.putByte(address + KEY_LENGTH, (byte) key.length);
                ram.putShort(address + VALUE_LENGTH, (short) value.length);
                ram.putInt(address + HASH, hash);
                ram.putByte(address + STATE, (byte) 1);
                ram.putLong(GuestLayout.HEADER_ADDRESS + 16, size + 1);
                return true;
            }
            if (matches(address, key, hash)) {
                ram.putBytes(address + VALUE, value, 0, value.length);
                ram.putShort(address + VALUE_LENGTH, (short) value.length);
                return false;
            }
            slot = (slot + 1) & (slots - 1);
        }
    }

    /**
     * Reads a value.
     *
     * @param key the key
     * @return its value, if stored
     */
    Optional<byte[]> get(byte[] key) {
        long slot = find(key, hash(key));
        if (slot < 0) {
            return Optional.empty();
        }
        long address = address(slot);
        int length = ram.getShort(address + VALUE_LENGTH);
        if (length < 1 || length > MAX_VALUE) {
            throw new IllegalStateException("slot " + slot + " holds a value length of " + length);
        }
        byte[] value = new byte[length];
        ram.getBytes(address + VALUE, value, 0, length);
        return Optional.of(value);
    }

    /** Convenience for tests and messages. */
    Optional<String> get(String key) {
        return get(key.getBytes(StandardCharsets.US_ASCII)).map(v -> new String(v, StandardCharsets.US_ASCII));
    }

    private long find(byte[] key, int hash) {
        long slot = index(hash);
        for (long probes = 0; probes < slots; probes++) {
            long address = address(slot);
            if (ram.getByte(address + STATE) == 0) {
                return -1;
            }
            if (matches(address, key, hash)) {
                return slot;
            }
            slot = (slot + 1) & (slots - 1);
        }
        return -1;
    }

    private boolean matches(long address, byte[] key, int hash) {
        if (ram.getInt(address + HASH) != hash || ram.getByte(address + KEY_LENGTH) != key.length) {
            return false;
        }
        byte[] stored = new byte[key.length];
        ram.getBytes(address + KEY, stored, 0, key.length);
        return java.util.Arrays.equals(stored, key);
    }

    private long index(int hash) {
        // Spread the bits so that keys differing only in their last characters land apart.
        long mixed = (hash & 0xFFFFFFFFL) * 0x9E3779B97F4A7C15L;
        return (mixed >>> 20) & (slots - 1);
    }

    private static long address(long slot) {
        return GuestLayout.TABLE_ADDRESS + slot * GuestLayout.SLOT_BYTES;
    }

    /** FNV-1a, 32 bits: cheap, and good enough for a linear-probing table. */
    static int hash(byte[] key) {
        int hash = 0x811C9DC5;
        for (byte b : key) {
            hash ^= b & 0xFF;
            hash *= 0x01000193;
        }
        return hash;
    }

    private static void checkLengths(byte[] key, byte[] value) {
        if (key.length < 1 || key.length > MAX_KEY || value.length < 1 || value.length > MAX_VALUE) {
            throw new IllegalArgumentException("key of " + key.length + " bytes or value of " + value.length
                    + " bytes out of bounds");
        }
    }
}
