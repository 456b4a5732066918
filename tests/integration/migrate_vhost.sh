#!/usr/bin/env bash
# Live migration with vhost-user devices while their back-ends write guest memory:
#  1. firmware test=blk against qemu-storage-daemon, migrated hop after hop while the guest
#     writes and reads its disk (two daemons export the same image, one per side: a daemon
#     takes one front-end at a time). The guest's read-back compare runs on whichever
#     process holds the VM at the end, and the image is checked afterwards.
#  2. firmware test=pingpong against the in-tree echo back-end (tools/backend), which writes
#     every reply into a guest buffer the guest then checks: back-end writes made while the
#     source logs must reach the destination.
#  3. a destination killed mid-copy: the source restarts its rings and the disk test still
#     passes there.
#  4. snapshot of the VM mid-I/O, restored in a new process that reconnects to the daemon.
# Workloads are sized for seconds of I/O on a loaded PVM host; hop counts are not timed.
. "$(dirname "$0")/lib.sh"
need_kvm
. "$(dirname "$0")/migrate_lib.sh"

qsd=$(command -v qemu-storage-daemon) || { echo "FAIL: qemu-storage-daemon not installed" >&2; exit 1; }
build=$(dirname "$MINIVMM")/..
backend=$build/tools/backend/minivmm-backend
check_img=$build/tests/firmware/check_blk_image
[ -x "$backend" ] && [ -x "$check_img" ] || { echo "FAIL: minivmm-backend or check_blk_image not built" >&2; exit 1; }

img="$WORK/disk.img"
truncate -s 64M "$img"
start_qsd() { # start_qsd NAME: exports $img on $WORK/NAME.vu
    "$qsd" --blockdev "driver=file,node-name=f,filename=$img,locking=off" \
        --export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$WORK/$1.vu,writable=on" \
        >"$WORK/qsd-$1.log" 2>&1 &
    on_exit "kill $!"
    wait_for_path "$WORK/$1.vu" 30
}
start_echo() {
    "$backend" --socket "$WORK/$1.vu" --quiet >"$WORK/echo-$1.log" 2>&1 &
    on_exit "kill $!"
    wait_for_path "$WORK/$1.vu" 30
}

# hops PREFIX TEST DEVICE_ARGS... : moves the VM from ${PREFIX}0 to the next VM, each on the
# other of the two back-end sockets ${PREFIX}x/${PREFIX}y, until MAX_HOPS or the guest's test
# finished. Sets HOPS and LOGGED (pages the back-ends logged, all hops) and CUR.
hops() {
    local p=$1 test=$2 dev=$3 i st next
    shift 3
    HOPS=0 LOGGED=0 CUR=${p}0
    for i in $(seq 1 "$MAX_HOPS"); do
        grep -q "$test FINISH" "$WORK/$CUR.log" && break
        next=$p$i
        start_vm "$next" --kernel "$FW" --memory 128M "$@" \
            --device "$dev,socket=$WORK/$p$([ $((i % 2)) = 1 ] && echo y || echo x).vu" \
            --incoming "unix:$WORK/$next.mig"
        wait_for "$WORK/$next.log" "waiting for the migration" 30
        st=$(ctl "$CUR" migrate "unix:$WORK/$next.mig" | tail -n 1)
        echo "# $CUR -> $next: $st"
        if [ "$(json_field status <<<"$st")" != completed ]; then
            kill "$(eval echo \$"${next}_job")" 2>/dev/null
            break
        fi
        wait_exit "$CUR" 30
        [ "$EXIT_STATUS" = 0 ] || { echo "# $CUR exited $EXIT_STATUS after migrating" >&2; return 1; }
        HOPS=$((HOPS + 1))
        LOGGED=$((LOGGED + $(json_field device_dirty_pages <<<"$st")))
        CUR=$next
    done
}

# --- 1. disk I/O through qemu-storage-daemon -------------------------------------------------
start_qsd bx
start_qsd by
blk="test=blk start=64 sectors=32768 chunk=1 qd=1 seed=0x77"
start_vm b0 --kernel "$FW" --memory 128M --device "vhost-user-blk,socket=$WORK/bx.vu" --cmdline "$blk"
check "the disk test starts" wait_for "$WORK/b0.log" "capacity_sectors" 60
MAX_HOPS=4 hops b blk vhost-user-blk
check "the VM moved $HOPS times during disk I/O" [ "$HOPS" -ge 1 ]
check "the back-ends logged guest writes ($LOGGED pages)" [ "$LOGGED" -gt 0 ]
wait_exit "$CUR" 300
check "the guest's disk test passes after the moves ($CUR, status $EXIT_STATUS)" \
    guest_passed "$WORK/$CUR.log" blk
check "... and the last VM exits 0" [ "$EXIT_STATUS" = 0 ]
check "the image holds the guest's pattern" "$check_img" "$img" 64 32768 0x77

# --- 2. back-end writes into guest buffers (in-tree echo back-end) ----------------------------
start_echo ex
start_echo ey
echo_dev="vhost-user,virtio-id=63,config-size=8"
start_vm e0 --kernel "$FW" --memory 128M --device "$echo_dev,socket=$WORK/ex.vu" \
    --cmdline "test=pingpong iters=200000"
check "pingpong starts" wait_for "$WORK/e0.log" "fw: test pingpong" 60
MAX_HOPS=3 hops e pingpong "$echo_dev"
check "the VM moved $HOPS times during round trips" [ "$HOPS" -ge 1 ]
check "the echo back-end's writes were logged ($LOGGED pages)" [ "$LOGGED" -gt 0 ]
wait_exit "$CUR" 300
check "every echoed reply checked out after the moves ($CUR)" guest_passed "$WORK/$CUR.log" pingpong
check "... and the last VM exits 0" [ "$EXIT_STATUS" = 0 ]

# --- 3. destination killed mid-copy: the source keeps its disk running -----------------------
blk="test=blk start=40000 sectors=16384 chunk=1 qd=1 seed=0x99"
start_vm f0 --kernel "$FW" --memory 128M --device "vhost-user-blk,socket=$WORK/bx.vu" --cmdline "$blk"
check "the disk test starts again" wait_for "$WORK/f0.log" "capacity_sectors" 60
start_vm f1 --kernel "$FW" --memory 128M --device "vhost-user-blk,socket=$WORK/by.vu" \
    --incoming "unix:$WORK/f1.mig"
wait_for "$WORK/f1.log" "waiting for the migration" 30
ctl f0 migrate "unix:$WORK/f1.mig" --detach --downtime-ms 0 --max-rounds 100000 >/dev/null
for _ in $(seq 1 100); do
    [ "$(ctl f0 migrate-status | json_field rounds)" -ge 3 ] 2>/dev/null && break
    sleep 0.1
done
pkill -9 -f -- "--incoming unix:$WORK/f1.mig"
for _ in $(seq 1 200); do
    [ "$(ctl f0 migrate-status | json_field status)" = failed ] && break
    sleep 0.1
done
st=$(ctl f0 migrate-status)
echo "# destination killed: $st"
check "the migration failed" [ "$(json_field status <<<"$st")" = failed ]
wait_exit f0 300
check "the source's disk test passes with its rings restarted" guest_passed "$WORK/f0.log" blk
check "... and it exits 0" [ "$EXIT_STATUS" = 0 ]
check "the image holds the second pattern" "$check_img" "$img" 40000 16384 0x99
check "the first pattern is intact" "$check_img" "$img" 64 32768 0x77

# --- 4. snapshot mid-I/O, restored with the device reconnected ---------------------------------
blk="test=blk start=80000 sectors=32768 chunk=1 qd=1 seed=0x55"
start_vm s0 --kernel "$FW" --memory 128M --device "vhost-user-blk,socket=$WORK/bx.vu" --cmdline "$blk"
check "the disk test starts a third time" wait_for "$WORK/s0.log" "capacity_sectors" 60
sleep 1
check "pause" ctl s0 pause
st=$(ctl s0 snapshot "$WORK/vm.snap" | tail -n 1)
check "snapshot with a running disk completes ($st)" [ "$(json_field status <<<"$st")" = completed ]
check "quit the snapshotted VM" ctl s0 quit
wait_exit s0 30
start_vm s1 --kernel "$FW" --memory 128M --device "vhost-user-blk,socket=$WORK/bx.vu" \
    --incoming "file:$WORK/vm.snap"
wait_exit s1 300
check "the restored guest's disk test passes" guest_passed "$WORK/s1.log" blk
check "... and it exits 0" [ "$EXIT_STATUS" = 0 ]
check "the image holds the third pattern" "$check_img" "$img" 80000 32768 0x55
finish
