/**
 * The reference hypervisor adapter: Xen 4.17 through libxl, from a Xen dom0.
 *
 * <p>{@link io.avance.xen.XenHypervisorAdapter} implements the SPI over libxl
 * ({@code libxenlight.so.4.17}), libxenctrl and libxenforeignmemory, called through JNA (the
 * mappings are in {@code io.avance.xen.libxl}). {@code DomainConfigJson} turns a VM spec into
 * libxl's JSON domain configuration and checks that libxl kept every value; {@code XenSession}
 * owns the native handles; {@code LibxlEventLoop} drives libxl's events on a thread of ours;
 * {@code MigrationStream} carries libxl's migration stream over the engine's channel;
 * {@code XenGuestMemory} reads guest pages and logs dirty ones.
 *
 * <h2>Supported</h2>
 * <ul>
 *   <li>Xen 4.17 exactly (Debian bookworm's {@code 4.17.7} packages); the adapter refuses to
 *       open on another release, because libxl's ABI and struct layouts change with each.</li>
 *   <li>PVH guests (the default; a Linux kernel booted PVH needs no device model) and HVM
 *       guests (need qemu-system-xen in dom0). PV guests are refused: Debian's hypervisor is
 *       built without shadow paging, so a PV guest can neither log dirty pages nor
 *       live-migrate.</li>
 *   <li>x86_64 dom0 only (the layouts are checked for it).</li>
 * </ul>
 *
 * <h2>What dom0 needs</h2>
 * <ul>
 *   <li>The libraries: Debian packages {@code libxenmisc4.17} (libxenlight, libxenctrl),
 *       {@code libxentoollog1}, {@code libxenforeignmemory1}; {@code xen-utils-4.17} for
 *       {@code libxl-save-helper} (migration) and the daemons.</li>
 *   <li>The kernel modules {@code xen-evtchn}, {@code xen-gntdev}, {@code xen-gntalloc},
 *       {@code xen-privcmd} and then {@code xenfs} ({@code xenfs} needs {@code xen-privcmd}
 *       first), with xenfs mounted on {@code /proc/xen}.</li>
 *   <li>{@code xenstored} and {@code xenconsoled} running, and {@code xen-init-dom0} run once
 *       ({@code /etc/init.d/xen start} does all of this on Debian).</li>
 *   <li>Root, for {@code /dev/xen/privcmd}.</li>
 *   <li>For guests with disks: qemu-system-xen (the {@code qdisk} backend reads the volumes'
 *       NBD exports); for networks: the vif hotplug scripts and a bridge named after each
 *       network. The Xen test stage exercises neither.</li>
 * </ul>
 *
 * <h2>Testing</h2>
 * Without Xen, the module's tests check the JSON translation, the state mapping, the probe,
 * every structure's layout against the C headers, and that every mapped function resolves in
 * the real libraries. The {@code xen-it} Maven profile boots Debian's Xen in QEMU (software
 * emulation, no KVM needed) and runs the {@code *InDom0} test classes in that dom0 against real
 * Xen: see {@code avance-xen-binding/README-xen.md}.
 */
package io.avance.xen;
