package io.avance.testkit.sim;

import io.avance.api.failover.FailoverPolicy;
import io.avance.api.failover.PairTimings;
import io.avance.core.failover.DefaultFailoverPolicy;
import io.avance.core.failover.PolicyConfig;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * What a simulation runs: the pair's settings, and which faults to draw and how often.
 *
 * @param timings          the pair's timing rules
 * @param phiThreshold     the detectors' threshold
 * @param policyConfig     the default policy's settings (the simulation runs the default policy
 *                         unless {@code policy} replaces it)
 * @param policy           makes the policy under test from the settings
 * @param publicNetworks   how many public networks (1 to 4)
 * @param witness          whether the pair has a quorum witness
 * @param faultPhaseNanos  how long faults are injected
 * @param healNanos        how long the pair runs after every fault has healed, before the final
 *                         liveness check
 * @param faults           the kinds of fault to draw
 * @param faultsPerSecond  how many faults start per simulated second, on average
 * @param maxLoss          the most random packet loss a loss fault applies (0 to 1)
 */
public record SimulationConfig(PairTimings timings, double phiThreshold, PolicyConfig policyConfig,
                               Function<PolicyConfig, FailoverPolicy> policy, int publicNetworks, boolean witness,
                               long faultPhaseNanos, long healNanos, Set<SimFault.Kind> faults,
                               double faultsPerSecond, double maxLoss) {

    /**
     * Validates the fields.
     */
    public SimulationConfig {
        Objects.requireNonNull(timings);
        Objects.requireNonNull(policyConfig);
        Objects.requireNonNull(policy);
        faults = faults.isEmpty() ? EnumSet.noneOf(SimFault.Kind.class) : EnumSet.copyOf(faults);
        if (publicNetworks < 1 || publicNetworks > 4) {
            throw new IllegalArgumentException("1 to 4 public networks");
        }
        if (faults.contains(SimFault.Kind.PARTITION) && !witness) {
            throw new IllegalArgumentException("a full partition of two running nodes can only be safe with a witness:"
                    + " without one, safety assumes a node cut off from its peer has lost its own public networks");
        }
        if (maxLoss < 0 || maxLoss > 1) {
            throw new IllegalArgumentException("loss is a probability");
        }
    }

    /**
     * Node faults that respect the no-witness safety assumption: crashes, freezes, cut private
     * links, failed NICs, isolated nodes, loss up to 10 %, delay spikes, health faults.
     *
     * @return the configuration
     */
    public static SimulationConfig nodeFaults() {
        return new SimulationConfig(PairTimings.defaults(), 8.0, fastPolicy(), DefaultFailoverPolicy::new, 2, false,
                60_000_000_000L, 20_000_000_000L,
                EnumSet.of(SimFault.Kind.CRASH, SimFault.Kind.PAUSE, SimFault.Kind.CUT_PRIVATE_LINK,
                        SimFault.Kind.NIC_DOWN, SimFault.Kind.ISOLATE, SimFault.Kind.LOSS, SimFault.Kind.DELAY,
                        SimFault.Kind.HEALTH),
                0.15, 0.10);
    }

    /**
     * Everything, with a witness: also full partitions of two running nodes, and the witness
     * becoming unreachable.
     *
     * @return the configuration
     */
    public static SimulationConfig withWitness() {
        return new SimulationConfig(PairTimings.defaults(), 8.0, fastPolicy(), DefaultFailoverPolicy::new, 2, true,
                60_000_000_000L, 20_000_000_000L, EnumSet.allOf(SimFault.Kind.class), 0.15, 0.10);
    }

    /**
     * The default policy with reboot and failover hold-offs short enough that a minute of
     * simulated time sees them act several times.
     *
     * @return the policy settings
     */
    public static PolicyConfig fastPolicy() {
        long second = 1_000_000_000L;
        return PolicyConfig.defaults().withRebootTiming(2 * second, 60 * second, 10 * second)
                .withFailoverHoldOff(5 * second);
    }

    /**
     * A copy with other fault kinds and rate.
     *
     * @param kinds           the kinds of fault to draw
     * @param faultsPerSecond how often
     * @return the new configuration
     */
    public SimulationConfig withFaults(Set<SimFault.Kind> kinds, double faultsPerSecond) {
        return new SimulationConfig(timings, phiThreshold, policyConfig, policy, publicNetworks, witness,
                faultPhaseNanos, healNanos, kinds, faultsPerSecond, maxLoss);
    }

    /**
     * A copy with other phase lengths.
     *
     * @param faultPhase how long faults are injected
     * @param heal       how long the pair runs after they heal
     * @return the new configuration
     */
    public SimulationConfig withDurations(long faultPhase, long heal) {
        return new SimulationConfig(timings, phiThreshold, policyConfig, policy, publicNetworks, witness, faultPhase,
                heal, faults, faultsPerSecond, maxLoss);
    }

    /**
     * A copy running another policy.
     *
     * @param factory makes the policy from the settings
     * @return the new configuration
     */
    public SimulationConfig withPolicy(Function<PolicyConfig, FailoverPolicy> factory) {
        return new SimulationConfig(timings, phiThreshold, policyConfig, factory, publicNetworks, witness,
                faultPhaseNanos, healNanos, faults, faultsPerSecond, maxLoss);
    }
}
