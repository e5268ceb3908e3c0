package io.avance.core.config;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Validated settings of the operations services that run beside a node: the browser monitor
 * ({@code monitor.*}), e-mail alerts ({@code alert.*}), call home ({@code callhome.*}), the
 * diagnostic bundle ({@code bundle.*}) and the pair's virtual addresses ({@code vip.*}).
 * Each service is off unless its main key is set. Immutable; {@link #toString()} redacts
 * passwords.
 *
 * @param monitor   the monitor, if {@code monitor.listen} is set
 * @param alerts    e-mail alerts, if {@code alert.smtp.host} is set
 * @param callHome  call home, if {@code callhome.url} is set
 * @param bundle    what the diagnostic bundle takes beyond the data directory
 * @param addresses one virtual address per public network ({@code vip.NETWORK.*})
 */
public record OperationsConfig(Optional<Monitor> monitor, Optional<Alerts> alerts, Optional<CallHome> callHome,
                               Bundle bundle, List<VirtualAddress> addresses) {

    /**
     * Validates the parts.
     */
    public OperationsConfig {
        Objects.requireNonNull(monitor, "monitor");
        Objects.requireNonNull(alerts, "alerts");
        Objects.requireNonNull(callHome, "callHome");
        Objects.requireNonNull(bundle, "bundle");
        addresses = List.copyOf(addresses);
    }

    /**
     * No operations services.
     *
     * @return settings with every service off
     */
    public static OperationsConfig none() {
        return new OperationsConfig(Optional.empty(), Optional.empty(), Optional.empty(), new Bundle(List.of()),
                List.of());
    }

    /**
     * The monitor's settings.
     *
     * @param listen              where it listens ({@code monitor.listen}, host:port)
     * @param keystore            a PKCS#12 keystore with its certificate ({@code monitor.keystore}); without
     *                            one a self-signed certificate is made on first start and kept in the data
     *                            directory
     * @param keystorePassword    the keystore's password ({@code monitor.keystore-password})
     * @param usersFile           the users file ({@code monitor.users-file}; default
     *                            {@code DATA-DIR/monitor-users})
     * @param sessionTimeoutNanos how long an idle session lasts ({@code monitor.session-timeout}, 30m)
     * @param loginAttempts       failed logins before a lock-out ({@code monitor.login-attempts}, 5)
     * @param lockoutNanos        how long a lock-out lasts ({@code monitor.lockout}, 5m)
     * @param peerUrl             the peer's monitor ({@code monitor.peer-url}, such as https://beta:8443): a
     *                            backup's monitor sends the actions that change the pair there, signed with a key
     *                            derived from the pairing secret; empty: the backup refuses them
     */
    public record Monitor(InetSocketAddress listen, Optional<Path> keystore, String keystorePassword,
                          Optional<Path> usersFile, long sessionTimeoutNanos, int loginAttempts, long lockoutNanos,
                          Optional<URI> peerUrl) {
        /**
         * Settings without a peer monitor.
         *
         * @param listen              where it listens
         * @param keystore            a keystore, or empty for a self-signed certificate
         * @param keystorePassword    the keystore's password
         * @param usersFile           the users file, or empty for the default
         * @param sessionTimeoutNanos idle session lifetime
         * @param loginAttempts       failed logins before a lock-out
         * @param lockoutNanos        how long a lock-out lasts
         */
        public Monitor(InetSocketAddress listen, Optional<Path> keystore, String keystorePassword,
                       Optional<Path> usersFile, long sessionTimeoutNanos, int loginAttempts, long lockoutNanos) {
            this(listen, keystore, keystorePassword, usersFile, sessionTimeoutNanos, loginAttempts, lockoutNanos,
                    Optional.empty());
        }

        /**
         * Validates the fields.
         */
        public Monitor {
            Objects.requireNonNull(peerUrl, "peerUrl");
            peerUrl.ifPresent(url -> {
                if (!"https".equals(url.getScheme()) || url.getHost() == null) {
                    throw new ConfigException("monitor.peer-url", url.toString(), "must be an https:// URL");
                }
            });
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(keystore, "keystore");
            Objects.requireNonNull(keystorePassword, "keystorePassword");
            Objects.requireNonNull(usersFile, "usersFile");
            if (sessionTimeoutNanos < TimeUnit.MINUTES.toNanos(1)) {
                throw new ConfigException("monitor.session-timeout", ConfigValues.formatNanos(sessionTimeoutNanos),
                        "must be at least 1m");
            }
            if (loginAttempts < 1 || loginAttempts > 100) {
                throw new ConfigException("monitor.login-attempts", String.valueOf(loginAttempts), "must be 1-100");
            }
            if (lockoutNanos < TimeUnit.SECONDS.toNanos(1)) {
                throw new ConfigException("monitor.lockout", ConfigValues.formatNanos(lockoutNanos),
                        "must be at least 1s");
            }
        }

        /**
         * The same settings with a peer monitor.
         *
         * @param url the peer's monitor
         * @return new settings
         */
        public Monitor withPeer(URI url) {
            return new Monitor(listen, keystore, keystorePassword, usersFile, sessionTimeoutNanos, loginAttempts,
                    lockoutNanos, Optional.of(url));
        }

        /**
         * Default settings on an address.
         *
         * @param listen where to listen
         * @return settings with a self-signed certificate and the default users file
         */
        public static Monitor on(InetSocketAddress listen) {
            return new Monitor(listen, Optional.empty(), "", Optional.empty(), TimeUnit.MINUTES.toNanos(30), 5,
                    TimeUnit.MINUTES.toNanos(5));
        }

        @Override
        public String toString() {
            return "Monitor{listen=" + listen + ", keystore=" + keystore.map(Path::toString).orElse("self-signed")
                    + ", keystore-password=<redacted>, users-file=" + usersFile.map(Path::toString).orElse("default")
                    + ", session-timeout=" + ConfigValues.formatNanos(sessionTimeoutNanos) + ", login-attempts="
                    + loginAttempts + ", lockout=" + ConfigValues.formatNanos(lockoutNanos) + ", peer-url="
                    + peerUrl.map(URI::toString).orElse("none") + "}";
        }
    }

    /** How the SMTP connection is protected. */
    public enum SmtpSecurity {
        /** Plain SMTP (only on a trusted network). */
        NONE,
        /** SMTP, upgraded with STARTTLS, which is required. */
        STARTTLS,
        /** SMTP inside TLS from the first byte (port 465). */
        TLS
    }

    /**
     * E-mail alert settings.
     *
     * @param smtpHost            the SMTP server ({@code alert.smtp.host})
     * @param smtpPort            its port ({@code alert.smtp.port}, 25)
     * @param security            {@code alert.smtp.security}: none, starttls or tls (none)
     * @param user                {@code alert.smtp.user}, if the server wants a login
     * @param password            {@code alert.smtp.password}
     * @param from                the sender ({@code alert.from})
     * @param to                  the recipients ({@code alert.to}, comma-separated)
     * @param repeatIntervalNanos the same alert is mailed at most once per interval; repeats go into
     *                            the digest ({@code alert.repeat-interval}, 4h)
     * @param digestIntervalNanos how often a digest of held-back repeats is sent
     *                            ({@code alert.digest-interval}, 15m)
     * @param resyncStallNanos    a resync with no progress for this long is an alert
     *                            ({@code alert.resync-stall}, 5m)
     */
    public record Alerts(String smtpHost, int smtpPort, SmtpSecurity security, Optional<String> user,
                         Optional<String> password, String from, List<String> to, long repeatIntervalNanos,
                         long digestIntervalNanos, long resyncStallNanos) {
        /**
         * Validates the fields.
         */
        public Alerts {
            Objects.requireNonNull(smtpHost, "smtpHost");
            Objects.requireNonNull(security, "security");
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            to = List.copyOf(to);
            if (smtpPort < 1 || smtpPort > 65535) {
                throw new ConfigException("alert.smtp.port", String.valueOf(smtpPort), "must be 1-65535");
            }
            if (from == null || !from.contains("@")) {
                throw new ConfigException("alert.from", String.valueOf(from), "required: an e-mail address");
            }
            if (to.isEmpty()) {
                throw new ConfigException("alert.to", "", "required: one or more e-mail addresses, comma-separated");
            }
            for (String address : to) {
                if (!address.contains("@")) {
                    throw new ConfigException("alert.to", address, "not an e-mail address");
                }
            }
            if (digestIntervalNanos < TimeUnit.SECONDS.toNanos(1)) {
                throw new ConfigException("alert.digest-interval", ConfigValues.formatNanos(digestIntervalNanos),
                        "must be at least 1s");
            }
            if (repeatIntervalNanos < digestIntervalNanos) {
                throw new ConfigException("alert.repeat-interval", ConfigValues.formatNanos(repeatIntervalNanos),
                        "must be at least alert.digest-interval (" + ConfigValues.formatNanos(digestIntervalNanos) + ")");
            }
            if (resyncStallNanos < TimeUnit.SECONDS.toNanos(1)) {
                throw new ConfigException("alert.resync-stall", ConfigValues.formatNanos(resyncStallNanos),
                        "must be at least 1s");
            }
            if (user.isPresent() != password.isPresent()) {
                throw new ConfigException(user.isPresent() ? "alert.smtp.password" : "alert.smtp.user", "",
                        "alert.smtp.user and alert.smtp.password go together");
            }
        }

        @Override
        public String toString() {
            return "Alerts{smtp=" + smtpHost + ":" + smtpPort + " " + security + ", user=" + user.orElse("none")
                    + ", password=<redacted>, from=" + from + ", to=" + to + ", repeat-interval="
                    + ConfigValues.formatNanos(repeatIntervalNanos) + ", digest-interval="
                    + ConfigValues.formatNanos(digestIntervalNanos) + "}";
        }
    }

    /**
     * Call-home settings.
     *
     * @param url                the vendor's endpoint ({@code callhome.url}, https)
     * @param truststore         a PKCS#12 truststore for the endpoint's certificate
     *                           ({@code callhome.truststore}; default: the JDK's trusted CAs)
     * @param truststorePassword {@code callhome.truststore-password}
     * @param site               who this pair is, for the vendor ({@code callhome.site}; default: the node id)
     * @param retryInitialNanos  the first retry delay ({@code callhome.retry-initial}, 1s)
     * @param retryMaxNanos      the longest retry delay ({@code callhome.retry-max}, 5m)
     * @param attachBundles      whether critical events carry a diagnostic bundle
     *                           ({@code callhome.attach-bundles}, true)
     */
    public record CallHome(URI url, Optional<Path> truststore, String truststorePassword, String site,
                           long retryInitialNanos, long retryMaxNanos, boolean attachBundles) {
        /**
         * Validates the fields.
         */
        public CallHome {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(truststore, "truststore");
            Objects.requireNonNull(truststorePassword, "truststorePassword");
            Objects.requireNonNull(site, "site");
            if (!"https".equals(url.getScheme()) || url.getHost() == null) {
                throw new ConfigException("callhome.url", url.toString(), "must be an https:// URL");
            }
            if (retryInitialNanos < TimeUnit.MILLISECONDS.toNanos(10)) {
                throw new ConfigException("callhome.retry-initial", ConfigValues.formatNanos(retryInitialNanos),
                        "must be at least 10ms");
            }
            if (retryMaxNanos < retryInitialNanos) {
                throw new ConfigException("callhome.retry-max", ConfigValues.formatNanos(retryMaxNanos),
                        "must be at least callhome.retry-initial");
            }
        }

        @Override
        public String toString() {
            return "CallHome{url=" + url + ", truststore=" + truststore.map(Path::toString).orElse("JDK default")
                    + ", truststore-password=<redacted>, site=" + site + ", retry=" + ConfigValues.formatNanos(
                    retryInitialNanos) + ".." + ConfigValues.formatNanos(retryMaxNanos) + ", attach-bundles="
                    + attachBundles + "}";
        }
    }

    /**
     * What the diagnostic bundle collects beyond the data directory.
     *
     * @param logFiles log files or directories of the embedding program ({@code bundle.logs}, comma-separated)
     */
    public record Bundle(List<Path> logFiles) {
        /**
         * Copies the list.
         */
        public Bundle {
            logFiles = List.copyOf(logFiles);
        }
    }

    /**
     * The pair's address on one public network, held by the primary.
     *
     * @param network       the public network's name ({@code vip.NETWORK.*})
     * @param interfaceName the interface it goes on ({@code vip.NETWORK.interface})
     * @param address       the address with its prefix length ({@code vip.NETWORK.address}, such as 192.0.2.10/24)
     * @param forwardVia    the peer's address on the private network ({@code vip.NETWORK.forward-via}): when
     *                      the primary loses this public network, the backup answers for the address and
     *                      routes its traffic to the primary through this address, and the primary routes
     *                      its replies back the same way, until the graceful failover completes (rule 4);
     *                      empty: no forwarding, the address stays with the primary
     */
    public record VirtualAddress(String network, String interfaceName, String address, Optional<String> forwardVia) {
        /**
         * An address without forwarding.
         *
         * @param network       the public network
         * @param interfaceName the interface
         * @param address       the address with its prefix length
         */
        public VirtualAddress(String network, String interfaceName, String address) {
            this(network, interfaceName, address, Optional.empty());
        }

        /**
         * Validates the fields.
         */
        public VirtualAddress {
            Objects.requireNonNull(forwardVia, "forwardVia");
            forwardVia.ifPresent(via -> {
                if (!via.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                    throw new ConfigException("vip." + network + ".forward-via", via,
                            "the peer's IPv4 address on the private network, such as 198.51.100.2");
                }
            });
            Objects.requireNonNull(network, "network");
            String prefix = "vip." + network + ".";
            if (interfaceName == null || !interfaceName.matches("[A-Za-z0-9._@-]{1,15}")) {
                throw new ConfigException(prefix + "interface", String.valueOf(interfaceName),
                        "required: a network interface name (1-15 characters)");
            }
            if (address == null || !address.matches("\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}")) {
                throw new ConfigException(prefix + "address", String.valueOf(address),
                        "required: an IPv4 address with its prefix length, such as 192.0.2.10/24");
            }
            for (String part : address.substring(0, address.indexOf('/')).split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    throw new ConfigException(prefix + "address", address, "not an IPv4 address");
                }
            }
            int length = Integer.parseInt(address.substring(address.indexOf('/') + 1));
            if (length < 1 || length > 32) {
                throw new ConfigException(prefix + "address", address, "the prefix length must be 1-32");
            }
        }

        /**
         * The address without its prefix length.
         *
         * @return such as 192.0.2.10
         */
        public String ip() {
            return address.substring(0, address.indexOf('/'));
        }

        /**
         * The network the address is on, split in two halves: routes to the halves win over the
         * interface's own route to the whole network, even while that route lingers on a link
         * without carrier.
         *
         * @return two prefixes one bit longer, such as 192.0.2.0/25 and 192.0.2.128/25 (empty for a /32)
         */
        public List<String> networkHalves() {
            int length = Integer.parseInt(address.substring(address.indexOf('/') + 1));
            if (length >= 32) {
                return List.of();
            }
            long ip = 0;
            for (String part : ip().split("\\.")) {
                ip = ip << 8 | Integer.parseInt(part);
            }
            long mask = length == 0 ? 0 : (0xffffffffL << (32 - length)) & 0xffffffffL;
            long base = ip & mask;
            long half = 1L << (31 - length);
            return List.of(dotted(base) + "/" + (length + 1), dotted(base + half) + "/" + (length + 1));
        }

        private static String dotted(long ip) {
            return (ip >> 24 & 255) + "." + (ip >> 16 & 255) + "." + (ip >> 8 & 255) + "." + (ip & 255);
        }
    }

    /**
     * Collects settings in code (the file reader uses it too).
     */
    public static final class Builder {
        private Monitor monitor;
        private Alerts alerts;
        private CallHome callHome;
        private final List<Path> logFiles = new ArrayList<>();
        private final List<VirtualAddress> addresses = new ArrayList<>();

        /** @param monitor the monitor's settings @return this */
        public Builder monitor(Monitor monitor) {
            this.monitor = Objects.requireNonNull(monitor);
            return this;
        }

        /** @param alerts e-mail alert settings @return this */
        public Builder alerts(Alerts alerts) {
            this.alerts = Objects.requireNonNull(alerts);
            return this;
        }

        /** @param callHome call-home settings @return this */
        public Builder callHome(CallHome callHome) {
            this.callHome = Objects.requireNonNull(callHome);
            return this;
        }

        /** @param file a log file or directory for the bundle @return this */
        public Builder bundleLog(Path file) {
            this.logFiles.add(Objects.requireNonNull(file));
            return this;
        }

        /** @param address a virtual address @return this */
        public Builder virtualAddress(VirtualAddress address) {
            this.addresses.add(Objects.requireNonNull(address));
            return this;
        }

        /**
         * Validates across the parts.
         *
         * @return the settings
         */
        public OperationsConfig build() {
            java.util.Set<String> networks = new java.util.HashSet<>();
            for (VirtualAddress address : addresses) {
                if (!networks.add(address.network())) {
                    throw new ConfigException("vip." + address.network(), address.network(),
                            "one virtual address per public network");
                }
            }
            return new OperationsConfig(Optional.ofNullable(monitor), Optional.ofNullable(alerts),
                    Optional.ofNullable(callHome), new Bundle(logFiles), addresses);
        }
    }
}
