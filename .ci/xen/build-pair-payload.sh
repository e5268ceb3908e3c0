#!/usr/bin/env bash
# Builds what the Xen pair stage adds to the dom0 image of build-image.sh, and the other two
# machines' parts, from Debian's packages and the project's Debian package:
#
#   build-pair-payload.sh CACHE_DIR AVANCE_DEB OUT_DIR
#
# OUT_DIR/payload/  the dom0 payload (run-tests.sh is the host's init, see pair-host.sh): the
#                   package to install, a JRE for the node, nbd-client, qemu-img, bash and flock for
#                   Xen's hotplug scripts, the kernel modules a host needs (NICs, bridge, nbd,
#                   blkback, netback, its data disk), pvgrub2, and the guest's disk image
# OUT_DIR/guest.qcow2   the guest's disk: an ext2 file system with /boot/grub/grub.cfg, the Debian
#                   kernel and an initramfs whose init runs recordd (a record store on the disk)
# OUT_DIR/client.cpio.gz the client machine's initramfs (busybox, e1000, recordc); it boots the
#                   same kernel (OUT_DIR/vmlinuz)
#
# Needs: apt-get with lists, dpkg-deb, gcc (static), jlink, mke2fs, qemu-img, nbd-client, bash,
# flock and modinfo on this machine (.ci/run installs them), and the CACHE_DIR of build-image.sh.
set -euo pipefail

cache=$(realpath -m "$1"); deb=$(realpath "$2"); out=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache/debs" "$out"

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6/{print $2; exit}')
[ -n "$kernel_pkg" ] || { echo "build-pair-payload: no kernel package behind linux-image-amd64 (apt-get update)" >&2; exit 2; }
packages=(busybox-static "$kernel_pkg" grub-xen-host nbd-client xen-utils-common xenstore-utils)
(
  cd "$cache/debs"
  missing=()
  for p in "${packages[@]}"; do
    v=$(apt-cache policy "$p" | awk '/Candidate:/{print $2}' | sed 's/^[0-9]*://')
    ls "${p}_${v}"_*.deb >/dev/null 2>&1 || ls "${p}_"*"%3a${v}"_*.deb >/dev/null 2>&1 || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get download "${missing[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
  fi
)
pr="$out/pkgroot"
rm -rf "$pr" && mkdir -p "$pr"
for p in "${packages[@]}"; do
  dpkg-deb -x "$(ls -t "$cache/debs/${p}_"*.deb | head -1)" "$pr"
done
kver=$(ls "$pr/lib/modules" | head -1)
cp "$pr/boot/vmlinuz-$kver" "$out/vmlinuz"

# Kernel modules with what they depend on, in an order insmod can load them.
modules_for() {
  local name file deps dep
  for name in "$@"; do
    file=$(find "$pr/lib/modules/$kver" -name "$name.ko" | head -1)
    [ -n "$file" ] || { echo "build-pair-payload: no module $name in $kernel_pkg" >&2; exit 2; }
    deps=$(modinfo -F depends "$file" | tr ',' ' ')
    for dep in $deps; do
      modules_for "$dep"
    done
    echo "$file"
  done
}
copy_modules() {  # DESTINATION_DIR MODULE...
  local destination=$1 files; shift
  mkdir -p "$destination"
  : > "$destination/order"
  # In a variable first: a failure inside $(...) of a for list would go unnoticed.
  files=$(modules_for "$@") || exit 2
  for file in $(echo "$files" | awk '!seen[$0]++'); do
    cp "$file" "$destination/"
    basename "$file" >> "$destination/order"
  done
}

# A program and the shared libraries it needs, from this machine (Debian, same release).
copy_program() {  # ROOT PROGRAM [NAME_IN_ROOT]
  local root=$1 program=$2 target=${3:-$2} lib
  mkdir -p "$root$(dirname "$target")"
  cp -L "$program" "$root$target"
  for lib in $(ldd "$program" | awk '/=> \//{print $3} /ld-linux/{print $1}'); do
    [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
  done
}

# ---- The guest: its disk, with the kernel, an initramfs running recordd, and grub.cfg.
guest="$out/guest-initramfs"
rm -rf "$guest" && mkdir -p "$guest"/{bin,sbin,proc,sys,dev,tmp,lib/modules}
cp "$pr/bin/busybox" "$guest/bin/busybox"
for applet in sh mount echo cat sleep ip insmod grep arping ls; do ln -s busybox "$guest/bin/$applet"; done
printf '#!/bin/sh\nexec /bin/busybox poweroff -f\n' > "$guest/sbin/poweroff"
printf '#!/bin/sh\nexec /bin/busybox reboot -f\n' > "$guest/sbin/reboot"
gcc -static -O2 -o "$guest/bin/recordd" "$here/guest/recordd.c"
copy_modules "$guest/lib/modules" xen-blkfront xen-netfront
cat > "$guest/init" <<'GUEST'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
address=$(sed -n 's/.*avance.ip=\([0-9.]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip addr add "$address/24" dev eth0
ip link set eth0 up
# Tell the network where this address lives now (after a boot on the other host).
arping -U -c 2 -I eth0 "$address" >/dev/null 2>&1 &
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "avance-guest: up at $address"
# The records live past the file system, from 64 MiB on.
while true; do
  /bin/recordd /dev/xvda 67108864 7000
  echo "avance-guest: recordd ended; starting it again"
  sleep 1
done
GUEST
chmod +x "$guest/init" "$guest/sbin/poweroff" "$guest/sbin/reboot"
fs="$out/guest-fs"
rm -rf "$fs" && mkdir -p "$fs/boot/grub"
cp "$out/vmlinuz" "$fs/boot/vmlinuz"
(cd "$guest" && find . | cpio -o -H newc --quiet | gzip -9) > "$fs/boot/initrd.gz"
cat > "$fs/boot/grub/grub.cfg" <<'GRUB'
set timeout=0
menuentry "avance-guest" {
  linux /boot/vmlinuz console=hvc0 quiet rdinit=/init avance.ip=10.7.0.50
  initrd /boot/initrd.gz
}
GRUB
rm -f "$out/guest.raw"
truncate -s 24M "$out/guest.raw"
mke2fs -q -F -t ext2 -L avance-guest -d "$fs" "$out/guest.raw"
qemu-img convert -f raw -O qcow2 "$out/guest.raw" "$out/guest.qcow2"
rm -rf "$fs" "$guest" "$out/guest.raw"

# ---- The client machine: busybox, e1000 and recordc; it talks to the guest on the public network.
client="$out/client-root"
rm -rf "$client" && mkdir -p "$client"/{bin,sbin,proc,sys,dev,tmp,lib/modules}
cp "$pr/bin/busybox" "$client/bin/busybox"
for applet in sh mount echo cat sleep ip insmod stty; do ln -s busybox "$client/bin/$applet"; done
gcc -static -O2 -o "$client/bin/recordc" "$here/guest/recordc.c"
copy_modules "$client/lib/modules" e1000
cat > "$client/init" <<'CLIENT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip addr add 10.7.0.100/24 dev eth0
ip link set eth0 up
stty -echo -F /dev/ttyS0 2>/dev/null
echo "avance-client: up"
exec /bin/recordc 10.7.0.50 7000 50 < /dev/ttyS0 > /dev/ttyS0 2>&1
CLIENT
chmod +x "$client/init"
(cd "$client" && find . | cpio -o -H newc --quiet | gzip -9) > "$out/client.cpio.gz"
rm -rf "$client"

# ---- The dom0 payload.
payload="$out/payload"
rm -rf "$payload" && mkdir -p "$payload/root"
root="$payload/root"
cp "$deb" "$payload/avance.deb"
cp "$out/guest.qcow2" "$payload/guest.qcow2"
cp "$here/pair-host.sh" "$payload/run-tests.sh"
chmod +x "$payload/run-tests.sh"
copy_modules "$payload/modules" e1000 virtio_pci virtio_blk crc32c_generic ext4 bridge nbd xen-blkback xen-netback
# nbd-client, qemu-img (writes the guest's image through the node's NBD export), bash and flock
# (Xen's vif-bridge and its helpers), the xenstore tools, Xen's hotplug scripts, pvgrub2.
copy_program "$root" "$pr/sbin/nbd-client" /sbin/nbd-client
copy_program "$root" "$(command -v qemu-img)" /usr/bin/qemu-img
copy_program "$root" "$(command -v bash)" /bin/bash
copy_program "$root" "$(command -v flock)" /usr/bin/flock
copy_program "$root" "$pr/usr/bin/xenstore" /usr/bin/xenstore
for tool in read write rm exists list ls chmod watch; do ln -sf xenstore "$root/usr/bin/xenstore-$tool"; done
mkdir -p "$root/etc/xen/scripts" "$root/usr/lib/grub-xen"
cp -a "$pr/etc/xen/scripts/." "$root/etc/xen/scripts/"
cp "$pr/usr/lib/grub-xen/grub-i386-xen_pvh.bin" "$root/usr/lib/grub-xen/"
# The node's JRE: what the node and its libraries use (the monitor's TLS, JNA, Netty).
jlink --add-modules java.base,java.logging,java.xml,java.management,java.naming,java.net.http,jdk.unsupported,jdk.crypto.ec,java.security.jgss,jdk.crypto.cryptoki \
      --strip-debug --no-header-files --no-man-pages --compress=2 --output "$root/opt/avance-jre"
for lib in $(find "$root/opt/avance-jre" -name '*.so' -exec ldd {} \; | awk '/=> \//{print $3}' | grep -v "^$root/" | sort -u); do
  [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
done
# The pairing secret both hosts share (this stage's only: made for it, used nowhere else).
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/hex:/' > "$payload/pairing.secret"
echo >> "$payload/pairing.secret"
rm -rf "$pr"
echo "build-pair-payload: payload $(du -sh "$payload" | cut -f1), guest disk $(du -h "$out/guest.qcow2" | cut -f1), client $(du -h "$out/client.cpio.gz" | cut -f1)"
