#!/usr/bin/env bash
# vhost-user-blk end to end: qemu-storage-daemon exports a raw image, the Linux
# guest (one boot) runs guest/tests/blk.sh (O_DIRECT pattern + fsync, last
# block, ext2 via the ext4 driver) and then guest/tests/blk_dead.sh, during which
# this script kills the back-end: the device must fail cleanly (guest sees
# DEVICE_NEEDS_RESET or an I/O error), the VM must still end, and minivmm must
# say which back-end died. Afterwards the image holds the pattern and a clean
# file system, and the device counters show no kick through the VMM.
. "$(dirname "$0")/lib.sh"
need_kvm

qsd=$(command -v qemu-storage-daemon) || {
    echo "FAIL: qemu-storage-daemon not installed (tools/install-deps)" >&2
    exit 1
}
kernel=$(guest_kernel)
initrd=$(guest_initrd)
log="$WORK/serial.log"
trace="$WORK/trace.log"
img="$WORK/disk.img"
sock="$WORK/blk.sock"
mib=4

truncate -s 64M "$img"
"$qsd" --blockdev driver=file,node-name=f,filename="$img" \
    --export type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path="$sock",writable=on \
    >"$WORK/qsd.log" 2>&1 &
qsd_pid=$!
on_exit "kill -9 $qsd_pid"
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
check "qemu-storage-daemon is listening" [ -S "$sock" ]

# minivmm in the background (stdin closed), so that the back-end can be killed
# when the guest asks for it.
(
    MINIVMM_CHECK_FDS=1 timeout --signal=TERM --kill-after=10 "$(tmo 1500)" "$MINIVMM" \
        --kernel "$kernel" --initrd "$initrd" --memory 128M --cpus 1 --serial stdio \
        --device "vhost-user-blk,socket=$sock" --trace "vhost-user,file=$trace" \
        --cmdline "$(guest_cmdline) minivmm.tests=blk,blk_dead minivmm.blk_sectors=131072 minivmm.blk_pattern_mib=$mib" \
        >"$log" 2>&1 0<&-
    echo $? >"$WORK/status"
) &
vmm_job=$!
on_exit "kill $vmm_job"

killed=no
while [ ! -e "$WORK/status" ]; do
    if [ "$killed" = no ] && grep -q "MINIVMM-BLK-KILL-ME" "$log" 2>/dev/null; then
        kill -9 "$qsd_pid"
        killed=yes
    fi
    sleep 1
done
wait "$vmm_job"
status=$(cat "$WORK/status")

check "minivmm exits 0 (status $status)" [ "$status" -eq 0 ]
check "guest reached init" log_has "$log" "MINIVMM-INIT-READY"
check "blk test passed inside the guest" guest_passed "$log" blk
check "the back-end was killed mid-test" [ "$killed" = yes ]
check "guest saw the dead back-end (NEEDS_RESET or I/O error)" guest_passed "$log" blk_dead
check "minivmm named the dead back-end" \
    log_has "$log" "device failed: vhost-user back-end at $sock: closed the"
check "init reported all tests done" log_has "$log" "MINIVMM-DONE 2/2"
counters=$(grep -m1 'device blk0 (vhost-user-blk' "$log")
echo "# $counters"
check "no kick went through the VMM" grep -q 'kicks-to-vmm=0 ' <<<"$counters"
check "one activation" grep -q 'activations=1 ' <<<"$counters"
check "trace has the memory table and ring start" \
    grep -q 'SET_MEM_TABLE' "$trace"
check "trace has the rings' kick fds" grep -q 'SET_VRING_KICK' "$trace"

# The image after the VM: pattern at 40 MiB, file system in the first 32 MiB.
seq -w 1 200000 | sed 's/^/minivmm-blk-pattern-/' | head -c $((mib << 20)) >"$WORK/pattern"
dd if="$img" of="$WORK/image-pattern" bs=1M skip=40 count=$mib status=none
check "the pattern is in the image file" cmp -s "$WORK/pattern" "$WORK/image-pattern"
fsck_clean() { e2fsck -fn "$img" >"$WORK/fsck.log" 2>&1; }
check "the file system in the image is clean" fsck_clean
debugfs -R "dump /pattern.bin $WORK/fs-pattern" "$img" >/dev/null 2>&1
check "the guest's file is in the image's file system" cmp -s "$WORK/pattern" "$WORK/fs-pattern"
check "no leaked fds at exit" log_has "$log" "fd check: clean"
check "no sanitizer report" no_sanitizer_report "$log"
[ "$FAILURES" -eq 0 ] || tail -n 60 "$log"
finish
