package io.avance.core.pair;

import io.avance.api.NodeId;
import io.avance.core.store.DurableProperties;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The part of a node's pair state that must survive a crash: the latest epoch it knows and that
 * epoch's primary. Knowing them is a promise: a node that recorded epoch 7 for its peer never
 * serves in epoch 7 or any earlier one.
 *
 * @param node         the node this state belongs to (guards against a data directory copied
 *                     from the other node)
 * @param epoch        the latest epoch
 * @param epochPrimary that epoch's primary, if chosen
 */
public record PersistedPairState(NodeId node, long epoch, Optional<NodeId> epochPrimary) {

    /** The file's name in the data directory. */
    public static final String FILE_NAME = "pair-state.properties";

    /**
     * Validates the fields.
     */
    public PersistedPairState {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(epochPrimary, "epochPrimary");
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must not be negative: " + epoch);
        }
    }

    /**
     * The state of a node that has never paired.
     *
     * @param node the node
     * @return epoch 0 with no primary
     */
    public static PersistedPairState initial(NodeId node) {
        return new PersistedPairState(node, 0, Optional.empty());
    }

    /**
     * Loads the state from a data directory.
     *
     * @param dataDirectory the node's data directory
     * @param node          the node expected to own it
     * @return the state, or the initial state if there is no file
     * @throws IllegalStateException if the file belongs to another node or is damaged
     */
    public static PersistedPairState load(Path dataDirectory, NodeId node) {
        Path file = dataDirectory.resolve(FILE_NAME);
        Optional<Map<String, String>> entries;
        try {
            entries = DurableProperties.read(file);
        } catch (DurableProperties.CorruptFileException e) {
            throw new IllegalStateException("the pair state is damaged; refusing to start rather than guess the "
                    + "epoch (restore it, or remove it only if this node's peer holds the current data): "
                    + e.getMessage(), e);
        }
        if (entries.isEmpty()) {
            return initial(node);
        }
        Map<String, String> values = entries.get();
        String owner = values.getOrDefault("node", "");
        if (!owner.equals(node.value())) {
            throw new IllegalStateException(file + " belongs to node '" + owner + "', not '" + node
                    + "': is node.data-dir pointing at the other node's directory?");
        }
        try {
            long epoch = Long.parseLong(values.getOrDefault("epoch", "0"));
            String primary = values.getOrDefault("epoch-primary", "");
            return new PersistedPairState(node, epoch, primary.isEmpty() ? Optional.empty()
                    : Optional.of(NodeId.of(primary)));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(file + " has a bad value: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the state durably (atomic replace, fsync).
     *
     * @param dataDirectory the node's data directory
     */
    public void save(Path dataDirectory) {
        DurableProperties.write(dataDirectory.resolve(FILE_NAME), Map.of(
                "node", node.value(),
                "epoch", Long.toString(epoch),
                "epoch-primary", epochPrimary.map(NodeId::value).orElse("")));
    }
}
