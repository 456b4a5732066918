#!/bin/sh
# Guest test of virtio-fs shares (virtiofsd behind minivmm --device vhost-user-fs, or the
# generic --device vhost-user,virtio-id=26). For every share named in
#   minivmm.fs_shares=TAG=SHA256[:TAG=SHA256...]
# it mounts TAG on /mnt/TAG, checks the host file input.bin against SHA256 (read twice:
# after a cache drop, and timed), lists dir/ (the host put one two three there), writes
# from-guest.txt (the pattern below, TAG on its first line) and makes guest-dir/renamed via
# mkdir, write, rename and rm, then unmounts. The host checks what was written after the VM
# exits. Pattern: echo TAG; seq 1 20000 | sed 's/^/minivmm-fs-/'
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

[ -n "$MINIVMM_FS_SHARES" ] || fail "minivmm.fs_shares=TAG=SHA256[:...] not given"
grep -q virtiofs /proc/filesystems || fail "the kernel has no virtiofs file system"
summary=
IFS_SAVED=$IFS
IFS=:
set -- $MINIVMM_FS_SHARES
IFS=$IFS_SAVED
for share in "$@"; do
    tag=${share%%=*}
    want=${share#*=}
    mnt=/mnt/$tag
    mkdir -p "$mnt"
    mount -t virtiofs "$tag" "$mnt" 2>/tmp/mount.err || fail "mount -t virtiofs $tag: $(cat /tmp/mount.err)"
    grep -q " $mnt virtiofs " /proc/mounts || fail "$tag: not in /proc/mounts as virtiofs"

    # 1. A host file, checked against the host's checksum (read through the back-end).
    size=$(stat -c %s "$mnt/input.bin") || fail "$tag: no input.bin"
    # Fresh mount: nothing is cached yet (and a tinyconfig kernel has no /proc/sys).
    [ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches
    start=$(cut -d' ' -f1 /proc/uptime)
    got=$(sha256sum "$mnt/input.bin" | cut -d' ' -f1)
    end=$(cut -d' ' -f1 /proc/uptime)
    [ "$got" = "$want" ] || fail "$tag: input.bin sha256 $got, host says $want"
    ms=$(echo "$start $end" | awk '{ printf "%d", ($2 - $1) * 1000 }')
    rate=$(echo "$size $ms" | awk '{ if ($2 > 0) printf "%.1f", $1 / 1048576 / ($2 / 1000); else print "inf" }')
    echo "$tag: input.bin $size bytes, sha256 matches the host's (read in ${ms} ms, $rate MiB/s)"

    # 2. A directory listing.
    list=$(ls "$mnt/dir" | tr '\n' ' ')
    [ "$list" = "one three two " ] || fail "$tag: ls dir/ gave '$list', want 'one three two '"
    [ "$(cat "$mnt/dir/two")" = 2 ] || fail "$tag: dir/two does not hold 2"
    echo "$tag: dir/ lists one three two"

    # 3. Writes the host checks: a file, and a directory changed by rename and rm.
    { echo "$tag"; seq 1 20000 | sed 's/^/minivmm-fs-/'; } >"$mnt/from-guest.txt" ||
        fail "$tag: cannot write from-guest.txt"
    wrote=$(stat -c %s "$mnt/from-guest.txt")
    mkdir "$mnt/guest-dir" || fail "$tag: mkdir failed"
    echo "renamed by the guest" >"$mnt/guest-dir/tmp" || fail "$tag: write in guest-dir failed"
    echo "removed by the guest" >"$mnt/guest-dir/gone" || fail "$tag: second write failed"
    mv "$mnt/guest-dir/tmp" "$mnt/guest-dir/renamed" || fail "$tag: rename failed"
    rm "$mnt/guest-dir/gone" || fail "$tag: rm failed"
    sync
    echo "$tag: wrote from-guest.txt ($wrote bytes) and guest-dir/renamed"

    umount "$mnt" || fail "$tag: umount failed"
    summary="$summary $tag: sha256 ok ${rate} MiB/s, ls ok, wrote $wrote bytes;"
done
echo "fs:$summary"
