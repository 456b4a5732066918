#!/bin/sh
# Guest smoke test: /proc and tmpfs mounted, the CPU count minivmm was asked
# for (MINIVMM_EXPECT_CPUS), fork/exec, a pipe, signals and a tmpfs file round
# trip.
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

grep -q ' /proc proc ' /proc/mounts || fail "/proc is not mounted"
grep -q ' /tmp tmpfs ' /proc/mounts || fail "/tmp is not a tmpfs"

cpus=$(nproc)
if [ -n "$MINIVMM_EXPECT_CPUS" ] && [ "$cpus" != "$MINIVMM_EXPECT_CPUS" ]; then
    fail "nproc says $cpus CPUs, expected $MINIVMM_EXPECT_CPUS"
fi

# A real fork + execve each time (applets alone may run inside the shell).
forks=10
i=0
while [ "$i" -lt "$forks" ]; do
    /bin/busybox true || fail "fork/exec of /bin/busybox failed at iteration $i"
    i=$((i + 1))
done

lines=$(seq 1 1000 | wc -l)
[ "$lines" = 1000 ] || fail "pipe carried $lines lines instead of 1000"

# Signals: a handler runs (delivery and rt_sigreturn), a child dies of SIGTERM.
# (A shell of its own: $$ would be init's PID in the subshell that runs tests.)
got=$(sh -c 'trap "echo usr1" USR1; kill -USR1 $$; :')
[ "$got" = usr1 ] || fail "the SIGUSR1 handler did not run"
sleep 30 &
child=$!
kill "$child"
wait "$child"
status=$?
[ "$status" = 143 ] || fail "a child killed by SIGTERM exited with $status, not 143"

f=/tmp/smoke.$$
echo "minivmm smoke $$" >"$f" || fail "cannot write $f"
[ "$(cat "$f")" = "minivmm smoke $$" ] || fail "read back of $f differs"
rm "$f" || fail "cannot remove $f"

echo "cpus=$cpus forks=$forks pipe=$lines signals=ok tmpfs=ok uptime=$(cut -d' ' -f1 /proc/uptime)s"
