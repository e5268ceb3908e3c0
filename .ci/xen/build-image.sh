#!/usr/bin/env bash
# Builds the boot image for the Xen integration stage from Debian's packages: the Xen 4.17
# hypervisor, a Debian 6.1 kernel (dom0 and the PVH test guest), a busybox initramfs with the
# Xen daemons and their libraries, a jlinked JRE, and the test payload (jars and classes).
#
#   build-image.sh CACHE_DIR PAYLOAD_DIR OUT_DIR
#
# CACHE_DIR   keeps the downloaded .debs, the extracted packages and the base initramfs between
#             runs (nothing here is committed; every file comes from Debian or the local JDK).
# PAYLOAD_DIR is copied to /avance in dom0; its run-tests.sh is what dom0's init runs.
# OUT_DIR     receives xen (the hypervisor, gunzipped), vmlinuz and dom0.img (base + payload).
#
# Needs: apt-get (with lists), dpkg-deb, cpio, gzip, xz, jlink, and the Xen libraries installed on
# this machine (libxen-dev pulls them in), whose ldd closure is copied into dom0.
set -euo pipefail

cache=$(realpath -m "$1"); payload=$(realpath "$2"); out=$(realpath -m "$3")
mkdir -p "$cache/debs" "$out"

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6/{print $2; exit}')
if [ -z "$kernel_pkg" ]; then
  echo "build-image: cannot find the kernel package behind linux-image-amd64 (run apt-get update)" >&2
  exit 2
fi
packages=(xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common busybox-static "$kernel_pkg")

# Download only what is missing: the .deb names carry their versions, so a newer Debian point
# release downloads afresh and the stamp below changes.
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

stamp=$( (ls "$cache/debs"; java -version 2>&1; sha256sum "$0") | sha256sum | cut -c1-16)
base="$cache/base-$stamp"
if [ ! -f "$base/dom0-base.cpio.gz" ]; then
  rm -rf "$cache"/base-* "$cache/pkgroot"
  mkdir -p "$cache/pkgroot" "$base"
  for p in "${packages[@]}"; do
    deb=$(ls -t "$cache/debs/${p}_"*.deb | head -1)
    dpkg-deb -x "$deb" "$cache/pkgroot"
  done
  pr="$cache/pkgroot"
  kver=$(ls "$pr/lib/modules" | head -1)
  cp "$pr/boot/vmlinuz-$kver" "$base/vmlinuz"
  zcat "$pr/boot/xen-4.17-amd64.gz" > "$base/xen"

  root="$base/root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc/xen,lib/modules,root}
  mkdir -p "$root"/var/{run,lib/xen,lib/xenstored,log/xen} "$root"/run "$root/usr/lib/xen-4.17/bin"
  cp "$pr/bin/busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  # Xen's dom0 drivers: privcmd must be loaded before xenfs, which uses its file operations.
  for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do
    find "$pr/lib/modules/$kver" -name "$m.ko" -exec cp {} "$root/lib/modules/" \;
  done
  for b in xl xenstored xenconsoled xen-init-dom0 libxl-save-helper xen-hvmcrash; do
    cp "$pr/usr/lib/xen-4.17/bin/$b" "$root/usr/lib/xen-4.17/bin/"
  done
  cp "$pr/etc/xen/xl.conf" "$root/etc/xen/"
  # The shared-library closure of the daemons, from this machine's Debian packages. libgcc_s
  # is loaded by glibc at run time for pthread_cancel, so ldd does not list it.
  libs=$(for b in "$root"/usr/lib/xen-4.17/bin/*; do ldd "$b" | awk '/=>/{print $3} /ld-linux/{print $1}'; done | sort -u)
  for l in $libs /lib/x86_64-linux-gnu/libgcc_s.so.1; do
    [ -f "$l" ] || { echo "build-image: missing library $l (install libxen-dev)" >&2; exit 2; }
    mkdir -p "$root$(dirname "$l")"
    cp -L "$l" "$root$l"
  done
  mkdir -p "$root/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
  # JNA needs the unversioned libc and a few more for the Java test process.
  for l in /lib/x86_64-linux-gnu/{libdl.so.2,libm.so.6,libpthread.so.0,librt.so.1,libz.so.1}; do
    [ -f "$l" ] && cp -L "$l" "$root$l"
  done
  # A small JRE for the in-dom0 tests: the JUnit console launcher needs java.xml (reports),
  # java.management and jdk.unsupported are used by JUnit and JNA when present.
  jlink --add-modules java.base,java.logging,java.xml,java.management,jdk.unsupported \
        --strip-debug --no-header-files --no-man-pages --compress=2 --output "$root/opt/jre"
  for l in $(find "$root/opt/jre" -name '*.so' -exec ldd {} \; | awk '/=> \//{print $3}' | sort -u); do
    [ -e "$root$l" ] || { mkdir -p "$root$(dirname "$l")"; cp -L "$l" "$root$l"; }
  done

  # The PVH test guest: the same kernel, booted PVH, with a busybox initramfs.
  guest="$base/guest-root"
  mkdir -p "$guest"/{bin,sbin,proc,sys,dev,tmp}
  cp "$pr/bin/busybox" "$guest/bin/busybox"
  for applet in sh mount echo cat sleep date mkdir dd grep; do ln -s busybox "$guest/bin/$applet"; done
  # The kernel runs /sbin/poweroff (or /sbin/reboot) when Xen asks the guest to stop; with no
  # init daemon to signal, they must act at once.
  printf '#!/bin/sh\nexec /bin/busybox poweroff -f\n' > "$guest/sbin/poweroff"
  printf '#!/bin/sh\nexec /bin/busybox reboot -f\n' > "$guest/sbin/reboot"
  cat > "$guest/init" <<'GUEST'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "avance-guest: up"
# A test asks for a kernel crash (Xen then reports the domain shut down with reason "crash").
if grep -q avance.crash /proc/cmdline; then
  echo c > /proc/sysrq-trigger
fi
# Keep writing a little memory, so that log-dirty rounds see pages change.
# A tick on the console every second tells the host the guest runs (the contract's "alive").
n=0
while true; do
  n=$((n + 1))
  echo "avance-guest tick $n" > /tmp/tick
  [ $((n % 5)) -eq 0 ] && echo "avance-guest tick $n"
  sleep 0.2
done
GUEST
  chmod +x "$guest/init" "$guest/sbin/poweroff" "$guest/sbin/reboot"
  mkdir -p "$root/avance-guest"
  (cd "$guest" && find . | cpio -o -H newc --quiet | gzip -9) > "$root/avance-guest/guest.cpio.gz"
  # The guest boots the kernel's ELF image: libxl then loads it as it is instead of
  # decompressing the bzImage's xz payload in dom0 at every domain build (about 5 s under TCG).
  offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$base/vmlinuz" | head -1 | cut -d: -f1)
  if [ -n "$offset" ] && tail -c +"$((offset + 1))" "$base/vmlinuz" | xz -dc > "$root/avance-guest/vmlinux" 2>/dev/null \
      && [ "$(head -c 4 "$root/avance-guest/vmlinux" | od -An -c | tr -d ' ')" = "177ELF" ]; then
    echo "build-image: guest kernel is the ELF image ($(du -h "$root/avance-guest/vmlinux" | cut -f1))"
  else
    echo "build-image: cannot extract the kernel's ELF image; the guest boots the bzImage" >&2
    cp "$base/vmlinuz" "$root/avance-guest/vmlinux"
  fi
  cp "$base/vmlinuz" "$root/avance-guest/vmlinuz"

  cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
# libxl keeps lock files in /var/run/xen (domid-history.lock: destroy fails without it).
mkdir -p /var/run/xen /var/lib/xen /var/log/xen/console
# Loopback, for the migration tests' sockets (and anything else local).
ip link set lo up
echo "avance-dom0: init at $(cut -d' ' -f1 /proc/uptime) s"
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do
  insmod /lib/modules/$m.ko || echo "avance-dom0: insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /var/run/xenstored.pid
i=0
while [ ! -S /var/run/xenstored/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
xen-init-dom0
mkdir -p /var/log/xen/console
xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
echo "avance-dom0: xen daemons up at $(cut -d' ' -f1 /proc/uptime) s"
if [ -x /avance/run-tests.sh ]; then
  /avance/run-tests.sh
else
  echo "avance-dom0: no /avance/run-tests.sh"
fi
echo "avance-dom0: powering off at $(cut -d' ' -f1 /proc/uptime) s"
sync
poweroff -f
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$base/dom0-base.cpio.gz"
  rm -rf "$root" "$guest"
fi

# The payload changes with every build; the kernel unpacks concatenated archives in order.
pay="$out/payload-root"
rm -rf "$pay" && mkdir -p "$pay/avance"
cp -r "$payload"/. "$pay/avance/"
(cd "$pay" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/payload.cpio.gz"
rm -rf "$pay"
cat "$base/dom0-base.cpio.gz" "$out/payload.cpio.gz" > "$out/dom0.img"
cp "$base/xen" "$out/xen"
cp "$base/vmlinuz" "$out/vmlinuz"
echo "build-image: $(du -h "$out/dom0.img" | cut -f1) dom0 image in $out"
