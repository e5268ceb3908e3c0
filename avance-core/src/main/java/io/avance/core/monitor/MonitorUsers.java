package io.avance.core.monitor;

import io.avance.core.store.AtomicFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The monitor's users, in a file of one line per user:
 *
 * <pre>
 * # name:role:hash
 * alice:administrator:pbkdf2-sha512$210000$...$...
 * bob:viewer:pbkdf2-sha512$210000$...$...
 * </pre>
 *
 * <p>The file is read again when it changes, so {@code avance monitor-user} takes effect
 * without a restart. It is written with owner-only permissions. Thread-safe.
 */
public final class MonitorUsers {

    private static final SecureRandom RANDOM = new SecureRandom();
    /** Verified against for unknown names, so that timing does not tell which names exist. */
    private static final String DUMMY = PasswordHash.hash("not a password".toCharArray());

    private final Path file;
    private Map<String, Entry> users = Map.of();
    private FileTime loaded;

    /**
     * One user.
     *
     * @param name the user name
     * @param role what the user may do
     * @param hash the password hash
     */
    public record Entry(String name, Role role, String hash) {
        /**
         * Validates the fields.
         */
        public Entry {
            if (name == null || !name.matches("[A-Za-z0-9._@-]{1,64}")) {
                throw new IllegalArgumentException("a user name is 1-64 characters of A-Z a-z 0-9 . _ @ -: " + name);
            }
            Objects.requireNonNull(role, "role");
            if (hash == null || !PasswordHash.looksValid(hash)) {
                throw new IllegalArgumentException("not a password hash for user " + name);
            }
        }
    }

    /**
     * Opens a users file (it need not exist yet).
     *
     * @param file the file
     */
    public MonitorUsers(Path file) {
        this.file = Objects.requireNonNull(file);
    }

    /**
     * Checks a user name and password.
     *
     * @param name     the name
     * @param password the password
     * @return the user, if the password is right
     */
    public Optional<Entry> authenticate(String name, char[] password) {
        Entry entry = current().get(name);
        if (entry == null) {
            PasswordHash.verify(password, DUMMY);
            return Optional.empty();
        }
        return PasswordHash.verify(password, entry.hash()) ? Optional.of(entry) : Optional.empty();
    }

    /**
     * The users now in the file.
     *
     * @return name to user
     */
    public synchronized Map<String, Entry> current() {
        try {
            if (!Files.exists(file)) {
                users = Map.of();
                loaded = null;
                return users;
            }
            FileTime modified = Files.getLastModifiedTime(file);
            if (!modified.equals(loaded)) {
                users = read(file);
                loaded = modified;
            }
            return users;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the users file " + file, e);
        }
    }

    /**
     * Reads a users file.
     *
     * @param file the file
     * @return name to user
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException naming the line at fault
     */
    public static Map<String, Entry> read(Path file) throws IOException {
        Map<String, Entry> users = new LinkedHashMap<>();
        int number = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            number++;
            String trimmed = line.trim();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            String[] parts = trimmed.split(":", 3);
            try {
                if (parts.length != 3) {
                    throw new IllegalArgumentException("expected name:role:hash");
                }
                users.put(parts[0], new Entry(parts[0], Role.parse(parts[1]), parts[2]));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + number + ": " + e.getMessage(), e);
            }
        }
        return users;
    }

    /**
     * Adds a user or replaces its role and password.
     *
     * @param file     the users file
     * @param name     the user name
     * @param role     the role
     * @param password the password (at least 8 characters)
     * @throws IOException if the file cannot be read or written
     */
    public static synchronized void put(Path file, String name, Role role, char[] password) throws IOException {
        if (password.length < 8) {
            throw new IllegalArgumentException("a password has at least 8 characters");
        }
        Map<String, Entry> users = Files.exists(file) ? read(file) : new LinkedHashMap<>();
        users.put(name, new Entry(name, role, PasswordHash.hash(password)));
        write(file, users);
    }

    /**
     * Removes a user.
     *
     * @param file the users file
     * @param name the user name
     * @return true if there was such a user
     * @throws IOException if the file cannot be read or written
     */
    public static synchronized boolean remove(Path file, String name) throws IOException {
        Map<String, Entry> users = Files.exists(file) ? read(file) : new LinkedHashMap<>();
        boolean removed = users.remove(name) != null;
        write(file, users);
        return removed;
    }

    /**
     * Makes the first administrator, {@code admin}, with a random password, if the file does not
     * exist. The password is written to a file beside it, readable only by the owner, for the
     * installer to read once and delete.
     *
     * @param file the users file
     * @return the file holding the initial password, if one was made
     * @throws IOException if the files cannot be written
     */
    public static synchronized Optional<Path> createInitial(Path file) throws IOException {
        if (Files.exists(file)) {
            return Optional.empty();
        }
        byte[] random = new byte[12];
        RANDOM.nextBytes(random);
        String password = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        put(file, "admin", Role.ADMINISTRATOR, password.toCharArray());
        Path passwordFile = file.resolveSibling(file.getFileName() + ".initial-password");
        AtomicFile.write(passwordFile, (password + "\n").getBytes(StandardCharsets.UTF_8));
        ownerOnly(passwordFile);
        return Optional.of(passwordFile);
    }

    private static void write(Path file, Map<String, Entry> users) throws IOException {
        StringBuilder text = new StringBuilder("# Avance monitor users: name:role:hash (roles: viewer, operator, "
                + "administrator)\n");
        for (Entry entry : users.values()) {
            text.append(entry.name()).append(':').append(entry.role().label()).append(':').append(entry.hash())
                    .append('\n');
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        AtomicFile.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
        ownerOnly(file);
    }

    private static void ownerOnly(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: its own permissions apply.
        }
    }
}
