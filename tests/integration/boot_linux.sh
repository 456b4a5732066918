#!/usr/bin/env bash
# The foundation, end to end: the minimal Linux guest (its bzImage: this test
# covers the Linux boot protocol path; the others boot vmlinux via PVH) boots under minivmm with
# stdin closed, its init runs the smoke test script and reports PASS, the guest
# reboots (i8042 reset) and minivmm exits 0 with all threads joined and no fd
# left open (MINIVMM_CHECK_FDS=1 makes minivmm verify that after teardown).
. "$(dirname "$0")/lib.sh"
need_kvm

kernel=$(guest_bzimage)
initrd=$(guest_initrd)
log="$WORK/serial.log"

MINIVMM_CHECK_FDS=1 run_vmm "$log" "$(tmo 1200)" --kernel "$kernel" --initrd "$initrd" \
    --memory 128M --cpus 1 --serial stdio \
    --cmdline "$(guest_cmdline) minivmm.tests=smoke minivmm.expect_cpus=1"

check "minivmm exits 0 (status $VMM_STATUS)" [ "$VMM_STATUS" -eq 0 ]
check "guest reached init" log_has "$log" "MINIVMM-INIT-READY"
check "smoke test passed inside the guest" guest_passed "$log" smoke
check "init reported all tests done" log_has "$log" "MINIVMM-DONE 1/1"
check "VM ended by the guest's reset" grep -qE 'guest (requested )?reset' "$log"
check "no leaked fds at exit" log_has "$log" "fd check: clean"
check "no sanitizer report" no_sanitizer_report "$log"
[ "$FAILURES" -eq 0 ] || tail -n 40 "$log"
finish
