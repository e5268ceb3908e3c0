package io.avance.core.storage;

/**
 * One bit per block of a volume: set when the block may differ from the peer's copy.
 *
 * <p>Not thread-safe: owned by its volume's I/O thread. {@link #cardinality()} may be read from
 * any thread.
 */
public final class DirtyBitmap {

    private final long[] words;
    private final long blocks;
    private final int blockShift;
    private volatile long cardinality;

    /**
     * Creates a clean bitmap.
     *
     * @param volumeBytes    the volume's size
     * @param blockSizeBytes bytes per bit, a power of two
     */
    public DirtyBitmap(long volumeBytes, int blockSizeBytes) {
        if (Integer.bitCount(blockSizeBytes) != 1) {
            throw new IllegalArgumentException("block size must be a power of two: " + blockSizeBytes);
        }
        this.blockShift = Integer.numberOfTrailingZeros(blockSizeBytes);
        this.blocks = (volumeBytes + blockSizeBytes - 1) >>> blockShift;
        this.words = new long[(int) ((blocks + 63) >>> 6)];
    }

    /** @return how many blocks the bitmap covers */
    public long blocks() {
        return blocks;
    }

    /** @return bytes per bit */
    public int blockSizeBytes() {
        return 1 << blockShift;
    }

    /** @return log2 of bytes per bit */
    public int blockShift() {
        return blockShift;
    }

    /** @return the words, for persistence and transfer; do not modify */
    long[] words() {
        return words;
    }

    /** @return how many blocks are dirty */
    public long cardinality() {
        return cardinality;
    }

    /** @return dirty bytes (dirty blocks times block size) */
    public long dirtyBytes() {
        return cardinality << blockShift;
    }

    /**
     * The first block touched by a byte range.
     *
     * @param offset where the range starts
     * @return the block index
     */
    public long firstBlock(long offset) {
        return offset >>> blockShift;
    }

    /**
     * The block after the last one touched by a byte range.
     *
     * @param offset where the range starts
     * @param length how long it is (positive)
     * @return the exclusive end block index
     */
    public long endBlock(long offset, long length) {
        return (offset + length + (1L << blockShift) - 1) >>> blockShift;
    }

    /**
     * Tells whether a block is dirty.
     *
     * @param block the block index
     * @return true if set
     */
    public boolean get(long block) {
        return (words[(int) (block >>> 6)] & (1L << block)) != 0;
    }

    /**
     * Marks a range of blocks dirty.
     *
     * @param from first block
     * @param to   end block, exclusive
     */
    public void set(long from, long to) {
        long added = 0;
        for (long block = from; block < to; block++) {
            int word = (int) (block >>> 6);
            long mask = 1L << block;
            if ((words[word] & mask) == 0) {
                words[word] |= mask;
                added++;
            }
        }
        cardinality += added;
    }

    /**
     * Marks every block dirty.
     */
    public void setAll() {
        set(0, blocks);
    }

    /**
     * Marks a range of blocks clean.
     *
     * @param from first block
     * @param to   end block, exclusive
     */
    public void clear(long from, long to) {
        long removed = 0;
        for (long block = from; block < to; block++) {
            int word = (int) (block >>> 6);
            long mask = 1L << block;
            if ((words[word] & mask) != 0) {
                words[word] &= ~mask;
                removed++;
            }
        }
        cardinality -= removed;
    }

    /**
     * Marks every block clean.
     */
    public void clearAll() {
        java.util.Arrays.fill(words, 0);
        cardinality = 0;
    }

    /**
     * Adds another bitmap's dirty blocks to this one.
     *
     * @param otherWords the other bitmap's words, for a volume of the same size and block size
     */
    public void or(long[] otherWords) {
        if (otherWords.length != words.length) {
            throw new IllegalArgumentException("bitmaps of different sizes: " + otherWords.length + " and "
                    + words.length + " words");
        }
        long count = 0;
        for (int i = 0; i < words.length; i++) {
            words[i] |= otherWords[i];
            count += Long.bitCount(words[i]);
        }
        cardinality = count;
    }

    /**
     * Replaces the content.
     *
     * @param otherWords the words to copy
     */
    public void load(long[] otherWords) {
        clearAll();
        or(otherWords);
    }

    /**
     * The next dirty block at or after a block.
     *
     * @param from where to start looking
     * @return the block, or -1 if none
     */
    public long nextSet(long from) {
        if (from >= blocks) {
            return -1;
        }
        int word = (int) (from >>> 6);
        long bits = words[word] & (-1L << from);
        while (true) {
            if (bits != 0) {
                long block = ((long) word << 6) + Long.numberOfTrailingZeros(bits);
                return block < blocks ? block : -1;
            }
            if (++word == words.length) {
                return -1;
            }
            bits = words[word];
        }
    }

    /**
     * The next clean block at or after a block.
     *
     * @param from where to start looking
     * @return the block, or {@link #blocks()} if none
     */
    public long nextClear(long from) {
        long block = from;
        while (block < blocks && get(block)) {
            if ((block & 63) == 0 && words[(int) (block >>> 6)] == -1L) {
                block += 64;
            } else {
                block++;
            }
        }
        return Math.min(block, blocks);
    }

    /**
     * Tells whether any block in a range is dirty.
     *
     * @param from first block
     * @param to   end block, exclusive
     * @return true if one is
     */
    public boolean anySet(long from, long to) {
        long next = nextSet(from);
        return next >= 0 && next < to;
    }
}
