/*
 * Stands in for the hypercall and xenstore layers under libxl, so that libxl's own JSON
 * configuration code can be exercised on a machine without Xen (libvirt's tests do the same,
 * in tests/libxlmock.c). Any real hypercall through these fake handles would crash: the test
 * that loads this runs in a JVM of its own and only parses configurations.
 */
#include <stddef.h>

void *xc_interface_open(void *logger, void *dombuild_logger, unsigned open_flags) {
    (void)logger; (void)dombuild_logger; (void)open_flags;
    return (void *)1;
}

int xc_interface_close(void *xch) {
    (void)xch;
    return 0;
}

void *xs_open(unsigned long flags) {
    (void)flags;
    return (void *)1;
}

void xs_close(void *xsh) {
    (void)xsh;
}
