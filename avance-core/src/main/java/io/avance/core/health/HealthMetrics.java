package io.avance.core.health;

import io.avance.api.NodeId;
import io.avance.api.event.FaultCleared;
import io.avance.api.event.FaultRaised;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;

/**
 * Publishes a node's health to Micrometer.
 *
 * <ul>
 *   <li>{@code avance.health.score{node}}: the score, 0 to 1000;</li>
 *   <li>{@code avance.health.fault{node,component,location,severity,predicted}}: one gauge per
 *       active fault, its value the points it takes off the score; gone when the fault clears.</li>
 * </ul>
 */
public final class HealthMetrics {

    private final FaultRegistry registry;
    private final MultiGauge faults;
    private final NodeId node;

    private HealthMetrics(NodeId node, FaultRegistry registry, MeterRegistry meters) {
        this.node = node;
        this.registry = registry;
        Gauge.builder("avance.health.score", registry, r -> r.score().value())
                .description("health score of the node, 0 (worst) to 1000 (no faults)")
                .tag("node", node.value())
                .register(meters);
        this.faults = MultiGauge.builder("avance.health.fault")
                .description("an active fault; the value is the points it takes off the health score")
                .register(meters);
    }

    /**
     * Binds a registry's health to a meter registry, and keeps the fault gauges current.
     *
     * @param node     the node
     * @param registry its faults
     * @param meters   where the gauges go
     * @return the binding
     */
    public static HealthMetrics bind(NodeId node, FaultRegistry registry, MeterRegistry meters) {
        HealthMetrics metrics = new HealthMetrics(node, registry, meters);
        registry.addListener(event -> {
            if (event instanceof FaultRaised || event instanceof FaultCleared) {
                metrics.update();
            }
        });
        metrics.update();
        return metrics;
    }

    private void update() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (FaultRegistry.ActiveFault active : registry.activeFaults()) {
            rows.add(MultiGauge.Row.of(Tags.of("node", node.value(),
                    "component", active.fault().component().name().toLowerCase(java.util.Locale.ROOT),
                    "location", active.fault().location(),
                    "severity", active.fault().severity().name().toLowerCase(java.util.Locale.ROOT),
                    "predicted", String.valueOf(active.fault().predicted())), active.fault().weight()));
        }
        faults.register(rows, true);
    }
}
