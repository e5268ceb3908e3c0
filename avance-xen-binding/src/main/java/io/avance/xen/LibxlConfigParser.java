package io.avance.xen;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.xen.libxl.LibC;
import io.avance.xen.libxl.LibXenLight;
import io.avance.xen.libxl.NativeLayout;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Hands a JSON domain configuration to libxl and checks what libxl made of it: parse with
 * {@code libxl_domain_config_from_json} into an opaque {@code libxl_domain_config}, render it
 * back with {@code libxl_domain_config_to_json} (freed with libc {@code free}), and require
 * every value sent to be in the rendering ({@link DomainConfigJson#checkRoundTrip}).
 *
 * <p>Separate from {@link XenSession} so that a test can run it against the real libxl with a
 * stub for the hypercall layer, on a machine without Xen. Stateless; thread-safe given a
 * context.
 */
final class LibxlConfigParser {

    private LibxlConfigParser() {
    }

    /**
     * Parses, checks, and lends the parsed configuration to {@code use}; disposes of it after.
     *
     * @param light   libxl
     * @param c       libc
     * @param context a libxl context (never NULL: from_json needs its allocator)
     * @param vm      the VM, for messages
     * @param config  the configuration
     * @param use     what to do with the parsed {@code libxl_domain_config *}
     * @return what {@code use} returned
     * @throws HypervisorException if libxl refuses the text or does not keep a value
     */
    static int parse(LibXenLight light, LibC c, Pointer context, String vm, Map<String, Object> config,
                     ToIntFunction<Pointer> use) {
        if (context == null) {
            throw new IllegalArgumentException("no libxl context");
        }
        String json = Json.write(config);
        Memory parsed = new Memory(NativeLayout.DOMAIN_CONFIG_SIZE);
        parsed.clear();
        light.libxl_domain_config_init(parsed);
        try {
            int rc = light.libxl_domain_config_from_json(context, parsed, json);
            if (rc != 0) {
                throw new HypervisorException("libxl_domain_config_from_json of VM '" + vm + "' failed: "
                        + LibxlErrors.describe(rc));
            }
            Pointer rendered = light.libxl_domain_config_to_json(context, parsed);
            if (rendered == null) {
                throw new HypervisorException("libxl_domain_config_to_json of VM '" + vm + "' returned nothing");
            }
            String back;
            try {
                back = rendered.getString(0, StandardCharsets.UTF_8.name());
            } finally {
                c.free(rendered);
            }
            DomainConfigJson.checkRoundTrip(vm, config, back);
            return use.applyAsInt(parsed);
        } finally {
            light.libxl_domain_config_dispose(parsed);
        }
    }
}
