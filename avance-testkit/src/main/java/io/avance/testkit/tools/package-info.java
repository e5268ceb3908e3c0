/**
 * Small helpers for end-to-end tests: running real client programs (qemu-img, nbdinfo, fio) with
 * a time limit, and waiting for a condition over in-process nodes without sleeping.
 */
package io.avance.testkit.tools;
