package io.avance.core.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

class MessagesProperties {

    @Provide
    Arbitrary<Message.Heartbeat> heartbeats() {
        Arbitrary<NodeId> ids = Arbitraries.strings().withChars("abcxyz0123456789-._").ofMinLength(1).ofMaxLength(20)
                .filter(s -> Character.isLetterOrDigit(s.charAt(0))).map(NodeId::of);
        Arbitrary<Fault> faults = Combinators.combine(Arbitraries.of(Component.class),
                Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(30), Arbitraries.of(Severity.class),
                Arbitraries.of(true, false), Arbitraries.strings().ofMaxLength(40))
                .as(Fault::new);
        Arbitrary<List<Fault>> faultLists = faults.list().ofMaxSize(10).map(list -> {
            List<Fault> unique = new ArrayList<>();
            for (Fault fault : list) {
                if (unique.stream().noneMatch(fault::sameIdentity)) {
                    unique.add(fault);
                }
            }
            return unique;
        });
        Arbitrary<Map<String, Boolean>> networks = Arbitraries.maps(
                Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(10), Arbitraries.of(true, false)).ofMaxSize(4)
                .map(LinkedHashMap::new);
        Arbitrary<Long> positive = Arbitraries.longs().between(0, Long.MAX_VALUE);
        return Combinators.combine(ids, positive, positive, positive, positive, positive,
                ids.optional(), Arbitraries.of(PairRole.class)).as(
                (sender, incarnation, seq, echoIncarnation, echoSeq, epoch, primary, role) -> new Object[] {sender,
                    incarnation, seq, echoIncarnation, echoSeq, epoch, primary, role})
                .flatMap(parts -> Combinators.combine(Arbitraries.of(DataState.class), Arbitraries.of(true, false),
                        Arbitraries.of(true, false), Arbitraries.of(true, false), networks, faultLists)
                        .as((data, maintenance, down, degraded, up, list) ->
                        new Message.Heartbeat((NodeId) parts[0], (Long) parts[1], (Long) parts[2], (Long) parts[3],
                                (Long) parts[4], (Long) parts[5], castOptional(parts[6]), (PairRole) parts[7], data,
                                maintenance, down, degraded, up, list)));
    }

    @SuppressWarnings("unchecked")
    private static Optional<NodeId> castOptional(Object value) {
        return (Optional<NodeId>) value;
    }

    @Property(tries = 500)
    void heartbeatsSurviveTheWire(@ForAll("heartbeats") Message.Heartbeat heartbeat) {
        ByteBuf payload = Messages.encode(heartbeat, UnpooledByteBufAllocator.DEFAULT);
        try {
            Message.Heartbeat decoded = (Message.Heartbeat) Messages.decode(FrameType.HEARTBEAT, payload);
            assertEquals(heartbeat.sender(), decoded.sender());
            assertEquals(heartbeat.seq(), decoded.seq());
            assertEquals(heartbeat.epoch(), decoded.epoch());
            assertEquals(heartbeat.epochPrimary(), decoded.epochPrimary());
            assertEquals(heartbeat.role(), decoded.role());
            assertEquals(heartbeat.publicNetworksUp(), decoded.publicNetworksUp());
            assertEquals(heartbeat.faults().size(), decoded.faults().size());
            for (int i = 0; i < decoded.faults().size(); i++) {
                assertTrue(decoded.faults().get(i).sameIdentity(heartbeat.faults().get(i)));
                assertEquals(heartbeat.faults().get(i).weight(), decoded.faults().get(i).weight());
            }
        } finally {
            payload.release();
        }
    }

    @Property(tries = 2000)
    void randomPayloadsNeverEscapeAsAnythingButProtocolException(@ForAll @Size(max = 300) byte[] bytes) {
        for (FrameType type : FrameType.values()) {
            try {
                Messages.decode(type, Unpooled.wrappedBuffer(bytes));
            } catch (ProtocolException expected) {
                assertTrue(expected.getMessage().startsWith(type.name()), expected.getMessage());
            }
        }
    }
}
