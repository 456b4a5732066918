#!/usr/bin/env bash
# End-to-end test of one firmware program against its real back-end:
#   fw_test.sh VMM PROGRAM     VMM: minivmm, or qemu (QEMU microvm, the reference)
# Needs /dev/kvm: without it the test skips (77) locally and FAILS when CI=true.
# Environment (set by meson): FW_ELF, MINIVMM, CHECK_BLK_IMAGE, MINIVMM_BACKEND; MINIVMM_KEEP=1
# keeps the work directory; MINIVMM_TIMEOUT_SCALE multiplies timeouts.
set -u
vmm=$1
prog=$2
: "${FW_ELF:?}" "${MINIVMM:?}" "${CHECK_BLK_IMAGE:?}"
scale=${MINIVMM_TIMEOUT_SCALE:-1}
timeout_s=$((30 * scale))

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: /dev/kvm is not usable and CI=true: KVM tests must run in CI" >&2
        exit 1
    fi
    echo "SKIP: /dev/kvm is not usable" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-fw-$prog.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "/var/run/dpdk/$(basename "$work")" # testpmd's runtime files (--file-prefix)
    if [ -n "${MINIVMM_KEEP:-}" ] || [ "${failed:-1}" != 0 ]; then
        echo "# work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- guest output:" >&2
    cat "$work/out" >&2 2>/dev/null
    exit 1
}

# Starts a back-end in the background and waits for its socket.
start_backend() {
    local sock=$1
    shift
    "$@" >"$work/backend.log" 2>&1 &
    pids+=($!)
    for _ in $(seq $((400 * scale))); do # testpmd takes seconds on a loaded host
        [ -S "$sock" ] && return 0
        sleep 0.05
    done
    cat "$work/backend.log" >&2
    fail "back-end did not create $sock"
}

qemu_cpu=host,-xsave,-cx16,-popcnt,-movbe,-bmi1,-bmi2,-abm,-adx,-fsgsbase,-rdpid,-invpcid,-pcid
qemu_cpu=$qemu_cpu,-smap,-smep,-pku,-umip,-rdrand,-rdseed,-arch-capabilities

# Extra minivmm options (e.g. --boot-entry pvh64); QEMU runs ignore them.
minivmm_args=()

# run_guest CMDLINE [vhost-user-blk|vhost-user-net|vhost-user-echo SOCK]: boots the
# firmware, sets status. The echo device (tools/backend) is minivmm only.
run_guest() {
    local cmdline=$1 dev=${2:-} sock=${3:-} rc
    if [ "$vmm" = qemu ]; then
        local args=(-M microvm,acpi=off -enable-kvm -cpu "$qemu_cpu" -m 64M -nographic
                    -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4
                    -kernel "$FW_ELF" -append "$cmdline")
        if [ "$dev" = vhost-user-blk ]; then
            args+=(-object memory-backend-memfd,id=mem,size=64M,share=on -numa node,memdev=mem
                   -chardev "socket,id=c,path=$sock" -device vhost-user-blk,chardev=c
                   -global virtio-mmio.force-legacy=false)
        elif [ "$dev" = vhost-user-net ]; then
            args+=(-object memory-backend-memfd,id=mem,size=64M,share=on -numa node,memdev=mem
                   -chardev "socket,id=c,path=$sock" -netdev vhost-user,id=n,chardev=c
                   -device virtio-net-device,netdev=n -global virtio-mmio.force-legacy=false)
        fi
        timeout "$timeout_s" qemu-system-x86_64 "${args[@]}" >"$work/out" 2>&1 </dev/null
        rc=$?
        # isa-debug-exit: QEMU exits with status * 2 + 1
        if [ $((rc % 2)) = 1 ]; then status=$(((rc - 1) / 2)); else status=rc$rc; fi
    else
        local args=(--kernel "$FW_ELF" --memory 64M --cmdline "$cmdline" --timeout "$timeout_s"
                    "${minivmm_args[@]}")
        case $dev in
        vhost-user-blk) args+=(--device "vhost-user-blk,socket=$sock") ;;
        vhost-user-net) args+=(--device "vhost-user,socket=$sock,virtio-id=1,queues=2") ;;
        vhost-user-echo) args+=(--device "vhost-user,socket=$sock,virtio-id=63,config-size=8") ;;
        vhost-user-echo-server) # minivmm listens, the back-end connects
            args+=(--device "vhost-user,socket=$sock,server=on,virtio-id=63,config-size=8") ;;
        esac
        timeout "$((timeout_s + 5))" "$MINIVMM" "${args[@]}" >"$work/out" 2>&1 </dev/null
        status=$?
    fi
}

# expect_pass [NAME]: the firmware program NAME (default: this test's) passed.
expect_pass() {
    local name=${1:-$prog}
    grep -q "^MINIVMM-TEST $name PASS" "$work/out" || fail "no PASS line from test=$name"
    ! grep -q "^MINIVMM-TEST .* FAIL" "$work/out" || fail "a FAIL line from test=$name"
    [ "$status" = 0 ] || fail "exit status $status, want 0"
}

case $prog in
boot)
    run_guest "test=boot"
    expect_pass
    grep -q "FIGURE entry=pvh32" "$work/out" || fail "not entered through the 32-bit PVH entry"
    ;;
boot64)
    # minivmm only: the ELF entry in long mode (QEMU has no such option).
    minivmm_args=(--boot-entry pvh64)
    run_guest "test=boot"
    expect_pass boot
    grep -q "FIGURE entry=pvh64" "$work/out" || fail "not entered through the 64-bit entry"
    ;;
boot-stream)
    # minivmm only: the firmware streamed into guest RAM by userfaultfd while the vCPU runs
    # (auto copies images this small), and an initrd streamed after it.
    head -c 3000000 /dev/urandom >"$work/initrd"
    minivmm_args=(--kernel-load stream --initrd "$work/initrd")
    run_guest "test=boot"
    expect_pass boot
    grep -q "kernel streamed: [0-9.]* MiB in [0-9.]* ms while the vCPUs ran" "$work/out" ||
        fail "no report of the streamed load"
    ;;
fault)
    run_guest "test=fault"
    grep -q "^MINIVMM-TEST fault FAIL exception 14 at rip=0x[0-9a-f]* err=0x4 cr2=0x0 cs=0x23" \
        "$work/out" || fail "no report of the ring-3 page fault (vector, RIP, error code)"
    [ "$status" = 1 ] || fail "exit status $status, want 1"
    ;;
assert)
    run_guest "test=assert"
    grep -q "^MINIVMM-TEST assert FAIL assertion at .*firmware/prog_selftest.c:[0-9]*: " \
        "$work/out" || fail "no report of the assertion with file and line"
    [ "$status" = 1 ] || fail "exit status $status, want 1"
    ;;
blk)
    truncate -s 8M "$work/disk.img"
    start_backend "$work/blk.sock" qemu-storage-daemon \
        --blockdev "driver=file,node-name=f,filename=$work/disk.img" \
        --export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$work/blk.sock,writable=on"
    run_guest "test=blk start=100 sectors=2048 chunk=16 qd=8 seed=0x1234" vhost-user-blk "$work/blk.sock"
    expect_pass
    "$CHECK_BLK_IMAGE" "$work/disk.img" 100 2048 0x1234 || fail "the image does not hold the pattern"
    ;;
blk-bench)
    truncate -s 64M "$work/disk.img"
    start_backend "$work/blk.sock" qemu-storage-daemon \
        --blockdev "driver=file,node-name=f,filename=$work/disk.img" \
        --export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$work/blk.sock,writable=on"
    run_guest "test=blk-bench ms=100 qd=8" vhost-user-blk "$work/blk.sock"
    expect_pass
    for phase in randread randwrite seqread seqwrite; do
        grep -q "FIGURE ${phase}_iops=[1-9]" "$work/out" || fail "no $phase IOPS figure"
    done
    ;;
pingpong)
    # Against qemu-storage-daemon (GET_ID requests) until tools/ has the minimal back-end.
    truncate -s 1M "$work/disk.img"
    start_backend "$work/blk.sock" qemu-storage-daemon \
        --blockdev "driver=file,node-name=f,filename=$work/disk.img" \
        --export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$work/blk.sock,writable=on"
    run_guest "test=pingpong iters=500" vhost-user-blk "$work/blk.sock"
    expect_pass
    grep -q "FIGURE rtt_median_ns=[1-9]" "$work/out" || fail "no median figure"
    ;;
pingpong-backend)
    # The in-tree echo back-end (tools/backend): one session per run, interrupt then
    # polled completion; the firmware checks every echoed sequence number.
    : "${MINIVMM_BACKEND:?}"
    start_backend "$work/echo.sock" "$MINIVMM_BACKEND" --socket "$work/echo.sock"
    for mode in irq poll; do
        run_guest "test=pingpong iters=2000 mode=$mode" vhost-user-echo "$work/echo.sock"
        expect_pass pingpong
        grep -q "FIGURE device_id=63" "$work/out" || fail "pingpong did not use the echo device"
        grep -q "FIGURE rtt_median_ns=[1-9]" "$work/out" || fail "no median figure ($mode)"
        grep "FIGURE rtt_" "$work/out" | sed "s/^MINIVMM-TEST pingpong FIGURE /# $mode: /"
    done
    # The back-end logs a session's end once minivmm has gone: give it a moment.
    for _ in $(seq $((100 * scale))); do
        [ "$(grep -c "session ended" "$work/backend.log")" = 2 ] && break
        sleep 0.05
    done
    ! grep -q "error" "$work/backend.log" || fail "the back-end logged errors: $(cat "$work/backend.log")"
    [ "$(grep -c "2050 echo requests (16400 bytes, 0 bad)" "$work/backend.log")" = 2 ] ||
        fail "the back-end did not serve 2 sessions of 2050 requests: $(cat "$work/backend.log")"
    # The other way round: minivmm listens, a busy-polling back-end connects (--once: its
    # exit status says whether the session was clean). The guest polls too: no kick, no call.
    "$MINIVMM_BACKEND" --socket "$work/echo-client.sock" --client --busy-poll --once \
        >"$work/backend-client.log" 2>&1 &
    client=$!
    pids+=("$client")
    run_guest "test=pingpong iters=2000 mode=poll" vhost-user-echo-server "$work/echo-client.sock"
    expect_pass pingpong
    grep "FIGURE rtt_" "$work/out" | sed "s/^MINIVMM-TEST pingpong FIGURE /# busy-poll: /"
    wait "$client" || fail "the connecting back-end failed: $(cat "$work/backend-client.log")"
    ;;
net)
    # testpmd answers ICMP echo on its one port; --stats-period keeps it running
    # with stdin closed (otherwise it exits at "Press enter to exit").
    start_backend "$work/net.sock" dpdk-testpmd -l 0,1 --no-huge -m 512 --no-pci \
        --file-prefix "$(basename "$work")" --vdev "net_vhost0,iface=$work/net.sock,queues=1" \
        -- --auto-start --forward-mode=icmpecho --nb-cores=1 --total-num-mbufs=16384 \
        --stats-period 1000 </dev/null
    run_guest "test=net count=1000" vhost-user-net "$work/net.sock"
    expect_pass
    ;;
dirty)
    run_guest "test=dirty passes=3"
    expect_pass
    grep -q "FIGURE passes=3" "$work/out" || fail "not all passes ran"
    ;;
mmio-fuzz)
    # minivmm only: QEMU accepts the bad values (and 7.2 asserts), which is the point.
    truncate -s 1M "$work/disk.img"
    start_backend "$work/blk.sock" qemu-storage-daemon \
        --blockdev "driver=file,node-name=f,filename=$work/disk.img" \
        --export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$work/blk.sock,writable=on"
    run_guest "test=mmio-fuzz rounds=3000" vhost-user-blk "$work/blk.sock"
    expect_pass
    grep -q "refused" "$work/out" || fail "minivmm logged no refusals"
    ;;
*)
    fail "unknown program $prog"
    ;;
esac
failed=0
echo "ok - test=$prog under $vmm"
grep "^MINIVMM-TEST" "$work/out"
