/**
 * Two volume managers joined by a real private link on loopback, without the failover engine:
 * the test bed for replication, resync, verify and split brain, where a test sets the roles.
 */
package io.avance.testkit.replication;
