#!/bin/sh
# Guest side of the dead back-end test: keeps reading /dev/vda with O_DIRECT in
# the background, prints MINIVMM-BLK-KILL-ME on the console (the host then kills
# the vhost-user-blk back-end), and waits until the device reports
# DEVICE_NEEDS_RESET (0x40 in its virtio status) or a read fails. The reads in
# flight at the kill never complete (Linux 6.1 virtio-blk has no timeout): they
# only touch the raw disk, so nothing waits for them at reboot.
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

dev=/dev/vda
status=/sys/block/vda/device/status
wait_s=${MINIVMM_BLK_DEAD_WAIT:-120}
[ -b "$dev" ] || fail "no $dev"
[ -r "$status" ] || fail "no $status"

rm -f /tmp/blk_dead.reads /tmp/blk_dead.err
(
    n=0
    while dd if=$dev of=/dev/null bs=4096 count=1 skip=$((n % 1024)) iflag=direct 2>/dev/null; do
        n=$((n + 1))
        echo $n >/tmp/blk_dead.reads
    done
    echo "read $n failed" >/tmp/blk_dead.err
) </dev/null >/dev/null 2>&1 &

# Some reads first, so the kill lands on a running device.
i=0
while [ ! -s /tmp/blk_dead.reads ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -s /tmp/blk_dead.reads ] || fail "no read completed before the kill"
echo "device status $(cat $status) before the kill"
echo "MINIVMM-BLK-KILL-ME" >/dev/console

i=0
while [ $i -lt "$wait_s" ]; do
    s=$(cat $status)
    if [ $((s & 0x40)) -ne 0 ]; then
        echo "device status $s: DEVICE_NEEDS_RESET after $(cat /tmp/blk_dead.reads) reads"
        exit 0
    fi
    if [ -s /tmp/blk_dead.err ]; then
        echo "I/O error seen: $(cat /tmp/blk_dead.err)"
        exit 0
    fi
    sleep 1
    i=$((i + 1))
done
fail "no I/O error and no DEVICE_NEEDS_RESET $wait_s s after the kill (status $(cat $status))"
