/**
 * Block stores for tests: real files that fail on command, to exercise a node's disk-failure
 * handling (rule 5) with every other part real.
 */
package io.avance.testkit.storage;
