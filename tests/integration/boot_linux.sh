#!/usr/bin/env bash
# The foundation, end to end: the minimal Linux guest's bzImage boots under minivmm with
# stdin closed, twice: through the Linux 64-bit boot protocol with the image's own
# decompressor running in the guest (--boot-entry linux64), copied into guest RAM before
# the vCPU starts (--kernel-load copy), and the default way: its lz4 payload unpacked on the
# host and streamed into guest RAM while the vCPU already runs, the vmlinux entered at
# startup_64. Each time the init runs
# the smoke test script and reports PASS, the guest reboots (i8042 reset) and minivmm exits
# 0 with all threads joined and no fd left open (MINIVMM_CHECK_FDS=1 makes minivmm verify
# that after teardown).
. "$(dirname "$0")/lib.sh"
need_kvm

kernel=$(guest_bzimage)
initrd=$(guest_initrd)

log_lacks() { ! grep -q -- "$2" "$1"; }

boot_once() { # NAME MINIVMM-ARGS...
    local name=$1 log="$WORK/serial-$1.log"
    shift
    MINIVMM_CHECK_FDS=1 run_vmm "$log" "$(tmo 1200)" --kernel "$kernel" --initrd "$initrd" \
        --memory 128M --cpus 1 --serial stdio --log-level debug "$@" \
        --cmdline "$(guest_cmdline) minivmm.tests=smoke minivmm.expect_cpus=1"
    check "$name: minivmm exits 0 (status $VMM_STATUS)" [ "$VMM_STATUS" -eq 0 ]
    check "$name: guest reached init" log_has "$log" "MINIVMM-INIT-READY"
    check "$name: smoke test passed inside the guest" guest_passed "$log" smoke
    check "$name: init reported all tests done" log_has "$log" "MINIVMM-DONE 1/1"
    check "$name: VM ended by the guest's reset" grep -qE 'guest (requested )?reset' "$log"
    check "$name: no leaked fds at exit" log_has "$log" "fd check: clean"
    check "$name: no sanitizer report" no_sanitizer_report "$log"
    [ "$FAILURES" -eq 0 ] || tail -n 40 "$log"
}

boot_once linux64 --boot-entry linux64 --kernel-load copy
check "linux64: the guest decompressed the kernel" log_lacks "$WORK/serial-linux64.log" "unpacked on the host"
check "linux64: the kernel was copied before the start" log_lacks "$WORK/serial-linux64.log" "kernel streamed"
boot_once unpacked
check "unpacked: the vmlinux was unpacked on the host" log_has "$WORK/serial-unpacked.log" "unpacked on the host"
check "unpacked: kernel and initrd streamed while the vCPU ran" \
    grep -qE "kernel streamed: 1[0-9]\.[0-9] MiB in" "$WORK/serial-unpacked.log"

# A payload corrupt in the middle of its first frame: the header decodes, the vCPU starts,
# the stream finds the damage later. The VM ends with that reason (not what the guest ran
# on the pages never written), exit 1, quickly, nothing leaked.
python3 - "$kernel" "$WORK/corrupt-bzImage" <<'PY'
import struct, sys
img = bytearray(open(sys.argv[1], "rb").read())
setup = ((img[0x1f1] or 4) + 1) * 512
payload = setup + struct.unpack_from("<I", img, 0x248)[0]
frame0 = struct.unpack_from("<I", img, payload + 4)[0]
mid = payload + 8 + frame0 // 2
img[mid:mid + 4096] = bytes(4096)
open(sys.argv[2], "wb").write(img)
PY
log="$WORK/serial-corrupt.log"
MINIVMM_CHECK_FDS=1 run_vmm "$log" "$(tmo 120)" --kernel "$WORK/corrupt-bzImage" --initrd "$initrd" \
    --memory 128M --serial stdio --cmdline "$(guest_cmdline)"
check "corrupt payload: exit status 1 (status $VMM_STATUS)" [ "$VMM_STATUS" -eq 1 ]
check "corrupt payload: the decoder names the damage" log_has "$log" "corrupt lz4 payload: frame 1 of"
check "corrupt payload: the VM ends for it" log_has "$log" "loading the kernel into guest RAM failed"
check "corrupt payload: no leaked fds at exit" log_has "$log" "fd check: clean"
check "corrupt payload: no sanitizer report" no_sanitizer_report "$log"
[ "$FAILURES" -eq 0 ] || tail -n 20 "$log"
finish
