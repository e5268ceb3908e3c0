package io.avance.core.monitor;

import io.avance.api.NodeId;
import io.avance.api.health.Component;
import io.avance.api.vm.VmException;
import io.avance.core.config.OperationsConfig;
import io.avance.core.journal.AuditJournal;
import io.avance.core.json.JsonWriter;
import io.avance.core.node.AvanceNode;
import io.avance.core.time.NanoClock;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * The monitor's HTTPS server on one node.
 *
 * <p>Routes (all need a session unless marked; POSTs also need the session's CSRF token in the
 * {@code X-CSRF-Token} header and, if the browser sends one, an {@code Origin} of this server):
 *
 * <pre>
 *   GET  /                       the monitor page (without a session: 401 and the login form)
 *   POST /login                  user, password (no session needed; Origin checked; throttled)
 *   POST /logout
 *   GET  /static/{app.js,app.css}
 *   GET  /api/session            user, role, CSRF token
 *   GET  /api/pair               the pair snapshot
 *   GET  /api/events             server-sent events: the snapshot whenever it changes
 *   GET  /api/journal            audit entries, newest first; filters actor, action, text, limit
 *   GET  /api/bundle             a diagnostic bundle (zip)                            [operator]
 *   POST /api/switchover         reason                                               [operator]
 *   POST /api/maintenance        on=true|false                                        [operator]
 *   POST /api/vm/restart         vm                                                   [operator]
 *   POST /api/vm/migrate         vm: migrate every VM to the peer (a switchover)      [operator]
 *   POST /api/fault/acknowledge  component, location                                  [operator]
 *   POST /api/volume/verify      volume                                               [operator]
 *   POST /api/volume/resolve     volume, discard (the node whose changes are lost)    [administrator]
 *   GET  /metrics                Prometheus text; a session or HTTP Basic credentials of any user
 * </pre>
 *
 * <p>Every action, allowed or refused, and every login is recorded in the audit journal with the
 * user's name. Blocking work (password hashing, actions, bundles) runs on the monitor's worker
 * threads, never on Netty's event loop. Thread-safe; start once, close once.
 */
public final class MonitorServer implements AutoCloseable {

    private static final Logger LOG = System.getLogger(MonitorServer.class.getName());
    private static final String COOKIE = "avance_session";
    private static final String UI = "/io/avance/core/monitor/ui/";
    /** The actions that change the pair, which the primary carries out, with the role each needs. */
    private static final Map<String, Role> FORWARDED = Map.of("/api/switchover", Role.OPERATOR,
            "/api/vm/migrate", Role.OPERATOR, "/api/vm/restart", Role.OPERATOR, "/api/volume/verify", Role.OPERATOR,
            "/api/volume/resolve", Role.ADMINISTRATOR, "/api/vm/create", Role.ADMINISTRATOR,
            "/api/vm/delete", Role.ADMINISTRATOR);

    private final OperationsConfig.Monitor settings;
    private final MonitorContext context;
    private final Clock wallClock;
    private final MonitorUsers users;
    private final Path usersFile;
    private final Sessions sessions;
    private final LoginThrottle throttle;
    private final Map<String, byte[]> resources = new HashMap<>();
    private final Map<String, Long> basicCache = new java.util.concurrent.ConcurrentHashMap<>();
    private final NanoClock clock;
    private final PeerSigner signer;
    private final java.net.http.HttpClient peerClient;
    private TlsMaterial tls;
    private EventLoopGroup group;
    private ExecutorService workers;
    private ScheduledExecutorService scheduler;
    private EventStream stream;
    private Channel server;

    /**
     * Creates the server; it does nothing until {@link #start()}.
     *
     * @param settings  the monitor's settings
     * @param context   what it shows
     * @param clock     for sessions and lock-outs
     * @param wallClock for times shown
     */
    public MonitorServer(OperationsConfig.Monitor settings, MonitorContext context, NanoClock clock, Clock wallClock) {
        this.settings = Objects.requireNonNull(settings);
        this.context = Objects.requireNonNull(context);
        this.clock = Objects.requireNonNull(clock);
        this.wallClock = Objects.requireNonNull(wallClock);
        Path dataDirectory = context.node().config().dataDirectory();
        this.usersFile = settings.usersFile().orElse(dataDirectory.resolve("monitor-users"));
        this.users = new MonitorUsers(usersFile);
        this.sessions = new Sessions(clock, settings.sessionTimeoutNanos());
        this.throttle = new LoginThrottle(clock, settings.loginAttempts(), settings.lockoutNanos());
        boolean paired = context.node().config().peer().isPresent();
        this.signer = paired ? new PeerSigner(context.node().config().pairingSecret(), wallClock, clock) : null;
        this.peerClient = paired && settings.peerUrl().isPresent() ? PeerCalls.client() : null;
    }

    /**
     * Loads or makes the certificate, makes the first administrator if there is no users file,
     * and listens.
     *
     * @throws UncheckedIOException if the address cannot be bound or files cannot be written
     */
    public void start() {
        AvanceNode node = context.node();
        Path dataDirectory = node.config().dataDirectory();
        tls = settings.keystore().isPresent()
                ? TlsMaterial.load(settings.keystore().get(), settings.keystorePassword().toCharArray())
                : TlsMaterial.selfSigned(dataDirectory, node.id().value(),
                List.of(settings.listen().getHostString()), wallClock);
        LOG.log(Level.INFO, "{0}: monitor certificate {1}SHA-256 fingerprint {2}", node.id(),
                tls.selfSigned() ? "(self-signed) " : "", tls.fingerprint());
        try {
            Optional<Path> initial = MonitorUsers.createInitial(usersFile);
            initial.ifPresent(file -> LOG.log(Level.WARNING, "{0}: monitor users file {1} created with the user "
                    + "''admin''; its initial password is in {2} (read it, then delete the file)", node.id(), usersFile,
                    file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the monitor users file " + usersFile, e);
        }
        SslContext ssl;
        try {
            ssl = SslContextBuilder.forServer(tls.keyManagers()).protocols("TLSv1.3", "TLSv1.2").build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up TLS for the monitor", e);
        }
        for (String name : List.of("index.html", "login.html", "app.js", "app.css")) {
            resources.put(name, resource(name));
        }
        String nodeName = node.id().value();
        workers = Executors.newFixedThreadPool(4, new DefaultThreadFactory("avance-monitor-" + nodeName, true));
        scheduler = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("avance-monitor-push-"
                + nodeName, true));
        stream = new EventStream(scheduler, () -> PairJson.snapshot(context, wallClock.instant()), sessions);
        context.events().watch(stream::changed);
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("avance-monitor-io-" + nodeName, true),
                NioIoHandler.newFactory());
        ServerBootstrap bootstrap = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        channel.pipeline().addLast("tls", ssl.newHandler(channel.alloc()));
                        // Idle connections close after 5 minutes; event streams write every 2 s.
                        channel.pipeline().addLast("idle", new IdleStateHandler(0, 0, 300));
                        channel.pipeline().addLast("http", new HttpServerCodec(8192, 16384, 8192));
                        channel.pipeline().addLast("aggregate", new HttpObjectAggregator(64 * 1024));
                        channel.pipeline().addLast("monitor", new Handler());
                    }
                });
        InetSocketAddress listen = settings.listen();
        InetSocketAddress bind = new InetSocketAddress(listen.getHostString(), listen.getPort());
        try {
            server = bootstrap.bind(bind).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding the monitor", e);
        } catch (RuntimeException e) {
            close();
            throw new UncheckedIOException(new IOException("cannot listen for the monitor on " + bind + ": "
                    + e.getMessage(), e));
        }
        LOG.log(Level.INFO, "{0}: monitor on https://{1}:{2}/", node.id(), bind.getHostString(),
                String.valueOf(localAddress().getPort()));
    }

    /**
     * Where the monitor listens.
     *
     * @return the bound address
     */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * The certificate the monitor presents.
     *
     * @return the TLS material
     */
    public TlsMaterial tls() {
        return tls;
    }

    /**
     * The users file this monitor reads.
     *
     * @return its path
     */
    public Path usersFile() {
        return usersFile;
    }

    private static byte[] resource(String name) {
        try (InputStream in = MonitorServer.class.getResourceAsStream(UI + name)) {
            if (in == null) {
                throw new IllegalStateException("the monitor's " + name + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------------------

    /** A request as the workers see it: copied off the Netty buffers. */
    private record Request(HttpMethod method, String path, Map<String, List<String>> params, HttpHeaders headers,
                           String remote, boolean keepAlive, String body) {
        String param(String name) {
            List<String> values = params.get(name);
            return values == null || values.isEmpty() ? null : values.get(0);
        }
    }

    /** A response to write. */
    private record Response(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers) {
        static Response json(HttpResponseStatus status, String json) {
            return new Response(status, "application/json; charset=utf-8", json.getBytes(StandardCharsets.UTF_8),
                    Map.of());
        }

        static Response error(HttpResponseStatus status, String message) {
            return json(status, new JsonWriter().beginObject().name("error").value(message).endObject().toString());
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest message) {
            if (!message.decoderResult().isSuccess()) {
                write(ctx.channel(), Response.error(HttpResponseStatus.BAD_REQUEST, "bad request"), false);
                return;
            }
            QueryStringDecoder query = new QueryStringDecoder(message.uri());
            Map<String, List<String>> params = new HashMap<>(query.parameters());
            String type = message.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
            String body = "";
            if (message.method() == HttpMethod.POST && type.startsWith("application/x-www-form-urlencoded")) {
                body = message.content().toString(StandardCharsets.UTF_8);
                params.putAll(new QueryStringDecoder(body, StandardCharsets.UTF_8, false).parameters());
            }
            String remote = ctx.channel().remoteAddress() instanceof InetSocketAddress address
                    ? address.getAddress().getHostAddress() : String.valueOf(ctx.channel().remoteAddress());
            Request request = new Request(message.method(), query.path(), params, message.headers().copy(), remote,
                    HttpUtil.isKeepAlive(message), body);
            Channel channel = ctx.channel();
            try {
                workers.execute(() -> {
                    Response response;
                    try {
                        response = handle(request, channel);
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "monitor request " + request.method() + " " + request.path() + " failed", e);
                        response = Response.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(e.getMessage()));
                    }
                    if (response != null) {
                        write(channel, response, request.keepAlive());
                    }
                });
            } catch (RejectedExecutionException e) {
                write(channel, Response.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "the monitor is stopping"), false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // TLS handshakes from browsers that distrust the certificate end here; nothing to report.
            LOG.log(Level.DEBUG, "monitor connection error", cause);
            ctx.close();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof io.netty.handler.timeout.IdleStateEvent) {
                ctx.close();
                return;
            }
            super.userEventTriggered(ctx, event);
        }
    }

    private void write(Channel channel, Response response, boolean keepAlive) {
        FullHttpResponse http = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, response.status(),
                Unpooled.wrappedBuffer(response.body()));
        HttpHeaders headers = http.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, response.contentType());
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, response.body().length);
        securityHeaders(headers);
        response.headers().forEach(headers::set);
        if (keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            channel.writeAndFlush(http);
        } else {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            channel.writeAndFlush(http).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static void securityHeaders(HttpHeaders headers) {
        headers.set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
                + "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
        headers.set("X-Frame-Options", "DENY");
        headers.set("X-Content-Type-Options", "nosniff");
        // Not no-referrer: browsers then send "Origin: null" on form posts, which the origin check refuses.
        headers.set("Referrer-Policy", "same-origin");
        headers.set("Strict-Transport-Security", "max-age=31536000");
        headers.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    }

    // ------------------------------------------------------------------------------------------

    private Response handle(Request request, Channel channel) {
        String path = request.path();
        boolean get = request.method() == HttpMethod.GET || request.method() == HttpMethod.HEAD;
        boolean post = request.method() == HttpMethod.POST;
        if (post && path.equals("/login")) {
            return login(request);
        }
        if (post && path.startsWith("/peer/api/")) {
            return fromPeer(request);
        }
        if (get && path.equals("/metrics")) {
            return metrics(request);
        }
        Optional<Sessions.Session> found = sessions.touch(sessionToken(request));
        if (found.isEmpty()) {
            // Pages get the login form with the 401; API calls get JSON.
            if (get && (path.equals("/") || path.equals("/index.html"))) {
                return loginPage(HttpResponseStatus.UNAUTHORIZED, "");
            }
            return Response.error(HttpResponseStatus.UNAUTHORIZED, "log in first");
        }
        Sessions.Session session = found.get();
        if (post) {
            Optional<String> refusal = csrfRefusal(request, session);
            if (refusal.isPresent()) {
                journal(session.user, "refused request", request.path(), refusal.get());
                return Response.error(HttpResponseStatus.FORBIDDEN, refusal.get());
            }
            return post(request, session, false);
        }
        if (!get) {
            return Response.error(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET or POST");
        }
        switch (path) {
            case "/", "/index.html" -> {
                return new Response(HttpResponseStatus.OK, "text/html; charset=utf-8", resources.get("index.html"), Map.of());
            }
            case "/static/app.js" -> {
                return new Response(HttpResponseStatus.OK, "text/javascript; charset=utf-8", resources.get("app.js"),
                        Map.of());
            }
            case "/static/app.css" -> {
                return new Response(HttpResponseStatus.OK, "text/css; charset=utf-8", resources.get("app.css"), Map.of());
            }
            case "/api/session" -> {
                return Response.json(HttpResponseStatus.OK, new JsonWriter().beginObject()
                        .name("user").value(session.user).name("role").value(session.role.label())
                        .name("csrf").value(session.csrf).name("node").value(context.node().id().value())
                        .endObject().toString());
            }
            case "/api/pair" -> {
                return Response.json(HttpResponseStatus.OK, PairJson.snapshot(context, wallClock.instant()));
            }
            case "/api/events" -> {
                openStream(channel, session);
                return null;
            }
            case "/api/journal" -> {
                return journalEntries(request);
            }
            case "/api/bundle" -> {
                return bundle(session);
            }
            default -> {
                return Response.error(HttpResponseStatus.NOT_FOUND, "no such page: " + path);
            }
        }
    }

    private String sessionToken(Request request) {
        String header = request.headers().get(HttpHeaderNames.COOKIE);
        if (header == null) {
            return null;
        }
        for (Cookie cookie : ServerCookieDecoder.STRICT.decode(header)) {
            if (cookie.name().equals(COOKIE)) {
                return cookie.value();
            }
        }
        return null;
    }

    /** Why a state-changing request is refused as possibly forged, if it is. */
    private Optional<String> csrfRefusal(Request request, Sessions.Session session) {
        Optional<String> origin = originRefusal(request);
        if (origin.isPresent()) {
            return origin;
        }
        if (!session.csrfMatches(request.headers().get("X-CSRF-Token"))) {
            return Optional.of("missing or wrong CSRF token");
        }
        return Optional.empty();
    }

    private Optional<String> originRefusal(Request request) {
        String host = request.headers().get(HttpHeaderNames.HOST);
        String origin = request.headers().get(HttpHeaderNames.ORIGIN);
        if (origin != null && (host == null || !origin.equals("https://" + host))) {
            return Optional.of("cross-site request refused (origin " + origin + ")");
        }
        String site = request.headers().get("Sec-Fetch-Site");
        if (site != null && site.equals("cross-site")) {
            return Optional.of("cross-site request refused");
        }
        return Optional.empty();
    }

    private Response login(Request request) {
        String user = Objects.requireNonNullElse(request.param("user"), "");
        String password = Objects.requireNonNullElse(request.param("password"), "");
        Optional<String> origin = originRefusal(request);
        if (origin.isPresent()) {
            journal(user, "login", "from " + request.remote(), "refused: " + origin.get());
            return loginPage(HttpResponseStatus.FORBIDDEN, "This login did not come from the monitor's own page.");
        }
        long locked = throttle.lockedForNanos(user, request.remote());
        if (locked > 0) {
            journal(user, "login", "from " + request.remote(), "refused: locked out");
            return loginPage(HttpResponseStatus.TOO_MANY_REQUESTS, "Too many failed logins. Try again in "
                    + Math.max(1, TimeUnit.NANOSECONDS.toSeconds(locked)) + " s.");
        }
        Optional<MonitorUsers.Entry> entry = users.authenticate(user, password.toCharArray());
        if (entry.isEmpty()) {
            boolean nowLocked = throttle.failed(user, request.remote());
            journal(user.isEmpty() ? "(none)" : user, "login", "from " + request.remote(),
                    nowLocked ? "refused: wrong user name or password; locked out" : "refused: wrong user name or password");
            return loginPage(HttpResponseStatus.UNAUTHORIZED, "Wrong user name or password.");
        }
        throttle.succeeded(user, request.remote());
        Sessions.Session session = sessions.create(entry.get().name(), entry.get().role());
        journal(session.user, "login", "from " + request.remote() + " as " + session.role.label(), "done");
        return new Response(HttpResponseStatus.SEE_OTHER, "text/plain; charset=utf-8", new byte[0], Map.of(
                HttpHeaderNames.LOCATION.toString(), "/",
                HttpHeaderNames.SET_COOKIE.toString(), COOKIE + "=" + session.token
                        + "; Path=/; Secure; HttpOnly; SameSite=Strict"));
    }

    private Response loginPage(HttpResponseStatus status, String message) {
        String page = new String(resources.get("login.html"), StandardCharsets.UTF_8)
                .replace("{{node}}", escape(context.node().id().value()))
                .replace("{{message}}", escape(message));
        // The login page carries its style inline (no stylesheet may load without a session) and no script.
        return new Response(status, "text/html; charset=utf-8", page.getBytes(StandardCharsets.UTF_8), Map.of(
                "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                        + "frame-ancestors 'none'; base-uri 'none'"));
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private void openStream(Channel channel, Sessions.Session session) {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        securityHeaders(response.headers());
        HttpUtil.setTransferEncodingChunked(response, true);
        channel.writeAndFlush(response).addListener(future -> {
            if (future.isSuccess()) {
                stream.add(channel, session);
            }
        });
    }

    private Response journalEntries(Request request) {
        AuditJournal journal = context.node().journal();
        String actor = trimToNull(request.param("actor"));
        String action = trimToNull(request.param("action"));
        String text = trimToNull(request.param("text"));
        String outcome = trimToNull(request.param("outcome"));
        int limit = 200;
        try {
            if (request.param("limit") != null) {
                limit = Math.max(1, Math.min(5_000, Integer.parseInt(request.param("limit"))));
            }
        } catch (NumberFormatException e) {
            return Response.error(HttpResponseStatus.BAD_REQUEST, "limit is not a number");
        }
        String needle = text == null ? null : text.toLowerCase(Locale.ROOT);
        List<AuditJournal.Entry> entries = journal.read(entry -> (actor == null || entry.actor().equals(actor))
                && (action == null || entry.action().equals(action))
                && (outcome == null || entry.outcome().toLowerCase(Locale.ROOT).startsWith(outcome.toLowerCase(Locale.ROOT)))
                && (needle == null || (entry.detail() + " " + entry.outcome() + " " + entry.action() + " "
                + entry.actor()).toLowerCase(Locale.ROOT).contains(needle)), limit);
        JsonWriter json = new JsonWriter().beginArray();
        for (AuditJournal.Entry entry : entries) {
            json.raw(AuditJournal.toJson(entry));
        }
        return Response.json(HttpResponseStatus.OK, json.endArray().toString());
    }

    private static String trimToNull(String text) {
        return text == null || text.isBlank() ? null : text.trim();
    }

    private Response bundle(Sessions.Session session) {
        if (!session.role.includes(Role.OPERATOR)) {
            journal(session.user, "bundle", "download", "refused: a " + session.role.label() + " cannot download bundles");
            return Response.error(HttpResponseStatus.FORBIDDEN, "a " + session.role.label()
                    + " cannot download diagnostic bundles");
        }
        io.netty.buffer.ByteBuf buffer = Unpooled.buffer();
        try (ByteBufOutputStream out = new ByteBufOutputStream(buffer)) {
            context.writeBundle(out, session.user);
        } catch (IOException e) {
            buffer.release();
            return Response.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot write the bundle: " + e.getMessage());
        }
        byte[] bytes = new byte[buffer.readableBytes()];
        buffer.readBytes(bytes);
        buffer.release();
        String name = "avance-" + context.node().id().value() + "-" + wallClock.instant().toString().replace(':', '-')
                + ".zip";
        return new Response(HttpResponseStatus.OK, "application/zip", bytes,
                Map.of(HttpHeaderNames.CONTENT_DISPOSITION.toString(), "attachment; filename=\"" + name + "\""));
    }

    private Response metrics(Request request) {
        boolean allowed = sessions.touch(sessionToken(request)).isPresent();
        if (!allowed) {
            allowed = basicAuthenticated(request);
        }
        if (!allowed) {
            return new Response(HttpResponseStatus.UNAUTHORIZED, "text/plain; charset=utf-8",
                    "log in, or send HTTP Basic credentials of a monitor user\n".getBytes(StandardCharsets.UTF_8),
                    Map.of(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Basic realm=\"avance\""));
        }
        Optional<String> text = context.prometheusText();
        if (text.isEmpty()) {
            return new Response(HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8",
                    ("this node reports to a meter registry that is not a Prometheus one; build the node with "
                            + "Operations.prometheusRegistry()\n").getBytes(StandardCharsets.UTF_8), Map.of());
        }
        return new Response(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                text.get().getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /**
     * Checks HTTP Basic credentials; a success is remembered for a minute (by a hash of the
     * header) so that a scraper does not pay for a slow password hash every scrape.
     */
    private boolean basicAuthenticated(Request request) {
        String header = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (header == null || !header.startsWith("Basic ")) {
            return false;
        }
        String key;
        try {
            key = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(header.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Long until = basicCache.get(key);
        long now = clock.nanoTime();
        if (until != null && until - now > 0) {
            return true;
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return false;
        }
        int colon = decoded.indexOf(':');
        if (colon <= 0) {
            return false;
        }
        String user = decoded.substring(0, colon);
        if (throttle.lockedForNanos(user, request.remote()) > 0) {
            return false;
        }
        if (users.authenticate(user, decoded.substring(colon + 1).toCharArray()).isEmpty()) {
            if (throttle.failed(user, request.remote())) {
                journal(user, "login", "metrics from " + request.remote(), "refused: locked out");
            }
            return false;
        }
        throttle.succeeded(user, request.remote());
        if (basicCache.size() > 1_000) {
            basicCache.clear();
        }
        basicCache.put(key, now + TimeUnit.MINUTES.toNanos(1));
        return true;
    }

    // ------------------------------------------------------------------------------------------
    // Actions

    private Response post(Request request, Sessions.Session session, boolean fromPeer) {
        AvanceNode node = context.node();
        String path = request.path();
        Role forwardedRole = FORWARDED.get(path);
        if (forwardedRole != null && !fromPeer && forwardToPrimary()) {
            if (!session.role.includes(forwardedRole)) {
                String refusal = "refused: a " + session.role.label() + " cannot do this (needs " + forwardedRole.label()
                        + ")";
                journal(session.user, path.substring("/api/".length()), request.body(), refusal);
                return Response.error(HttpResponseStatus.FORBIDDEN, refusal);
            }
            return forward(request, session);
        }
        switch (path) {
            case "/logout" -> {
                sessions.end(session);
                journal(session.user, "logout", "", "done");
                return new Response(HttpResponseStatus.OK, "application/json; charset=utf-8",
                        "{}".getBytes(StandardCharsets.UTF_8), Map.of(HttpHeaderNames.SET_COOKIE.toString(),
                        COOKIE + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"));
            }
            case "/api/switchover" -> {
                String reason = Objects.requireNonNullElse(trimToNull(request.param("reason")), "planned switchover");
                return act(session, Role.OPERATOR, "switchover", reason, () -> outcome(node.switchover(reason
                        + " (by " + session.user + " from the monitor)")));
            }
            case "/api/vm/migrate" -> {
                String vm = request.param("vm");
                return act(session, Role.OPERATOR, "migrate VMs", "every VM to the peer, asked for VM " + vm,
                        () -> outcome(node.switchover("migrate VMs to the peer, asked for VM " + vm + " (by "
                                + session.user + " from the monitor)")));
            }
            case "/api/maintenance" -> {
                String on = request.param("on");
                if (!"true".equals(on) && !"false".equals(on)) {
                    return Response.error(HttpResponseStatus.BAD_REQUEST, "on must be true or false");
                }
                return act(session, Role.OPERATOR, "maintenance", on.equals("true") ? "on" : "off", () -> {
                    node.setMaintenance(on.equals("true"));
                    return "done";
                });
            }
            case "/api/vm/restart" -> {
                String vm = request.param("vm");
                if (vm == null) {
                    return Response.error(HttpResponseStatus.BAD_REQUEST, "vm is required");
                }
                return act(session, Role.OPERATOR, "restart VM", vm, () -> {
                    try {
                        node.vms().restart(vm);
                        return "done";
                    } catch (VmException | IllegalStateException e) {
                        return "refused: " + e.getMessage();
                    }
                });
            }
            case "/api/vm/create" -> {
                // The image is a file on the primary's host (the upload of a large image through
                // the browser is left to the command line's copy and a path here).
                String name = request.param("name");
                String image = trimToNull(request.param("image"));
                long memory;
                long disk;
                int cores;
                try {
                    memory = io.avance.core.config.ConfigValues.sizeBytes("memory",
                            Objects.requireNonNullElse(request.param("memory"), ""));
                    disk = io.avance.core.config.ConfigValues.sizeBytes("disk",
                            Objects.requireNonNullElse(request.param("disk"), ""));
                    cores = Integer.parseInt(Objects.requireNonNullElse(request.param("cores"), "1"));
                } catch (RuntimeException e) {
                    return Response.error(HttpResponseStatus.BAD_REQUEST, e.getMessage());
                }
                List<io.avance.api.hypervisor.VmSpec.Network> networks = new java.util.ArrayList<>();
                String network = trimToNull(request.param("network"));
                if (network != null) {
                    networks.add(new io.avance.api.hypervisor.VmSpec.Network(network, Optional.empty()));
                }
                return act(session, Role.ADMINISTRATOR, "create VM", name + " (" + memory + " bytes, disk " + disk
                        + " bytes" + (image != null ? ", image " + image : "") + ")", () -> {
                    try {
                        node.provisioning(session.user, line -> stream.changed()).create(
                                new io.avance.core.vm.VmProvisioning.Request(String.valueOf(name), cores, memory, disk,
                                        Optional.ofNullable(image).map(java.nio.file.Path::of), networks, Map.of()));
                        return "done";
                    } catch (VmException | IllegalStateException e) {
                        return "refused: " + e.getMessage();
                    }
                });
            }
            case "/api/vm/delete" -> {
                String vm = request.param("vm");
                boolean keep = "true".equals(request.param("keep-disks"));
                if (vm == null) {
                    return Response.error(HttpResponseStatus.BAD_REQUEST, "vm is required");
                }
                return act(session, Role.ADMINISTRATOR, "delete VM", vm + (keep ? ", disks kept" : ""), () -> {
                    try {
                        node.provisioning(session.user, line -> { }).delete(vm, keep);
                        return "done";
                    } catch (VmException | IllegalStateException e) {
                        return "refused: " + e.getMessage();
                    }
                });
            }
            case "/api/fault/acknowledge" -> {
                String component = request.param("component");
                String location = request.param("location");
                Component parsed;
                try {
                    parsed = Component.valueOf(Objects.requireNonNullElse(component, ""));
                } catch (IllegalArgumentException e) {
                    return Response.error(HttpResponseStatus.BAD_REQUEST, "component must be one of "
                            + java.util.Arrays.toString(Component.values()));
                }
                return act(session, Role.OPERATOR, "acknowledge fault", component + " " + location, () -> {
                    boolean done = node.faults().acknowledge(parsed, String.valueOf(location), session.user);
                    stream.changed();
                    return done ? "done" : "refused: no such active fault on this node";
                });
            }
            case "/api/volume/verify" -> {
                String volume = request.param("volume");
                return act(session, Role.OPERATOR, "verify volume", String.valueOf(volume), () -> {
                    try {
                        node.volumes().verify(volume, true).toCompletableFuture().whenComplete((report, error) ->
                                journal(session.user, "verify volume", volume, error != null ? "failed: "
                                        + error.getMessage() : report.mismatchCount() + " mismatched blocks of "
                                        + report.blocksCompared()));
                        return "started";
                    } catch (RuntimeException e) {
                        return "refused: " + e.getMessage();
                    }
                });
            }
            case "/api/volume/resolve" -> {
                String volume = request.param("volume");
                String discard = request.param("discard");
                return act(session, Role.ADMINISTRATOR, "resolve split brain", "volume " + volume
                        + ": discard the changes of node " + discard, () -> {
                    try {
                        node.volumes().resolveSplitBrain(volume, NodeId.of(String.valueOf(discard)));
                        return "done";
                    } catch (RuntimeException e) {
                        return "refused: " + e.getMessage();
                    }
                });
            }
            default -> {
                return Response.error(HttpResponseStatus.NOT_FOUND, "no such action: " + path);
            }
        }
    }

    /** Whether this node should hand pair actions to the primary's monitor: it does not serve, the peer does. */
    private boolean forwardToPrimary() {
        if (peerClient == null || context.node().mayServe()) {
            return false;
        }
        Optional<io.avance.core.pair.PairStatus> status = context.node().status();
        return status.flatMap(io.avance.core.pair.PairStatus::peer).map(peer -> peer.role() == io.avance.api.PairRole.PRIMARY
                && peer.primaryOfItsEpoch()).orElse(false)
                && status.get().paths().stream().anyMatch(io.avance.api.failover.PathStatus::peerAlive);
    }

    /** Sends an action to the primary's monitor, signed, as this session's user, and relays the outcome. */
    private Response forward(Request request, Sessions.Session session) {
        String primary = context.node().config().peer().orElseThrow().id().value();
        String action = request.path().substring("/api/".length());
        PeerCalls.Answer answer = PeerCalls.post(peerClient, signer, settings.peerUrl().orElseThrow(),
                context.node().id().value(), request.path(), session.user, session.role.label(), request.body());
        String outcome = answer.outcome();
        journal(session.user, action, request.body() + " (sent to the primary, node " + primary + ")", outcome);
        stream.changed();
        return Response.json(HttpResponseStatus.valueOf(answer.status()), new JsonWriter().beginObject()
                .name("outcome").value(outcome.startsWith("refused") || outcome.startsWith("failed") ? outcome
                        : "on node " + primary + ": " + outcome).endObject().toString());
    }

    /** An action a peer's monitor sent for one of its users. */
    private Response fromPeer(Request request) {
        String sender = request.headers().get(PeerCalls.NODE);
        String time = request.headers().get(PeerCalls.TIME);
        String nonce = request.headers().get(PeerCalls.NONCE);
        String user = request.headers().get(PeerCalls.USER);
        String roleText = request.headers().get(PeerCalls.ROLE);
        String path = request.path().substring("/peer".length());
        boolean fromOurPeer = signer != null && sender != null
                && context.node().config().peer().map(peer -> peer.id().value().equals(sender)).orElse(false);
        if (!fromOurPeer || user == null || roleText == null
                || !signer.matches(request.headers().get(PeerCalls.SIGNATURE), "POST", path, time, nonce, sender, user,
                roleText, request.body()) || !signer.fresh(time, nonce)) {
            journal(String.valueOf(user), "refused request", request.path() + " from " + request.remote(),
                    "refused: not signed by the peer, or replayed");
            return Response.error(HttpResponseStatus.UNAUTHORIZED, "not signed by the peer, or replayed");
        }
        Role role;
        try {
            role = Role.parse(roleText);
        } catch (IllegalArgumentException e) {
            return Response.error(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        }
        if (!FORWARDED.containsKey(path)) {
            return Response.error(HttpResponseStatus.NOT_FOUND, "not an action the peer may send: " + path);
        }
        Sessions.Session session = new Sessions.Session("peer", user + "@" + sender, role, "", clock.nanoTime());
        Request inner = new Request(request.method(), path, request.params(), request.headers(), request.remote(),
                request.keepAlive(), request.body());
        Response response = post(inner, session, true);
        String body = new String(response.body(), StandardCharsets.UTF_8);
        return new Response(response.status(), response.contentType(), response.body(), Map.of(PeerCalls.SIGNATURE,
                signer.sign(nonce, "response", String.valueOf(response.status().code()), body)));
    }

    private static String outcome(String result) {
        return result;
    }

    private Response act(Sessions.Session session, Role needed, String action, String detail,
                         java.util.function.Supplier<String> work) {
        if (!session.role.includes(needed)) {
            String refusal = "refused: a " + session.role.label() + " cannot do this (needs " + needed.label() + ")";
            journal(session.user, action, detail, refusal);
            return Response.error(HttpResponseStatus.FORBIDDEN, refusal);
        }
        String outcome = work.get();
        journal(session.user, action, detail, outcome);
        stream.changed();
        return Response.json(outcome.startsWith("refused") ? HttpResponseStatus.CONFLICT : HttpResponseStatus.OK,
                new JsonWriter().beginObject().name("outcome").value(outcome).endObject().toString());
    }

    private void journal(String actor, String action, String detail, String outcome) {
        AuditJournal journal = context.node().journal();
        if (journal != null) {
            journal.record(actor, action, detail, outcome);
        }
    }

    /**
     * Tells the open pages that something changed.
     */
    public void changed() {
        if (stream != null) {
            stream.changed();
        }
    }

    /**
     * How many pages hold an event stream (for tests and metrics).
     *
     * @return the number of open streams
     */
    public int streams() {
        return stream == null ? 0 : stream.clients();
    }

    @Override
    public void close() {
        if (stream != null) {
            stream.closeAll();
        }
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
        if (workers != null) {
            workers.shutdown();
            try {
                workers.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        }
    }
}
