package io.avance.core.link;

import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.Message;
import io.avance.core.wire.Messages;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/**
 * Writes messages as frames. Stateless and shared by every connection.
 */
@ChannelHandler.Sharable
final class MessageEncoder extends MessageToByteEncoder<Message> {

    static final MessageEncoder INSTANCE = new MessageEncoder();

    private MessageEncoder() {
        super(Message.class);
    }

    @Override
    protected void encode(ChannelHandlerContext context, Message message, ByteBuf out) {
        ByteBuf payload = Messages.encode(message, context.alloc());
        try {
            FrameFormat.write(out, message.type(), payload);
        } finally {
            payload.release();
        }
    }
}
