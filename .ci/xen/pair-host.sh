#!/bin/sh
# One host of the Xen pair stage, in its dom0 (run as /avance/run-tests.sh by the image's /init
# once the Xen daemons are up): sets up the host's networks, mounts its data disk, installs the
# Debian package, writes the node's configuration with `avance init` and starts the node as the
# package's service would, then takes commands from the stage on the console.
#
# The kernel command line names the host: avance.host=alpha or avance.host=beta. Host N has:
#   the private network on the NIC with MAC 52:54:00:00:0N:01, address 10.9.0.N
#   the public network "lan": a bridge over the NIC 52:54:00:00:0N:02, address 10.7.0.N
#   its data disk (/var/lib/avance, kept across power cuts) on /dev/vda
#
# Commands, one line each from the stage:  CMD ID shell-command...
# answered with "CMD-BEGIN ID", the command's output, and "CMD-END ID STATUS". The node's events
# (avance-event ...) come on the console too, as they happen.
# Adds the payload's programs and libraries; never replaces a file that is there: the Xen daemons
# run already, and rewriting a library they have mapped (libc) crashes them.
# (busybox's cp -n skips a directory that exists, with all it holds: hence file by file.)
( cd /avance/root
  find . -type d | while IFS= read -r d; do mkdir -p "/$d"; done
  find . ! -type d | while IFS= read -r f; do
    [ -e "/$f" ] || [ -L "/$f" ] || cp -a "$f" "/$f"
  done )
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
export JAVA_HOME=/opt/avance-jre
export AVANCE_JAVA_OPTS="-Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.io.tmpdir=/tmp -Djna.tmpdir=/tmp"
say() { echo "avance-host: $*"; }

host=$(sed -n 's/.*avance\.host=\([a-z]*\).*/\1/p' /proc/cmdline)
case "$host" in
  alpha) n=1; peer=beta; m=2 ;;
  beta) n=2; peer=alpha; m=1 ;;
  *) say "no avance.host=alpha|beta on the kernel command line"; exit 1 ;;
esac
say "$host starting at $(cut -d' ' -f1 /proc/uptime) s"

for module in $(cat /avance/modules/order); do
  insmod "/avance/modules/$module" 2>/dev/null || grep -q "^${module%.ko} " /proc/modules || say "insmod $module failed"
done
nic() {
  for device in /sys/class/net/*; do
    [ "$(cat "$device/address")" = "$1" ] && { basename "$device"; return; }
  done
}
i=0
while [ -z "$(nic 52:54:00:00:0$n:02)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
private=$(nic 52:54:00:00:0$n:01)
public=$(nic 52:54:00:00:0$n:02)
ip link set "$private" up
ip addr add "10.9.0.$n/24" dev "$private"
brctl addbr lan
# No spanning tree on a bridge with one uplink, and no forwarding delay (busybox's brctl lacks both).
echo 0 > /sys/class/net/lan/bridge/stp_state
echo 0 > /sys/class/net/lan/bridge/forward_delay
brctl addif lan "$public"
ip link set "$public" up
ip link set lan up
ip addr add "10.7.0.$n/24" dev lan
say "networks: private $private 10.9.0.$n, public lan over $public 10.7.0.$n"

mkdir -p /var/lib/avance /var/log/xen /var/run/xen
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /var/lib/avance || { say "cannot mount the data disk /dev/vda: stopping"; exit 1; }

# The package, installed as on any dom0 (busybox's dpkg: the JRE comes from this image, not
# from Debian's openjdk package, hence --force-depends).
mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates
[ -f /var/lib/dpkg/status ] || : > /var/lib/dpkg/status
if dpkg -i --force-depends /avance/avance.deb > /tmp/dpkg.log 2>&1; then
  say "package installed: $(dpkg -l avance 2>/dev/null | awk '$2 == "avance" {print $3}')"
else
  say "dpkg -i failed: stopping"; cat /tmp/dpkg.log; exit 1
fi

started=$(cut -d' ' -f1 /proc/uptime)
avance init --dir /etc/avance --force --id "$host" --peer-id "$peer" \
    --private-address "10.9.0.$n" --peer-private-address "10.9.0.$m" --public "lan=10.7.0.$n,10.7.0.$m" \
    --hypervisor xen --data-dir /var/lib/avance/node --secret /avance/pairing.secret > /tmp/init.log 2>&1 \
  || { say "avance init failed: stopping"; cat /tmp/init.log; exit 1; }
# These hosts are QEMU machines under software emulation, nested under Xen: a duty cycle can be
# late by a second. The pair's timings are scaled for that (ten times the defaults, which suit
# real hardware); see docs/xen-pair.md.
cat >> /etc/avance/avance.properties <<'TIMINGS'
# Software emulation: ten times the default timings.
timing.heartbeat-interval = 1s
timing.detection-minimum = 5s
timing.detection-maximum = 10s
timing.safety-margin = 1s
engine.tick-interval = 200ms
TIMINGS
say "configuration written by avance init in $(awk -v a="$started" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{printf "%.1f", b-a}') s"

# As avance-node.service runs it; its events on the console, its log in the data disk.
( /usr/bin/avance node --config /etc/avance/avance.properties 2>> /var/lib/avance/node.log
  say "node exited with status $?" ) &

stty -echo 2>/dev/null
say "$host ready for commands"
while IFS= read -r line; do
  case "$line" in
    "CMD "*)
      rest=${line#CMD }
      id=${rest%% *}
      command=${rest#"$id"}
      echo "CMD-BEGIN $id"
      sh -c "$command" 2>&1
      echo "CMD-END $id $?"
      ;;
  esac
done
