package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The contract classes reference nothing but {@code avance-api}, JUnit 5 and {@code java.base}:
 * the Xen binding runs them in a dom0 on a jlinked JRE with only those jars. Checked in the
 * compiled class files, constant pool by constant pool.
 */
class ContractDependenciesTest {

    /** The contract classes; their nested classes are included. */
    private static final Set<String> CONTRACT = Set.of("AdapterUnderTest", "HypervisorContractSupport",
            "LifecycleContract", "EventsContract", "GuestMemoryContract", "MigrationContract",
            "NativeMigrationContract", "HypervisorAdapterContract", "EventRecorder", "SimpleHypervisorContext");
    private static final String PACKAGE = "io/avance/testkit/hypervisor/";
    private static final Pattern DESCRIPTOR = Pattern.compile("L([A-Za-z_$][A-Za-z0-9_$/]*);");

    @Test
    void contractClassesUseOnlyTheApiJunitAndJavaBase() throws Exception {
        Path classes = Path.of(AdapterUnderTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(PACKAGE);
        List<Path> files;
        try (Stream<Path> list = Files.list(classes)) {
            files = list.filter(f -> CONTRACT.contains(f.getFileName().toString().replaceAll("(\\$.*)?\\.class$", "")))
                    .filter(f -> f.toString().endsWith(".class")).sorted().collect(Collectors.toList());
        }
        assertTrue(files.size() >= CONTRACT.size(), "contract class files found: " + files);
        Set<String> wrong = new TreeSet<>();
        for (Path file : files) {
            try (InputStream in = Files.newInputStream(file)) {
                for (String reference : references(in)) {
                    if (!allowed(reference)) {
                        wrong.add(file.getFileName() + " -> " + reference);
                    }
                }
            }
        }
        assertEquals(Set.of(), wrong, "contract classes must not depend on these");
    }

    @Test
    void theCheckFindsADependencyWhereThereIsOne() throws Exception {
        try (InputStream in = StandaloneVolumes.class.getResourceAsStream("StandaloneVolumes.class")) {
            Set<String> references = references(in);
            assertTrue(references.contains("io/avance/core/replication/VolumeManager"), references.toString());
            assertFalse(references.stream().allMatch(ContractDependenciesTest::allowed),
                    "StandaloneVolumes uses avance-core; the check must say so");
        }
    }

    private static boolean allowed(String name) {
        if (name.startsWith("io/avance/api/") || name.startsWith("org/junit/") || name.startsWith("org/opentest4j/")) {
            return true;
        }
        if (name.startsWith(PACKAGE)) {
            String simple = name.substring(PACKAGE.length()).replaceAll("\\$.*", "");
            return CONTRACT.contains(simple);
        }
        if (name.startsWith("java/")) {
            try {
                Class<?> type = Class.forName(name.replace('/', '.'), false, ClassLoader.getPlatformClassLoader());
                return "java.base".equals(type.getModule().getName());
            } catch (ClassNotFoundException e) {
                return false;
            }
        }
        return false;
    }

    /** Every class named in a class file: class entries and the types inside descriptors. */
    static Set<String> references(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        int[] classIndexes = new int[count];
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1:
                    utf8[i] = in.readUTF();
                    break;
                case 7:
                    classIndexes[i] = in.readUnsignedShort();
                    break;
                case 8: case 16: case 19: case 20:
                    in.readUnsignedShort();
                    break;
                case 15:
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                    break;
                case 3: case 4: case 9: case 10: case 11: case 12: case 17: case 18:
                    in.readInt();
                    break;
                case 5: case 6:
                    in.readLong();
                    i++;
                    break;
                default:
                    throw new IOException("unknown constant pool tag " + tag);
            }
        }
        Set<String> names = new TreeSet<>();
        for (int i = 1; i < count; i++) {
            if (classIndexes[i] != 0) {
                String name = utf8[classIndexes[i]];
                String element = name.startsWith("[") ? arrayElement(name) : name;
                if (element != null) {
                    names.add(element);
                }
            }
            if (utf8[i] != null) {
                Matcher matcher = DESCRIPTOR.matcher(utf8[i]);
                while (matcher.find()) {
                    names.add(matcher.group(1));
                }
            }
        }
        return names;
    }

    private static String arrayElement(String descriptor) {
        Matcher matcher = DESCRIPTOR.matcher(descriptor);
        return matcher.find() ? matcher.group(1) : null;
    }
}
