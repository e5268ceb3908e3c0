#!/bin/sh
# Runs inside the Xen dom0 of the test image (called by its /init): the JUnit Platform console
# launcher over the *InDom0 test classes on the jlinked JRE, two classes at a time (a guest boot
# keeps one emulated CPU busy while dom0 mostly waits), then the XML report back to the
# host over the serial console, gzipped and base64-encoded between markers, with its SHA-256 so
# that the host can tell a clean copy from one that Xen's console messages broke into.
cd /avance || exit 1
mkdir -p /tmp/reports /var/log/xen/console
cp=""
for jar in lib/*.jar; do
  case "$jar" in
    *junit-platform-console-standalone*) ;;
    *) cp="$cp$jar:" ;;
  esac
done
cp="${cp}classes:test-classes"
select="--scan-class-path test-classes --include-classname .*InDom0.*"
if [ -f /avance/select ]; then
  select=$(cat /avance/select)
fi
# dom0's vCPUs are pinned to the first host CPUs (boot.sh's dom0_vcpus_pin); the test guests run
# on the others (xen.cpus): a guest sharing a CPU with a busy dom0 faults now and then under QEMU's
# nested emulation (README-xen.md, "Guests that fault under nested emulation").
host_cpus=$(xl info | sed -n 's/^nr_cpus *: *//p')
dom0_cpus=$(xl vcpu-list Domain-0 | tail -n +2 | wc -l)
guest_cpus=""
if [ "${host_cpus:-0}" -gt "$dom0_cpus" ]; then
  guest_cpus="-Davance.xen.guestCpus=$dom0_cpus-$((host_cpus - 1))"
fi
echo "avance-dom0: tests start at $(cut -d' ' -f1 /proc/uptime) s, guests on CPUs ${guest_cpus#*=}"
xl vcpu-list
# shellcheck disable=SC2086
/opt/jre/bin/java -Xmx384m -Xss1m -Djava.io.tmpdir=/tmp -Djna.tmpdir=/tmp $guest_cpus \
  -jar lib/junit-platform-console-standalone.jar execute \
  --class-path "$cp" $select \
  --reports-dir /tmp/reports --details=testfeed --disable-banner --disable-ansi-colors \
  --exclude-engine=junit-vintage --exclude-engine=junit-platform-suite \
  --config=junit.jupiter.execution.timeout.default=150s \
  --config=junit.jupiter.execution.timeout.thread.mode.default=SEPARATE_THREAD \
  --config=junit.jupiter.execution.parallel.enabled=true \
  --config=junit.jupiter.execution.parallel.mode.default=same_thread \
  --config=junit.jupiter.execution.parallel.mode.classes.default=concurrent \
  --config=junit.jupiter.execution.parallel.config.strategy=fixed \
  --config=junit.jupiter.execution.parallel.config.fixed.parallelism=2 &
java=$!
# A thread dump on the console if the tests are still running near the host's time limit.
dump_after=400
[ -f /avance/dump-after ] && dump_after=$(cat /avance/dump-after)
( while [ "$(cut -d. -f1 /proc/uptime)" -lt "$dump_after" ]; do sleep 5; done
  echo "avance-dom0: still running at $(cut -d' ' -f1 /proc/uptime) s: thread dump and processes"
  kill -QUIT "$java" 2>/dev/null
  ps
  for p in /proc/[0-9]*; do
    case "$(cat "$p/comm" 2>/dev/null)" in
      libxl-save-help*|java) echo "fds of $(cat "$p/comm") ${p#/proc/}:"; ls -l "$p/fd" 2>/dev/null | grep -E 'pipe|socket' ;;
    esac
  done
  for log in /tmp/avance-xen-*/xen-toollog.log; do echo "---- $log"; tail -n 30 "$log"; done ) &
watchdog=$!
wait "$java"
status=$?
kill "$watchdog" 2>/dev/null
echo "avance-dom0: tests end at $(cut -d' ' -f1 /proc/uptime) s, launcher exit $status"
xl list
# Processes left behind (a child libxl forked that never exited keeps a libxl call waiting):
# each one's parent, state, and where it sleeps in the kernel.
for p in /proc/[0-9]*; do
  case "$(cat "$p/comm" 2>/dev/null)" in
    java|libxl-save-help*|xl)
      echo "process ${p#/proc/} $(cat "$p/comm") ppid $(sed -n 's/^PPid:[[:space:]]*//p' "$p/status")" \
        "state $(sed -n 's/^State:[[:space:]]*//p' "$p/status") wchan $(cat "$p/wchan" 2>/dev/null)"
      cat "$p/stack" 2>/dev/null | head -12 ;;
  esac
done
for crash in /avance/hs_err_pid*.log; do
  [ -f "$crash" ] || continue
  echo "---- $crash"
  # The whole report: the JVM has died in dom0 with SIGSEGVs in compiled Java code whose cause is
  # not known yet (README-xen.md), and the report is lost when dom0 powers off.
  cat "$crash"
done
xl list
for log in /tmp/avance-xen-*/xen-toollog.log; do
  echo "---- $log (last lines)"
  tail -n 40 "$log"
done
for log in /var/log/xen/console/*.log; do
  [ -f "$log" ] || continue
  echo "---- $log (last lines)"
  tail -n 25 "$log"
done
report=/tmp/reports/TEST-junit-jupiter.xml
send() {
  gzip -9 -c "$2" > /tmp/report.xml.gz
  echo "AVANCE-$1-SHA256 $(sha256sum /tmp/report.xml.gz | cut -d' ' -f1)"
  echo "AVANCE-$1-BEGIN"
  base64 /tmp/report.xml.gz
  echo "AVANCE-$1-END"
}
if [ -f "$report" ]; then
  send REPORT "$report"
else
  echo "AVANCE-REPORT-MISSING"
fi
