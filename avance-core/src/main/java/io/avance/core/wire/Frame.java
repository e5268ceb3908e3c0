package io.avance.core.wire;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.Objects;

/**
 * One decoded frame: its type and payload.
 *
 * <p>The frame owns its payload. Whoever receives a frame must {@link #release()} it exactly once.
 *
 * @param type    the frame type
 * @param payload the payload bytes, from reader index to writer index
 */
public record Frame(FrameType type, ByteBuf payload) implements ReferenceCounted {

    /**
     * Validates the fields.
     */
    public Frame {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(payload, "payload");
    }

    @Override
    public int refCnt() {
        return payload.refCnt();
    }

    @Override
    public Frame retain() {
        payload.retain();
        return this;
    }

    @Override
    public Frame retain(int increment) {
        payload.retain(increment);
        return this;
    }

    @Override
    public Frame touch() {
        payload.touch();
        return this;
    }

    @Override
    public Frame touch(Object hint) {
        payload.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return payload.release();
    }

    @Override
    public boolean release(int decrement) {
        return payload.release(decrement);
    }
}
