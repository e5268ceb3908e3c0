/**
 * The node's local administration socket: a Unix domain socket in the data directory through
 * which the {@code avance} command line asks a running node for its status and tells it to switch
 * over, enter maintenance, or start, stop and restart VMs. Only local users with access to the
 * data directory can reach it (the socket file is readable and writable by its owner only).
 */
package io.avance.core.admin;
