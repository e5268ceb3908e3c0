/**
 * The private link's wire format: frames and the messages they carry.
 *
 * <p>Every frame has a 16-byte header (magic, version, type, flags, payload length, CRC32C) and a
 * bounded payload. {@link io.avance.core.wire.FrameDecoder} rejects, with a
 * {@link io.avance.core.wire.ProtocolException} that says what it saw, anything it does not
 * understand: a wrong magic, an unknown version, type or flag, a length above the type's bound, a
 * checksum that does not match. Message codecs ({@link io.avance.core.wire.Messages}) bound every
 * field they read. The format is specified in {@code docs/protocol.md}; a change to either must
 * change both.
 *
 * <p>Buffer ownership: a decoded {@link io.avance.core.wire.Frame} owns its payload, and whoever
 * receives the frame releases it (normally right after decoding its message). Messages are plain
 * records that hold no buffers.
 */
package io.avance.core.wire;
