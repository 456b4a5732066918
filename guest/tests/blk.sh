#!/bin/sh
# Guest test of a vhost-user-blk disk (/dev/vda, e.g. qemu-storage-daemon behind
# minivmm --device vhost-user-blk): what the driver saw (size, read-only, queues,
# flush), a known pattern written with O_DIRECT + fsync and read back with
# O_DIRECT, the last block of the disk, then an ext2 file system (busybox
# mke2fs) on the first half, mounted with the ext4 driver, a file written,
# remounted and read back. The host re-checks the pattern and the file in the
# image after the VM exits.
#
# Layout (the disk must be at least 64 MiB): file system in [0, 32 MiB),
# pattern (MINIVMM_BLK_PATTERN_MIB, default 4 MiB) at 40 MiB. The pattern is
#   seq -w 1 200000 | sed 's/^/minivmm-blk-pattern-/' | head -c SIZE
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

dev=/dev/vda
sys=/sys/block/vda
mib=${MINIVMM_BLK_PATTERN_MIB:-4}
[ -b "$dev" ] || fail "no $dev: the virtio-blk device was not found"

sectors=$(cat $sys/size)
ro=$(cat $sys/ro)
queues=$(ls -d $sys/mq/* 2>/dev/null | wc -l)
cache=$(cat $sys/queue/write_cache 2>/dev/null)
lbs=$(cat $sys/queue/logical_block_size)
echo "vda: $sectors sectors, ro=$ro, $queues queue(s), cache '$cache', block size $lbs"
[ "$sectors" -ge 131072 ] || fail "disk of $sectors sectors is smaller than 64 MiB"
[ "$ro" = 0 ] || fail "disk is read-only"
if [ -n "$MINIVMM_BLK_SECTORS" ] && [ "$sectors" != "$MINIVMM_BLK_SECTORS" ]; then
    fail "capacity $sectors sectors, expected $MINIVMM_BLK_SECTORS"
fi
if [ -n "$MINIVMM_BLK_QUEUES" ] && [ "$queues" != "$MINIVMM_BLK_QUEUES" ]; then
    fail "$queues queues, expected $MINIVMM_BLK_QUEUES"
fi

# 1. Raw O_DIRECT pattern at 40 MiB (4 KiB blocks: seek=10240).
seq -w 1 200000 | sed 's/^/minivmm-blk-pattern-/' | head -c $((mib << 20)) >/tmp/pattern
dd if=/tmp/pattern of=$dev bs=4096 seek=10240 oflag=direct conv=fsync,notrunc 2>/tmp/dd.err ||
    fail "O_DIRECT write failed: $(cat /tmp/dd.err)"
dd if=$dev of=/tmp/readback bs=4096 skip=10240 count=$((mib << 8)) iflag=direct 2>/tmp/dd.err ||
    fail "O_DIRECT read failed: $(cat /tmp/dd.err)"
cmp /tmp/pattern /tmp/readback || fail "pattern read back differs"
rm -f /tmp/readback
echo "pattern: $mib MiB written (O_DIRECT, fsync) and read back (O_DIRECT) at 40 MiB"

# 2. The last 4 KiB of the disk, and nothing past it.
last=$((sectors / 8 - 1))
head -c 4096 /tmp/pattern >/tmp/lastblk
dd if=/tmp/lastblk of=$dev bs=4096 seek=$last oflag=direct conv=fsync,notrunc 2>/dev/null ||
    fail "cannot write the last block ($last)"
dd if=$dev of=/tmp/lastback bs=4096 skip=$last count=1 iflag=direct 2>/dev/null ||
    fail "cannot read the last block"
cmp /tmp/lastblk /tmp/lastback || fail "last block read back differs"
n=$(dd if=$dev bs=4096 skip=$((last + 1)) count=1 iflag=direct 2>/dev/null | wc -c)
[ "$n" = 0 ] || fail "read $n bytes past the end of the disk"
echo "last block $last: ok, nothing past the end"

# 3. A file system in the first 32 MiB, mounted with the ext4 driver.
mke2fs -F -L minivmm $dev 32768 >/tmp/mkfs.log 2>&1 || fail "mke2fs: $(tail -n 1 /tmp/mkfs.log)"
mkdir -p /mnt/blk
mount -t ext4 $dev /mnt/blk || fail "mount -t ext4 of the new file system failed"
echo "minivmm vhost-user-blk file" >/mnt/blk/minivmm.txt
cp /tmp/pattern /mnt/blk/pattern.bin || fail "cannot write a $mib MiB file"
sync
umount /mnt/blk || fail "umount failed"
blockdev --flushbufs $dev # drop the disk's page cache: the remount reads the device
mount -t ext4 -o ro $dev /mnt/blk || fail "remount failed"
cmp /tmp/pattern /mnt/blk/pattern.bin || fail "file read back differs after remount"
grep -q 'minivmm vhost-user-blk file' /mnt/blk/minivmm.txt || fail "text file lost"
umount /mnt/blk
echo "ext2 (ext4 driver): file of $mib MiB written, remounted, read back"
echo "vda $sectors sectors, $queues queue(s), cache '$cache': O_DIRECT pattern, last block, file system ok"
