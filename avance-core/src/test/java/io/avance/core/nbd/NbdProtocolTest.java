package io.avance.core.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.api.event.PairEvent;
import io.avance.api.replication.VolumeSpec;
import io.avance.core.replication.ReplicatedVolume;
import io.avance.core.replication.VolumeManager;
import io.avance.core.storage.BlockStoreFactory;
import io.avance.core.time.NanoClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NBD server byte by byte, with a client written here to send what real clients never do:
 * bad magic, out-of-range offsets, oversized lengths, unknown commands and options. Each gets
 * the spec's answer; the server keeps serving and the volume is never touched by a bad request.
 */
class NbdProtocolTest {

    private static final long SIZE = 64 << 20;

    @TempDir
    Path directory;

    private VolumeManager volumes;
    private NbdServer server;
    private volatile boolean serving = true;
    /** The exports a VM arriving by migration would open here while this node does not serve. */
    private volatile Set<String> readCopy = Set.of();

    @BeforeEach
    void start() throws IOException {
        volumes = new VolumeManager(new StandaloneNode(), directory, BlockStoreFactory.files(), 0, NanoClock.system(),
                Clock.systemUTC(), new SimpleMeterRegistry());
        volumes.open(VolumeSpec.of("disk", SIZE), Optional.empty());
        volumes.open(VolumeSpec.of("other", SIZE), Optional.empty());
        server = new NbdServer(new InetSocketAddress("127.0.0.1", 0), new NbdExports() {
            @Override
            public List<String> names() {
                return volumes.all().stream().map(ReplicatedVolume::name).toList();
            }

            @Override
            public Optional<ReplicatedVolume> volume(String name) {
                return volumes.volume(name);
            }

            @Override
            public boolean mayServe() {
                return serving;
            }

            @Override
            public boolean mayReadCopy(String name) {
                return readCopy.contains(name);
            }

            @Override
            public String notServingReason() {
                return "node test is the backup; connect to the primary, node other";
            }
        }, new SimpleMeterRegistry(), "test");
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
        volumes.close();
    }

    @Test
    void badInputGetsTheSpecsErrorsAndNeverTouchesTheVolume() throws Exception {
        try (Client client = Client.connect(server, "disk", false)) {
            byte[] data = random(4096, 1);
            client.write(1, 0, 0, data);
            assertEquals(0, client.simpleReply(1, 0));
            Path before = directory.resolve("disk-before.img");
            java.nio.file.Files.copy(directory.resolve("disk.img"), before);

            client.request(2, NbdProtocol.CMD_READ, 0, SIZE - 512, 1024);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(2, 0));
            client.write(3, 0, SIZE - 100, random(4096, 2));
            assertEquals(NbdProtocol.ENOSPC, client.simpleReply(3, 0));
            client.request(4, NbdProtocol.CMD_WRITE_ZEROES, 0, SIZE, 1);
            assertEquals(NbdProtocol.ENOSPC, client.simpleReply(4, 0));
            client.request(5, NbdProtocol.CMD_TRIM, 0, -4096L, 8192);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(5, 0));
            client.request(6, NbdProtocol.CMD_READ, 0, Long.MAX_VALUE, 0xFFFF_FFFFL);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(6, 0));
            // Oversized: a read over the maximum payload, a write whose payload is read and dropped.
            client.request(7, NbdProtocol.CMD_READ, 0, 0, 33 << 20);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(7, 0));
            client.write(8, 0, 0, new byte[(32 << 20) + 1]);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(8, 0));
            // Unknown commands and flags.
            client.request(9, 99, 0, 0, 4096);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(9, 0));
            client.request(10, NbdProtocol.CMD_CACHE, 0, 0, 4096);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(10, 0));
            client.write(11, NbdProtocol.CMD_FLAG_REQ_ONE, 0, random(512, 3));
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(11, 0));
            client.request(12, NbdProtocol.CMD_FLUSH, 0, 4096, 0);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(12, 0));
            client.request(13, NbdProtocol.CMD_BLOCK_STATUS, 0, 0, 4096);
            assertEquals(NbdProtocol.EINVAL, client.simpleReply(13, 0));

            // The connection still works, and the volume holds exactly what the good write put there.
            client.request(14, NbdProtocol.CMD_READ, 0, 0, 4096);
            assertEquals(0, client.simpleReply(14, 4096));
            assertArrayEquals(data, client.lastData);
            assertEquals(-1L, java.nio.file.Files.mismatch(before, directory.resolve("disk.img")),
                    "a refused request changed the volume");
        }
    }

    @Test
    void aBadRequestMagicClosesThatConnectionOnly() throws Exception {
        try (Client bad = Client.connect(server, "disk", false); Client good = Client.connect(server, "disk", false)) {
            bad.out.writeInt(0x12345678);
            bad.out.write(new byte[24]);
            bad.out.flush();
            assertThrows(EOFException.class, () -> bad.in.readInt());
            good.request(1, NbdProtocol.CMD_FLUSH, 0, 0, 0);
            assertEquals(0, good.simpleReply(1, 0));
        }
        try (Client again = Client.connect(server, "disk", false)) {
            again.request(1, NbdProtocol.CMD_READ, 0, 0, 512);
            assertEquals(0, again.simpleReply(1, 512));
        }
    }

    @Test
    void structuredRepliesCarryErrorMessagesAndBlockStatus() throws Exception {
        try (Client client = Client.connect(server, "disk", true)) {
            client.request(1, NbdProtocol.CMD_READ, 0, SIZE, 512);
            Client.Chunk error = client.chunk();
            assertEquals(NbdProtocol.REPLY_TYPE_ERROR, error.type);
            assertEquals(NbdProtocol.EINVAL, error.error);
            assertTrue(error.message.contains("beyond the export"), error.message);

            client.request(2, NbdProtocol.CMD_READ, 0, 0, 33 << 20);
            assertEquals(NbdProtocol.EOVERFLOW, client.chunk().error);

            client.write(3, NbdProtocol.CMD_FLAG_FUA, 4096, random(8192, 4));
            assertEquals(0, client.simpleReply(3, 0));
            client.request(4, NbdProtocol.CMD_READ, NbdProtocol.CMD_FLAG_DF, 4096, 8192);
            Client.Chunk data = client.chunk();
            assertEquals(NbdProtocol.REPLY_TYPE_OFFSET_DATA, data.type);
            assertEquals(4096, data.offset);
            assertArrayEquals(random(8192, 4), data.data);
            assertTrue(data.done);

            client.request(5, NbdProtocol.CMD_BLOCK_STATUS, NbdProtocol.CMD_FLAG_REQ_ONE, 0, 1 << 20);
            Client.Chunk status = client.chunk();
            assertEquals(NbdProtocol.REPLY_TYPE_BLOCK_STATUS, status.type);
            assertEquals(1 << 20, status.extentLength);
        }
    }

    @Test
    void handshakeRefusalsLeaveTheClientFreeToTryAgain() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.localAddress().getPort())) {
            Client client = new Client(socket);
            client.greeting(false);
            // An option this server does not know, one too long to buffer, an unknown export.
            client.option(5, new byte[0]);
            assertEquals(NbdProtocol.REP_ERR_UNSUP, client.optionReply(5).type);
            client.option(NbdProtocol.OPT_LIST, new byte[100_000]);
            assertEquals(NbdProtocol.REP_ERR_TOO_BIG, client.optionReply(NbdProtocol.OPT_LIST).type);
            client.option(NbdProtocol.OPT_GO, Client.goData("nosuch"));
            Client.OptionReply unknown = client.optionReply(NbdProtocol.OPT_GO);
            assertEquals(NbdProtocol.REP_ERR_UNKNOWN, unknown.type);
            assertTrue(unknown.text().contains("disk"), unknown.text());
            // Not serving: a clear refusal naming the primary.
            serving = false;
            client.option(NbdProtocol.OPT_GO, Client.goData("disk"));
            Client.OptionReply policy = client.optionReply(NbdProtocol.OPT_GO);
            assertEquals(NbdProtocol.REP_ERR_POLICY, policy.type);
            assertTrue(policy.text().contains("connect to the primary"), policy.text());
            // Not serving, but a VM arriving by migration uses the export: the handshake succeeds,
            // and a write is still refused (ESHUTDOWN); a read is answered only from an up-to-date
            // copy, which this standalone volume is not.
            readCopy = Set.of("disk");
            try (Client arriving = Client.connect(server, "disk", false)) {
                arriving.write(7, 0, 0, new byte[512]);
                assertEquals(NbdProtocol.ESHUTDOWN, arriving.simpleReply(7, 0));
                arriving.request(8, NbdProtocol.CMD_READ, 0, 0, 512);
                assertEquals(NbdProtocol.ESHUTDOWN, arriving.simpleReply(8, 0));
            }
            client.option(NbdProtocol.OPT_GO, Client.goData("other"));
            assertEquals(NbdProtocol.REP_ERR_POLICY, client.optionReply(NbdProtocol.OPT_GO).type,
                    "another export stays refused");
            readCopy = Set.of();
            serving = true;
            client.option(NbdProtocol.OPT_LIST, new byte[0]);
            Set<String> listed = new HashSet<>();
            Client.OptionReply reply;
            while ((reply = client.optionReply(NbdProtocol.OPT_LIST)).type == NbdProtocol.REP_SERVER) {
                listed.add(new String(reply.data, 4, reply.data.length - 4, StandardCharsets.UTF_8));
            }
            assertEquals(NbdProtocol.REP_ACK, reply.type);
            assertEquals(Set.of("disk", "other"), listed);
            client.option(NbdProtocol.OPT_GO, Client.goData("disk"));
            client.expectGo();
            client.request(1, NbdProtocol.CMD_FLUSH, 0, 0, 0);
            assertEquals(0, client.simpleReply(1, 0));
        }
        try (Socket socket = new Socket("127.0.0.1", server.localAddress().getPort())) {
            Client client = new Client(socket);
            client.in.readLong();
            client.in.readLong();
            client.in.readShort();
            client.out.writeInt(0x80);
            client.out.flush();
            assertThrows(EOFException.class, () -> client.in.readLong(), "unknown client flags end the session");
        }
    }

    @Test
    void manyRequestsInFlightOnSeveralConnectionsAllComplete() throws Exception {
        int connections = 4;
        int perConnection = 500;
        List<CompletableFuture<Void>> runs = new java.util.ArrayList<>();
        for (int c = 0; c < connections; c++) {
            int index = c;
            runs.add(CompletableFuture.runAsync(() -> {
                try (Client client = Client.connect(server, "disk", false)) {
                    // Send everything before reading anything: the server must keep up and push back.
                    for (int i = 0; i < perConnection; i++) {
                        long offset = ((long) index * perConnection + i) * 4096 % SIZE;
                        client.write(i, 0, offset, random(4096, index * 100_000L + i));
                    }
                    client.request(perConnection, NbdProtocol.CMD_DISC, 0, 0, 0);
                    Set<Long> cookies = new HashSet<>();
                    for (int i = 0; i < perConnection; i++) {
                        assertEquals(NbdProtocol.SIMPLE_REPLY_MAGIC, client.in.readInt());
                        assertEquals(0, client.in.readInt());
                        cookies.add(client.in.readLong());
                    }
                    assertEquals(perConnection, cookies.size());
                    // After NBD_CMD_DISC and the last reply, the server closes.
                    assertThrows(EOFException.class, () -> client.in.readInt());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }));
        }
        CompletableFuture.allOf(runs.toArray(new CompletableFuture[0])).get(120, java.util.concurrent.TimeUnit.SECONDS);
        try (Client client = Client.connect(server, "disk", false)) {
            client.request(1, NbdProtocol.CMD_READ, 0, 5 * 4096, 4096);
            assertEquals(0, client.simpleReply(1, 4096));
            assertArrayEquals(random(4096, 5), client.lastData);
        }
    }

    private static byte[] random(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }

    /** A standalone primary. */
    private final class StandaloneNode implements VolumeManager.Node {
        @Override
        public NodeId id() {
            return NodeId.of("test");
        }

        @Override
        public boolean mayServe() {
            return serving;
        }

        @Override
        public boolean primary() {
            return true;
        }

        @Override
        public boolean paired() {
            return false;
        }

        @Override
        public CompletableFuture<Void> announceDegraded() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void diskFailed(String volume, String cause) {
        }

        @Override
        public void publish(PairEvent event) {
        }

        @Override
        public void audit(String action, String detail, String outcome) {
        }
    }

    /** Just enough of an NBD client to send anything. */
    static final class Client implements AutoCloseable {
        final Socket socket;
        final DataInputStream in;
        final DataOutputStream out;
        byte[] lastData;

        Client(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(30_000);
            this.in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
            this.out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
        }

        static Client connect(NbdServer server, String export, boolean structured) throws IOException {
            Client client = new Client(new Socket("127.0.0.1", server.localAddress().getPort()));
            client.greeting(true);
            if (structured) {
                client.option(NbdProtocol.OPT_STRUCTURED_REPLY, new byte[0]);
                assertEquals(NbdProtocol.REP_ACK, client.optionReply(NbdProtocol.OPT_STRUCTURED_REPLY).type);
                java.io.ByteArrayOutputStream meta = new java.io.ByteArrayOutputStream();
                DataOutputStream data = new DataOutputStream(meta);
                byte[] name = export.getBytes(StandardCharsets.UTF_8);
                byte[] query = NbdProtocol.BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);
                data.writeInt(name.length);
                data.write(name);
                data.writeInt(1);
                data.writeInt(query.length);
                data.write(query);
                client.option(NbdProtocol.OPT_SET_META_CONTEXT, meta.toByteArray());
                assertEquals(NbdProtocol.REP_META_CONTEXT, client.optionReply(NbdProtocol.OPT_SET_META_CONTEXT).type);
                assertEquals(NbdProtocol.REP_ACK, client.optionReply(NbdProtocol.OPT_SET_META_CONTEXT).type);
            }
            client.option(NbdProtocol.OPT_GO, goData(export));
            client.expectGo();
            return client;
        }

        void greeting(boolean noZeroes) throws IOException {
            assertEquals(NbdProtocol.NBDMAGIC, in.readLong());
            assertEquals(NbdProtocol.IHAVEOPT, in.readLong());
            assertEquals(NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES, in.readUnsignedShort());
            out.writeInt(NbdProtocol.CLIENT_FIXED_NEWSTYLE | (noZeroes ? NbdProtocol.CLIENT_NO_ZEROES : 0));
        }

        static byte[] goData(String export) {
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(4 + name.length + 2);
            buffer.putInt(name.length).put(name).putShort((short) 0);
            return buffer.array();
        }

        void option(int option, byte[] data) throws IOException {
            out.writeLong(NbdProtocol.IHAVEOPT);
            out.writeInt(option);
            out.writeInt(data.length);
            out.write(data);
            out.flush();
        }

        record OptionReply(int type, byte[] data) {
            String text() {
                return new String(data, StandardCharsets.UTF_8);
            }
        }

        OptionReply optionReply(int option) throws IOException {
            assertEquals(NbdProtocol.REPLY_MAGIC, in.readLong());
            assertEquals(option, in.readInt());
            int type = in.readInt();
            byte[] data = new byte[in.readInt()];
            in.readFully(data);
            return new OptionReply(type, data);
        }

        void expectGo() throws IOException {
            OptionReply reply;
            boolean export = false;
            while ((reply = optionReply(NbdProtocol.OPT_GO)).type == NbdProtocol.REP_INFO) {
                export |= ((reply.data[0] << 8) | reply.data[1]) == NbdProtocol.INFO_EXPORT;
            }
            assertEquals(NbdProtocol.REP_ACK, reply.type, reply.text());
            assertTrue(export, "NBD_INFO_EXPORT was sent");
        }

        void request(long cookie, int type, int flags, long offset, long length) throws IOException {
            out.writeInt(NbdProtocol.REQUEST_MAGIC);
            out.writeShort(flags);
            out.writeShort(type);
            out.writeLong(cookie);
            out.writeLong(offset);
            out.writeInt((int) length);
            out.flush();
        }

        void write(long cookie, int flags, long offset, byte[] data) throws IOException {
            out.writeInt(NbdProtocol.REQUEST_MAGIC);
            out.writeShort(flags);
            out.writeShort(NbdProtocol.CMD_WRITE);
            out.writeLong(cookie);
            out.writeLong(offset);
            out.writeInt(data.length);
            out.write(data);
            out.flush();
        }

        /** Reads a simple reply; returns its error, keeping {@code dataLength} bytes of data on success. */
        int simpleReply(long cookie, int dataLength) throws IOException {
            assertEquals(NbdProtocol.SIMPLE_REPLY_MAGIC, in.readInt());
            int error = in.readInt();
            assertEquals(cookie, in.readLong());
            if (error == 0 && dataLength > 0) {
                lastData = new byte[dataLength];
                in.readFully(lastData);
            }
            return error;
        }

        static final class Chunk {
            int type;
            boolean done;
            int error;
            String message = "";
            long offset;
            byte[] data;
            long extentLength;
        }

        Chunk chunk() throws IOException {
            assertEquals(NbdProtocol.STRUCTURED_REPLY_MAGIC, in.readInt());
            Chunk chunk = new Chunk();
            chunk.done = (in.readUnsignedShort() & NbdProtocol.REPLY_FLAG_DONE) != 0;
            chunk.type = in.readUnsignedShort();
            in.readLong();
            int length = in.readInt();
            switch (chunk.type) {
                case NbdProtocol.REPLY_TYPE_ERROR -> {
                    chunk.error = in.readInt();
                    byte[] text = new byte[in.readUnsignedShort()];
                    in.readFully(text);
                    chunk.message = new String(text, StandardCharsets.UTF_8);
                }
                case NbdProtocol.REPLY_TYPE_OFFSET_DATA -> {
                    chunk.offset = in.readLong();
                    chunk.data = new byte[length - 8];
                    in.readFully(chunk.data);
                }
                case NbdProtocol.REPLY_TYPE_BLOCK_STATUS -> {
                    assertEquals(NbdProtocol.BASE_ALLOCATION_ID, in.readInt());
                    chunk.extentLength = in.readInt() & 0xFFFF_FFFFL;
                    in.readInt();
                    in.skipBytes(length - 12);
                }
                default -> in.skipBytes(length);
            }
            return chunk;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
