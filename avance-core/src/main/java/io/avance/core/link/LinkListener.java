package io.avance.core.link;

import io.avance.core.wire.Message;

/**
 * What the private link tells the engine. Called on a Netty event loop; implementations hand the
 * work to the engine's owner thread and return at once.
 */
public interface LinkListener {

    /**
     * An authenticated session is open.
     *
     * @param peerIncarnation the peer's incarnation, from its hello
     */
    void onSessionUp(long peerIncarnation);

    /**
     * The session closed.
     *
     * @param reason why
     */
    void onSessionDown(String reason);

    /**
     * A message arrived on the open session.
     *
     * @param message the message
     */
    void onMessage(Message message);
}
