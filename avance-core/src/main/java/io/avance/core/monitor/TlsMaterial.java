package io.avance.core.monitor;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The monitor's key and certificate: from a configured PKCS#12 keystore, or a self-signed
 * certificate made on first start and kept in the data directory, so that the fingerprint an
 * operator checked once stays the same across restarts.
 *
 * <p>The self-signed certificate has an EC P-256 key, is valid for ten years, and names
 * {@code localhost}, the node's host name, the listen address and every address of this
 * machine, so a browser that was told to trust it accepts it on any of them. Immutable.
 */
public final class TlsMaterial {

    /** The file the self-signed keystore is kept in, in the data directory. */
    public static final String SELF_SIGNED_FILE = "monitor-tls.p12";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final PrivateKey key;
    private final X509Certificate[] chain;
    private final boolean selfSigned;

    private TlsMaterial(PrivateKey key, X509Certificate[] chain, boolean selfSigned) {
        this.key = key;
        this.chain = chain;
        this.selfSigned = selfSigned;
    }

    /**
     * Loads the first key entry of a PKCS#12 keystore.
     *
     * @param keystore the file
     * @param password its password (also the key's)
     * @return the material
     * @throws IllegalArgumentException if the file has no usable key
     */
    public static TlsMaterial load(Path keystore, char[] password) {
        try (InputStream in = Files.newInputStream(keystore)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
            Enumeration<String> aliases = store.aliases();
            while (aliases.hasMoreElements()) {
                String alias = aliases.nextElement();
                if (store.isKeyEntry(alias)) {
                    Certificate[] certificates = store.getCertificateChain(alias);
                    X509Certificate[] chain = new X509Certificate[certificates.length];
                    for (int i = 0; i < certificates.length; i++) {
                        chain[i] = (X509Certificate) certificates[i];
                    }
                    boolean self = chain.length == 1
                            && chain[0].getSubjectX500Principal().equals(chain[0].getIssuerX500Principal());
                    return new TlsMaterial((PrivateKey) store.getKey(alias, password), chain, self);
                }
            }
            throw new IllegalArgumentException("the keystore " + keystore + " holds no private key");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the keystore " + keystore + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the keystore " + keystore + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads the self-signed certificate kept in a data directory, making it first if there is none.
     *
     * @param dataDirectory the node's data directory
     * @param nodeName      the node's id, for the certificate's subject
     * @param extraNames    more host names or addresses the certificate should name
     * @param clock         for the validity period
     * @return the material
     */
    public static TlsMaterial selfSigned(Path dataDirectory, String nodeName, List<String> extraNames, Clock clock) {
        Path file = dataDirectory.resolve(SELF_SIGNED_FILE);
        Path passwordFile = dataDirectory.resolve(SELF_SIGNED_FILE + ".pass");
        try {
            if (Files.exists(file) && Files.exists(passwordFile)) {
                return load(file, Files.readString(passwordFile, StandardCharsets.UTF_8).trim().toCharArray());
            }
            Files.createDirectories(dataDirectory);
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            KeyPair pair = generator.generateKeyPair();
            X509Certificate certificate = certificate(pair, nodeName, names(extraNames), clock.instant());
            byte[] secret = new byte[18];
            RANDOM.nextBytes(secret);
            char[] password = Base64.getEncoder().encodeToString(secret).toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("monitor", pair.getPrivate(), password, new Certificate[] {certificate});
            Path temporary = file.resolveSibling(SELF_SIGNED_FILE + ".tmp");
            try (OutputStream out = Files.newOutputStream(temporary)) {
                store.store(out, password);
            }
            writeOwnerOnly(passwordFile, new String(password) + "\n");
            ownerOnly(temporary);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return new TlsMaterial(pair.getPrivate(), new X509Certificate[] {certificate}, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the monitor's certificate in " + dataDirectory, e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make a self-signed certificate", e);
        }
    }

    private static List<String> names(List<String> extra) {
        List<String> names = new ArrayList<>(List.of("localhost", "127.0.0.1", "::1"));
        try {
            names.add(InetAddress.getLocalHost().getHostName());
        } catch (IOException e) {
            // No resolvable host name: the addresses still work.
        }
        try {
            for (java.net.NetworkInterface nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress address : java.util.Collections.list(nic.getInetAddresses())) {
                    String text = address.getHostAddress();
                    int zone = text.indexOf('%');
                    names.add(zone >= 0 ? text.substring(0, zone) : text);
                }
            }
        } catch (IOException e) {
            // Interfaces cannot be listed: the configured names still work.
        }
        for (String name : extra) {
            if (name != null && !name.isBlank() && !name.equals("0.0.0.0") && !name.equals("::")) {
                names.add(name);
            }
        }
        return names.stream().distinct().toList();
    }

    private static X509Certificate certificate(KeyPair pair, String nodeName, List<String> names, Instant now)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        X500Name subject = new X500Name("CN=Avance monitor " + nodeName.replaceAll("[,=+<>#;\"\\\\]", "_")
                + ",O=Avance");
        List<GeneralName> alternatives = new ArrayList<>();
        for (String name : names) {
            boolean address = name.matches("[0-9.]+") || name.contains(":");
            alternatives.add(new GeneralName(address ? GeneralName.iPAddress : GeneralName.dNSName, name));
        }
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                new BigInteger(64, RANDOM).abs().add(BigInteger.ONE), Date.from(now.minus(Duration.ofDays(1))),
                Date.from(now.plus(Duration.ofDays(3650))), subject, pair.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(alternatives.toArray(GeneralName[]::new)));
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static void writeOwnerOnly(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        ownerOnly(file);
    }

    private static void ownerOnly(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system.
        }
    }

    /**
     * A key manager for an SSL context.
     *
     * @return the factory, holding the key and chain
     */
    public KeyManagerFactory keyManagers() {
        try {
            char[] password = "in-memory".toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("monitor", key, password, chain);
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(store, password);
            return factory;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the certificate the server presents */
    public X509Certificate certificate() {
        return chain[0];
    }

    /** @return whether the certificate is self-signed */
    public boolean selfSigned() {
        return selfSigned;
    }

    /**
     * The certificate's SHA-256 fingerprint, as browsers show it.
     *
     * @return such as "AB:CD:..."
     */
    public String fingerprint() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded());
            return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A keystore with just the certificate, for clients that should trust this server.
     *
     * @return a PKCS#12 trust store with no password
     */
    public KeyStore trustStore() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("monitor", chain[0]);
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The key and chain as a keystore, for servers that take one (a test's HTTPS endpoint).
     *
     * @param password the password to protect the key with
     * @return a PKCS#12 keystore
     */
    public KeyStore keyStore(char[] password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("monitor", key, password, chain);
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the key, for servers that take it directly */
    PrivateKey key() {
        return key;
    }

    /** @return the chain */
    X509Certificate[] chain() {
        return chain.clone();
    }

}
