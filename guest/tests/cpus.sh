#!/bin/sh
# Guest CPU test: every CPU minivmm started (MINIVMM_EXPECT_CPUS, default 1) is
# online in /proc and /sys and actually runs a user process pinned to it.
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

want=${MINIVMM_EXPECT_CPUS:-1}
seen=$(grep -c '^processor' /proc/cpuinfo)
online=$(cat /sys/devices/system/cpu/online)
echo "cpuinfo: $seen processors, online: $online"
[ "$seen" = "$want" ] || fail "/proc/cpuinfo lists $seen CPUs, expected $want"
if [ "$want" = 1 ]; then
    [ "$online" = 0 ] || fail "online CPUs '$online', expected 0"
else
    [ "$online" = "0-$((want - 1))" ] || fail "online CPUs '$online', expected 0-$((want - 1))"
fi

cpu=0
while [ "$cpu" -lt "$want" ]; do
    # The pinned shell reports the CPU it ran on (field 39 of /proc/self/stat).
    ran=$(taskset -c "$cpu" sh -c 'cut -d" " -f39 /proc/self/stat') ||
        fail "cannot run a process pinned to CPU $cpu"
    [ "$ran" = "$cpu" ] || fail "process pinned to CPU $cpu ran on CPU $ran"
    cpu=$((cpu + 1))
done

echo "cpus=$seen online=$online pinned-runs=ok"
