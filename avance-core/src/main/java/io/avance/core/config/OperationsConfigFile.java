package io.avance.core.config;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Reads the {@code monitor.*}, {@code alert.*}, {@code callhome.*}, {@code bundle.*} and
 * {@code vip.*} keys of a node's configuration file into an {@link OperationsConfig}. Kept apart
 * from {@link NodeConfigFile} so that the engine's keys and the operations keys can grow
 * independently; unknown keys under these prefixes are errors like any other.
 *
 * <pre>
 * monitor.listen = 0.0.0.0:8443
 * monitor.keystore = /etc/avance/monitor.p12
 * monitor.keystore-password-file = /etc/avance/monitor.pass
 * alert.smtp.host = mail.example.com
 * alert.from = avance@example.com
 * alert.to = ops@example.com, oncall@example.com
 * callhome.url = https://support.example.com/avance/events
 * vip.lan.interface = eth1
 * vip.lan.address = 192.0.2.10/24
 * </pre>
 *
 * <p>Passwords may be given inline ({@code ...password}) or, better, in a file
 * ({@code ...password-file}), whose first line is the password.
 */
final class OperationsConfigFile {

    /** The key prefixes this class owns. */
    static final List<String> PREFIXES = List.of("monitor.", "alert.", "callhome.", "bundle.", "vip.");

    private static final Set<String> KEYS = Set.of("monitor.listen", "monitor.keystore", "monitor.keystore-password",
            "monitor.keystore-password-file", "monitor.users-file", "monitor.session-timeout", "monitor.login-attempts",
            "monitor.lockout", "monitor.peer-url", "alert.smtp.host", "alert.smtp.port", "alert.smtp.security", "alert.smtp.user",
            "alert.smtp.password", "alert.smtp.password-file", "alert.from", "alert.to", "alert.repeat-interval",
            "alert.digest-interval", "alert.resync-stall", "callhome.url", "callhome.truststore",
            "callhome.truststore-password", "callhome.truststore-password-file", "callhome.site",
            "callhome.retry-initial", "callhome.retry-max", "callhome.attach-bundles", "bundle.logs");
    private static final Set<String> VIP_KEYS = Set.of("interface", "address", "forward-via");

    private OperationsConfigFile() {
    }

    static boolean owns(String key) {
        for (String prefix : PREFIXES) {
            if (key.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Parses the operations keys.
     *
     * @param values        every key of the file whose prefix is in {@link #PREFIXES}
     * @param baseDirectory what relative paths resolve against
     * @param nodeId        the node's id (the default call-home site)
     * @return the settings
     */
    static OperationsConfig parse(Map<String, String> values, Path baseDirectory, String nodeId) {
        Map<String, Map<String, String>> vips = new LinkedHashMap<>();
        for (Map.Entry<String, String> entry : values.entrySet()) {
            String key = entry.getKey();
            if (key.startsWith("vip.")) {
                String rest = key.substring("vip.".length());
                int dot = rest.lastIndexOf('.');
                if (dot <= 0 || !VIP_KEYS.contains(rest.substring(dot + 1))) {
                    throw new ConfigException(key, entry.getValue(),
                            "unknown key (virtual addresses take vip.NETWORK.interface, vip.NETWORK.address and "
                                    + "vip.NETWORK.forward-via)");
                }
                vips.computeIfAbsent(rest.substring(0, dot), n -> new LinkedHashMap<>())
                        .put(rest.substring(dot + 1), entry.getValue());
            } else if (!KEYS.contains(key)) {
                throw new ConfigException(key, entry.getValue(), "unknown key");
            }
        }
        OperationsConfig.Builder builder = new OperationsConfig.Builder();
        Optional<String> listen = optional(values, "monitor.listen");
        if (listen.isPresent()) {
            OperationsConfig.Monitor defaults = OperationsConfig.Monitor.on(ConfigValues.address("monitor.listen",
                    listen.get()));
            builder.monitor(new OperationsConfig.Monitor(defaults.listen(),
                    optional(values, "monitor.keystore").map(baseDirectory::resolve),
                    secret(values, "monitor.keystore-password", baseDirectory).orElse(""),
                    optional(values, "monitor.users-file").map(baseDirectory::resolve),
                    duration(values, "monitor.session-timeout", defaults.sessionTimeoutNanos()),
                    integer(values, "monitor.login-attempts", defaults.loginAttempts()),
                    duration(values, "monitor.lockout", defaults.lockoutNanos()),
                    optional(values, "monitor.peer-url").map(v -> uri("monitor.peer-url", v))));
        } else {
            requireAbsent(values, "monitor.", "monitor.listen");
        }
        Optional<String> smtp = optional(values, "alert.smtp.host");
        if (smtp.isPresent()) {
            OperationsConfig.SmtpSecurity security = optional(values, "alert.smtp.security").map(v -> {
                try {
                    return OperationsConfig.SmtpSecurity.valueOf(v.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("alert.smtp.security", v, "must be none, starttls or tls");
                }
            }).orElse(OperationsConfig.SmtpSecurity.NONE);
            int defaultPort = switch (security) {
                case NONE -> 25;
                case STARTTLS -> 587;
                case TLS -> 465;
            };
            List<String> to = new ArrayList<>();
            for (String address : optional(values, "alert.to").orElse("").split(",")) {
                if (!address.isBlank()) {
                    to.add(address.trim());
                }
            }
            builder.alerts(new OperationsConfig.Alerts(smtp.get(), integer(values, "alert.smtp.port", defaultPort),
                    security, optional(values, "alert.smtp.user"), secret(values, "alert.smtp.password", baseDirectory),
                    optional(values, "alert.from").orElse(null), to,
                    duration(values, "alert.repeat-interval", TimeUnit.HOURS.toNanos(4)),
                    duration(values, "alert.digest-interval", TimeUnit.MINUTES.toNanos(15)),
                    duration(values, "alert.resync-stall", TimeUnit.MINUTES.toNanos(5))));
        } else {
            requireAbsent(values, "alert.", "alert.smtp.host");
        }
        Optional<String> url = optional(values, "callhome.url");
        if (url.isPresent()) {
            URI uri;
            try {
                uri = new URI(url.get());
            } catch (URISyntaxException e) {
                throw new ConfigException("callhome.url", url.get(), "not a URL: " + e.getMessage());
            }
            builder.callHome(new OperationsConfig.CallHome(uri,
                    optional(values, "callhome.truststore").map(baseDirectory::resolve),
                    secret(values, "callhome.truststore-password", baseDirectory).orElse(""),
                    optional(values, "callhome.site").orElse(String.valueOf(nodeId)),
                    duration(values, "callhome.retry-initial", TimeUnit.SECONDS.toNanos(1)),
                    duration(values, "callhome.retry-max", TimeUnit.MINUTES.toNanos(5)),
                    optional(values, "callhome.attach-bundles").map(v -> ConfigValues.bool("callhome.attach-bundles", v))
                            .orElse(true)));
        } else {
            requireAbsent(values, "callhome.", "callhome.url");
        }
        for (String log : optional(values, "bundle.logs").orElse("").split(",")) {
            if (!log.isBlank()) {
                builder.bundleLog(baseDirectory.resolve(log.trim()));
            }
        }
        for (Map.Entry<String, Map<String, String>> vip : vips.entrySet()) {
            builder.virtualAddress(new OperationsConfig.VirtualAddress(vip.getKey(), vip.getValue().get("interface"),
                    vip.getValue().get("address"), Optional.ofNullable(vip.getValue().get("forward-via"))));
        }
        return builder.build();
    }

    private static URI uri(String key, String text) {
        try {
            return new URI(text);
        } catch (URISyntaxException e) {
            throw new ConfigException(key, text, "not a URL: " + e.getMessage());
        }
    }

    private static void requireAbsent(Map<String, String> values, String prefix, String main) {
        for (String key : values.keySet()) {
            if (key.startsWith(prefix)) {
                throw new ConfigException(key, key.contains("password") ? "<redacted>" : values.get(key),
                        "has no effect without " + main);
            }
        }
    }

    private static Optional<String> secret(Map<String, String> values, String key, Path baseDirectory) {
        Optional<String> inline = optional(values, key);
        Optional<String> file = optional(values, key + "-file");
        if (inline.isPresent() && file.isPresent()) {
            throw new ConfigException(key, "<redacted>", "set " + key + " or " + key + "-file, not both");
        }
        if (file.isPresent()) {
            try {
                List<String> lines = Files.readAllLines(baseDirectory.resolve(file.get()), StandardCharsets.UTF_8);
                if (lines.isEmpty() || lines.get(0).isEmpty()) {
                    throw new ConfigException(key + "-file", file.get(), "the file is empty");
                }
                return Optional.of(lines.get(0));
            } catch (IOException e) {
                throw new ConfigException(key + "-file", file.get(), "cannot read: " + e.getMessage());
            }
        }
        return inline;
    }

    private static long duration(Map<String, String> values, String key, long otherwise) {
        return optional(values, key).map(v -> ConfigValues.durationNanos(key, v)).orElse(otherwise);
    }

    private static int integer(Map<String, String> values, String key, int otherwise) {
        Optional<String> text = optional(values, key);
        if (text.isEmpty()) {
            return otherwise;
        }
        try {
            return Integer.parseInt(text.get());
        } catch (NumberFormatException e) {
            throw new ConfigException(key, text.get(), "not a whole number");
        }
    }

    private static Optional<String> optional(Map<String, String> values, String key) {
        return Optional.ofNullable(values.get(key)).filter(v -> !v.isEmpty());
    }
}
