#!/usr/bin/env bash
# virtio-fs end to end, one Linux boot with two shares from two virtiofsd processes:
# hostfs through --device vhost-user-fs (the VMM's tag in config space), genfs through the
# generic --device vhost-user,virtio-id=26 with the config space given as config=HEX
# (virtiofsd has no GET_CONFIG). The guest (guest/tests/fs.sh) mounts both, checks a host
# file's SHA-256, lists a directory, writes a file and renames/removes in a new directory;
# this script then checks the writes on the host, that both virtiofsd processes ended with
# the VM (they exit when their front-end disconnects) and that no kick went through the VMM.
. "$(dirname "$0")/lib.sh"
need_kvm

virtiofsd=/usr/lib/qemu/virtiofsd
[ -x "$virtiofsd" ] || {
    echo "FAIL: $virtiofsd not installed (qemu-system-common, tools/install-deps)" >&2
    exit 1
}
kernel=$(guest_kernel)
initrd=$(guest_initrd)
log="$WORK/serial.log"

# share TAG: a directory with input.bin (random, 4 MiB) and dir/{one,two,three}.
make_share() {
    local d="$WORK/share-$1"
    mkdir -p "$d/dir"
    head -c $((4 << 20)) /dev/urandom >"$d/input.bin"
    echo 1 >"$d/dir/one"
    echo 2 >"$d/dir/two"
    echo 3 >"$d/dir/three"
    sha256sum "$d/input.bin" | cut -d' ' -f1
}

start_virtiofsd() {
    local tag=$1 sock="$WORK/$1.sock"
    "$virtiofsd" --socket-path="$sock" -o source="$WORK/share-$tag" -o cache=auto \
        >"$WORK/virtiofsd-$tag.log" 2>&1 &
    echo $! >"$WORK/virtiofsd-$tag.pid"
    on_exit "kill -9 $!"
    for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
    check "virtiofsd for $tag is listening" [ -S "$sock" ]
}

# The generic device's config space: tag[36] NUL-padded, then le32 num_request_queues = 1.
fs_config_hex() {
    printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
    printf '%0*d' $(((36 - ${#1}) * 2)) 0
    printf '01000000'
}

sum_host=$(make_share hostfs)
sum_gen=$(make_share genfs)
start_virtiofsd hostfs
start_virtiofsd genfs

MINIVMM_CHECK_FDS=1 run_vmm "$log" "$(tmo 1500)" \
    --kernel "$kernel" --initrd "$initrd" --memory 128M --cpus 1 --serial stdio \
    --device "vhost-user-fs,socket=$WORK/hostfs.sock,tag=hostfs" \
    --device "vhost-user,virtio-id=26,socket=$WORK/genfs.sock,queues=2,config=$(fs_config_hex genfs)" \
    --cmdline "$(guest_cmdline) minivmm.tests=fs minivmm.fs_shares=hostfs=$sum_host:genfs=$sum_gen"

check "minivmm exits 0 (status $VMM_STATUS)" [ "$VMM_STATUS" -eq 0 ]
check "guest reached init" log_has "$log" "MINIVMM-INIT-READY"
check "fs test passed inside the guest" guest_passed "$log" fs
check "init reported all tests done" log_has "$log" "MINIVMM-DONE 1/1"
grep -m1 "^MINIVMM-TEST fs" "$log" | sed 's/^/# /'

# What the guest wrote, seen on the host.
{ echo hostfs; seq 1 20000 | sed 's/^/minivmm-fs-/'; } >"$WORK/want-hostfs"
{ echo genfs; seq 1 20000 | sed 's/^/minivmm-fs-/'; } >"$WORK/want-genfs"
for tag in hostfs genfs; do
    d="$WORK/share-$tag"
    check "$tag: the guest's file is on the host" cmp -s "$WORK/want-$tag" "$d/from-guest.txt"
    check "$tag: guest-dir/renamed holds what the guest wrote" \
        grep -qx "renamed by the guest" "$d/guest-dir/renamed"
    check "$tag: the guest's rm and rename took effect" \
        test ! -e "$d/guest-dir/gone" -a ! -e "$d/guest-dir/tmp"
done

# One virtiofsd per VM: each ends when minivmm disconnects.
for tag in hostfs genfs; do
    pid=$(cat "$WORK/virtiofsd-$tag.pid")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    check "virtiofsd for $tag exited with the VM" bash -c "! kill -0 $pid 2>/dev/null"
done

for dev in "fs0 (vhost-user-fs" "vhost-user0 (vhost-user,"; do
    counters=$(grep -m1 "device $dev" "$log")
    echo "# $counters"
    check "$dev): one activation" grep -q 'activations=1 ' <<<"$counters"
    check "$dev): no kick went through the VMM" grep -q 'kicks-to-vmm=0 ' <<<"$counters"
done
check "no leaked fds at exit" log_has "$log" "fd check: clean"
check "no sanitizer report" no_sanitizer_report "$log"
[ "$FAILURES" -eq 0 ] || tail -n 60 "$log"
finish
