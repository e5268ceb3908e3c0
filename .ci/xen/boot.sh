#!/usr/bin/env bash
# Boots the image from build-image.sh: Xen 4.17 in qemu-system-x86_64 under software emulation
# (TCG; no KVM needed), dom0 with 1 GiB, the serial console (Xen and dom0) into SERIAL_LOG.
#
#   boot.sh IMAGE_DIR SERIAL_LOG TIMEOUT_SECONDS
#
# +svm,+npt give Xen hardware-assisted paging, which PVH and HVM guests need: Debian's
# hypervisor is built without shadow paging. Four CPUs: dom0's two vCPUs are pinned to CPUs 0 and 1
# (dom0_vcpus_pin) and the test guests run on 2 and 3 (dom0-run-tests.sh), since a guest that
# shares a CPU with a busy dom0 faults now and then under this nested emulation (README-xen.md).
# The run ends when dom0 powers off, or is killed at the timeout (exit 124).
set -euo pipefail
img=$(realpath "$1"); log=$2; limit=$3
exec timeout -k 5 "$limit" qemu-system-x86_64 \
  -cpu qemu64,+svm,+npt -m 2048 -smp 4 \
  -nographic -monitor none -serial "file:$log" -no-reboot \
  -kernel "$img/xen" \
  -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2 dom0_vcpus_pin loglvl=warning guest_loglvl=warning noreboot console_timestamps=boot" \
  -initrd "$img/vmlinuz console=hvc0 earlyprintk=xen rdinit=/init quiet loglevel=4,$img/dom0.img"
