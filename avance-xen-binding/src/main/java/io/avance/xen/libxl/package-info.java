/**
 * JNA mappings of the Xen 4.17 toolstack libraries: libxl ({@code libxenlight.so.4.17}),
 * libxenctrl ({@code libxenctrl.so.4.17}), libxenforeignmemory and libxentoollog.
 *
 * <p>Internal to the Xen binding. The types are public only because JNA instantiates and reads
 * {@link com.sun.jna.Structure} subclasses reflectively; they are not an API and change with
 * every Xen release. Every structure is checked against the C headers by the module's layout
 * test, and every function is checked to resolve in the real libraries.
 *
 * <p>Why exact sonames and a 4.17-only mapping: libxl and libxenctrl change soname with every
 * Xen release, their symbols are versioned per release, and struct layouts move (for example
 * {@code libxl_dominfo.gpaddr_bits} appeared in 4.16). Loading "the newest libxenlight" would
 * bind these layouts to a library they do not describe.
 */
package io.avance.xen.libxl;
