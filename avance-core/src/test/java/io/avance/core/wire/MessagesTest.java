package io.avance.core.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.replication.DataState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MessagesTest {

    private static Message roundTrip(Message message) {
        ByteBuf payload = Messages.encode(message, UnpooledByteBufAllocator.DEFAULT);
        try {
            assertTrue(payload.readableBytes() <= message.type().maxPayloadBytes());
            return Messages.decode(message.type(), payload);
        } finally {
            payload.release();
        }
    }

    static Message.Heartbeat heartbeat() {
        return new Message.Heartbeat(NodeId.of("alpha"), 42, 7, 99, 6, 3, Optional.of(NodeId.of("alpha")),
                PairRole.PRIMARY, DataState.UP_TO_DATE, true, false, true, Map.of("lan", true, "wan", false),
                List.of(Fault.of(Component.DISK, "sda", Severity.CRITICAL, "read errors"),
                        Fault.predicted(Component.FAN, "fan2", Severity.MINOR, "slowing down")));
    }

    @Test
    void everyMessageSurvivesEncodingAndDecoding() {
        byte[] nonce = new byte[32];
        nonce[5] = 9;
        List<Message> messages = List.of(
                new Message.Hello(0, 1, 3, NodeId.of("a"), NodeId.of("b"), nonce, 12345),
                new Message.Auth(new byte[32]),
                new Message.Ready(1),
                heartbeat(),
                new Message.PromoteRequest(5, NodeId.of("b")),
                new Message.PromoteReply(5, false, 6, "this node is primary of epoch 4"),
                new Message.Handover(6, NodeId.of("b"), 77, 1234),
                new Message.RebootRequest(6, 2, 0x1234_5678_9abcL, "the private link is down while the backup runs"));
        for (Message message : messages) {
            assertEquals(message, roundTrip(message), message.type().name());
        }
    }

    @Test
    void longFaultDescriptionsAreCutAtACharacterBoundary() {
        String description = "é".repeat(200);
        Message.Heartbeat original = new Message.Heartbeat(NodeId.of("a"), 1, 1, 0, 0, 0, Optional.empty(),
                PairRole.UNDECIDED, DataState.UP_TO_DATE, false, false, false, Map.of(),
                List.of(Fault.of(Component.DISK, "sda", Severity.MAJOR, description)));
        Message.Heartbeat decoded = (Message.Heartbeat) roundTrip(original);
        String received = decoded.faults().get(0).description();
        assertEquals(Messages.FAULT_DESCRIPTION_BYTES / 2, received.length());
        assertTrue(description.startsWith(received));
    }

    @Test
    void truncatedOrPaddedPayloadsAreRejectedWithTheFieldNamed() {
        ByteBuf payload = Messages.encode(heartbeat(), UnpooledByteBufAllocator.DEFAULT);
        try {
            for (int length = 0; length < payload.readableBytes(); length++) {
                ByteBuf truncated = payload.slice(0, length);
                ProtocolException e = assertThrows(ProtocolException.class,
                        () -> Messages.decode(FrameType.HEARTBEAT, truncated), "length " + length);
                assertTrue(e.getMessage().startsWith("HEARTBEAT"), e.getMessage());
            }
            ByteBuf padded = Unpooled.buffer().writeBytes(payload.duplicate()).writeByte(0);
            assertTrue(assertThrows(ProtocolException.class, () -> Messages.decode(FrameType.HEARTBEAT, padded))
                    .getMessage().contains("trailing"));
        } finally {
            payload.release();
        }
    }

    @Test
    void unknownCodesAndBadIdsAreRejected() {
        ByteBuf payload = Messages.encode(heartbeat(), UnpooledByteBufAllocator.DEFAULT);
        try {
            int roleOffset = 1 + 5 + 8 * 5 + 1 + 5;
            ByteBuf badRole = payload.copy();
            try {
                badRole.setByte(roleOffset, 9);
                assertTrue(assertThrows(ProtocolException.class, () -> Messages.decode(FrameType.HEARTBEAT, badRole))
                        .getMessage().contains("unknown role code 9"));
            } finally {
                badRole.release();
            }
            ByteBuf badId = payload.copy();
            try {
                badId.setByte(1, '!');
                assertTrue(assertThrows(ProtocolException.class, () -> Messages.decode(FrameType.HEARTBEAT, badId))
                        .getMessage().contains("node id"));
            } finally {
                badId.release();
            }
        } finally {
            payload.release();
        }
    }
}
