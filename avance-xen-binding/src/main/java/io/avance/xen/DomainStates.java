package io.avance.xen;

import io.avance.api.hypervisor.VmState;

/**
 * Turns what libxl reports about a domain into a {@link VmState}, and names the domains of a VM
 * during a migration. Pure functions; thread-safe.
 *
 * <p>Xen has no "defined" domains: a domain exists only while it runs, is paused, or has shut
 * down and not yet been destroyed. The states of a VM with no domain (DEFINED, STOPPED,
 * CRASHED) come from the adapter's own records, not from here.
 *
 * <pre>
 *   libxl_dominfo                               VmState
 *   name ends --incoming, paused            -&gt;  PAUSED     (received, until the engine resumes it)
 *   name ends --incoming, not paused        -&gt;  MIGRATING  (being restored)
 *   name ends --migratedaway                -&gt;  MIGRATING
 *   dying                                   -&gt;  STOPPING
 *   shutdown, reason SUSPEND                -&gt;  MIGRATING  (libxl_domain_suspend finished)
 *   shutdown, reason POWEROFF               -&gt;  STOPPING   (the adapter destroys it next)
 *   shutdown, reason REBOOT                 -&gt;  STARTING   (the adapter rebuilds it next)
 *   shutdown, any other reason              -&gt;  CRASHED
 *   paused                                  -&gt;  PAUSED
 *   otherwise (running or blocked)          -&gt;  RUNNING
 * </pre>
 */
final class DomainStates {

    /** The name of the paused copy a migration target builds, until the engine resumes it. */
    static final String INCOMING_SUFFIX = "--incoming";
    /** The name of a migration source after its stream is sent, until the target takes over. */
    static final String MIGRATED_AWAY_SUFFIX = "--migratedaway";

    /** {@code LIBXL_SHUTDOWN_REASON_POWEROFF}. */
    static final int SHUTDOWN_POWEROFF = 0;
    /** {@code LIBXL_SHUTDOWN_REASON_REBOOT}. */
    static final int SHUTDOWN_REBOOT = 1;
    /** {@code LIBXL_SHUTDOWN_REASON_SUSPEND}. */
    static final int SHUTDOWN_SUSPEND = 2;
    /** {@code LIBXL_SHUTDOWN_REASON_CRASH}. */
    static final int SHUTDOWN_CRASH = 3;
    /** {@code LIBXL_SHUTDOWN_REASON_WATCHDOG}. */
    static final int SHUTDOWN_WATCHDOG = 4;
    /** {@code LIBXL_SHUTDOWN_REASON_SOFT_RESET}. */
    static final int SHUTDOWN_SOFT_RESET = 5;

    private DomainStates() {
    }

    /**
     * The state of a VM whose domain libxl reported.
     *
     * @param domain the domain
     * @return its state
     */
    static VmState of(DomainSnapshot domain) {
        if (domain.name().endsWith(INCOMING_SUFFIX)) {
            return domain.paused() && !domain.shutdown() && !domain.dying() ? VmState.PAUSED : VmState.MIGRATING;
        }
        if (domain.name().endsWith(MIGRATED_AWAY_SUFFIX)) {
            return VmState.MIGRATING;
        }
        if (domain.dying()) {
            return VmState.STOPPING;
        }
        if (domain.shutdown()) {
            return switch (domain.shutdownReason()) {
                case SHUTDOWN_SUSPEND -> VmState.MIGRATING;
                case SHUTDOWN_POWEROFF -> VmState.STOPPING;
                case SHUTDOWN_REBOOT -> VmState.STARTING;
                default -> VmState.CRASHED;
            };
        }
        if (domain.paused()) {
            return VmState.PAUSED;
        }
        return VmState.RUNNING;
    }

    /**
     * The name of a shutdown reason, for event details and logs.
     *
     * @param reason {@code libxl_shutdown_reason}
     * @return its name
     */
    static String shutdownReason(int reason) {
        return switch (reason) {
            case SHUTDOWN_POWEROFF -> "poweroff";
            case SHUTDOWN_REBOOT -> "reboot";
            case SHUTDOWN_SUSPEND -> "suspend";
            case SHUTDOWN_CRASH -> "crash";
            case SHUTDOWN_WATCHDOG -> "watchdog";
            case SHUTDOWN_SOFT_RESET -> "soft_reset";
            default -> "unknown (" + reason + ")";
        };
    }

    /**
     * The VM a domain belongs to, judging by its name.
     *
     * @param domainName the domain's name
     * @return the VM's name (the name without a migration suffix)
     */
    static String vmName(String domainName) {
        if (domainName.endsWith(INCOMING_SUFFIX)) {
            return domainName.substring(0, domainName.length() - INCOMING_SUFFIX.length());
        }
        if (domainName.endsWith(MIGRATED_AWAY_SUFFIX)) {
            return domainName.substring(0, domainName.length() - MIGRATED_AWAY_SUFFIX.length());
        }
        return domainName;
    }
}
