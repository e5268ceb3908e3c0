package io.avance.core.monitor;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Salted, slow password hashes: PBKDF2 with HMAC-SHA512, a 16-byte random salt and 210,000
 * iterations (OWASP's figure for this function), written as
 * {@code pbkdf2-sha512$ITERATIONS$SALT$HASH} with base64 salt and hash. The iteration count
 * travels with the hash, so it can be raised later without invalidating stored passwords.
 * Thread-safe.
 */
public final class PasswordHash {

    /** The iterations new hashes use. */
    public static final int ITERATIONS = 210_000;
    private static final String PREFIX = "pbkdf2-sha512";
    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswordHash() {
    }

    /**
     * Hashes a password with a fresh salt.
     *
     * @param password the password
     * @return the encoded hash
     */
    public static String hash(char[] password) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return encode(ITERATIONS, salt, derive(password, salt, ITERATIONS));
    }

    /**
     * Checks a password against an encoded hash, in time independent of where they differ.
     *
     * @param password the password offered
     * @param encoded  the stored hash
     * @return true if it matches
     */
    public static boolean verify(char[] password, String encoded) {
        String[] parts = encoded.split("\\$");
        if (parts.length != 4 || !parts[0].equals(PREFIX)) {
            return false;
        }
        int iterations;
        byte[] salt;
        byte[] expected;
        try {
            iterations = Integer.parseInt(parts[1]);
            salt = Base64.getDecoder().decode(parts[2]);
            expected = Base64.getDecoder().decode(parts[3]);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (iterations < 1 || iterations > 10_000_000) {
            return false;
        }
        return MessageDigest.isEqual(expected, derive(password, salt, iterations));
    }

    /**
     * Tells whether a text is a hash this class writes.
     *
     * @param encoded the text
     * @return true if it has the form of one
     */
    public static boolean looksValid(String encoded) {
        return encoded.startsWith(PREFIX + "$") && encoded.split("\\$").length == 4;
    }

    private static String encode(int iterations, byte[] salt, byte[] hash) {
        return PREFIX + "$" + iterations + "$" + Base64.getEncoder().encodeToString(salt) + "$"
                + Base64.getEncoder().encodeToString(hash);
    }

    private static byte[] derive(char[] password, byte[] salt, int iterations) {
        PBEKeySpec spec = new PBEKeySpec(password, salt, iterations, 512);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA512 is missing from this JDK", e);
        } finally {
            spec.clearPassword();
        }
    }
}
