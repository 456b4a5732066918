#!/usr/bin/env bash
# A 2-vCPU Linux guest sees 2 CPUs (MP table + AP start-up through INIT/SIPI),
# and serial input reaches the guest: the host writes a line on minivmm's stdin
# (a pipe, not a terminal), the guest's console test reads it back through the
# 8250 driver's receive interrupt.
. "$(dirname "$0")/lib.sh"
need_kvm

kernel=$(guest_kernel)
initrd=$(guest_initrd)
log="$WORK/serial.log"
token="hello-from-host-$$"

# Keep stdin open (a fifo) until the guest is done; write the token once init runs.
mkfifo "$WORK/stdin"
status=0
(
    exec 3>"$WORK/stdin"
    for _ in $(seq 1 "$(tmo 1200)"); do
        grep -q "MINIVMM-CONSOLE-WAITING" "$log" 2>/dev/null && break
        sleep 1
    done
    printf '%s\n' "$token" >&3
    sleep "$(tmo 1200)"
) &
feeder=$!
on_exit "kill $feeder"
timeout --kill-after=10 "$(tmo 1500)" "$MINIVMM" --kernel "$kernel" --initrd "$initrd" \
    --memory 128M --cpus 2 --serial stdio \
    --cmdline "$(guest_cmdline) minivmm.tests=smoke,console minivmm.expect_cpus=2 minivmm.console_token=$token" \
    <"$WORK/stdin" >"$log" 2>&1 || status=$?

check "minivmm exits 0 (status $status)" [ "$status" -eq 0 ]
check "smoke test (2 CPUs seen) passed" guest_passed "$log" smoke
check "console input reached the guest" guest_passed "$log" console
check "no sanitizer report" no_sanitizer_report "$log"
[ "$FAILURES" -eq 0 ] || tail -n 40 "$log"
finish
