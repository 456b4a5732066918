#!/bin/sh
# Guest side of `tools/bench fs` (a bench, not a test): mounts the virtio-fs share
#   minivmm.gb_tag=TAG (default bench)
# and reads the host file big.bin once, sequentially, with /bin/gbench (1 MiB reads,
# CLOCK_MONOTONIC). The mount is fresh, so nothing of the file is in the guest's page
# cache: every byte crosses the vhost-user-fs queue. Prints MINIVMM-BENCH-START/END and
# the GBENCH read and irqs (virtio interrupts during the read) lines to /dev/console.

fail() {
    echo "FAIL: $*"
    exit 1
}

tag=${MINIVMM_GB_TAG:-bench}
mnt=/mnt/$tag
mkdir -p "$mnt"
mount -t virtiofs "$tag" "$mnt" 2>/tmp/mount.err ||
    fail "mount -t virtiofs $tag: $(cat /tmp/mount.err)"
# Interrupts the guest took from virtio devices (the first CPU column of /proc/interrupts).
irqs() { awk '/virtio/ { s += $2 } END { print s + 0 }' /proc/interrupts; }
before=$(irqs)
echo MINIVMM-BENCH-START >/dev/console
gbench read "$mnt/big.bin" >/dev/console || fail "gbench read failed"
echo MINIVMM-BENCH-END >/dev/console
echo "GBENCH irqs irqs=$(($(irqs) - before))" >/dev/console
umount "$mnt" || fail "umount $mnt"
echo "fsread: $tag done"
