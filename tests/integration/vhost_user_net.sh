#!/usr/bin/env bash
# Two guests talking through DPDK: dpdk-testpmd with two net_vhost ports forwarding to each
# other (io mode), two minivmm Linux guests at once, one per port, each with
# --device vhost-user-net (its own MAC, mtu=NET_MTU, queues=NET_QUEUES). Both run
# guest/tests/net.sh: ping each other (RTT), a full-MTU ping, and each fetches the other's
# random payload over HTTP and compares SHA-256s with it. This script then checks the
# checksums both guests printed, the one-time requests (SET_OWNER, GET_QUEUE_NUM,
# NET_SET_MTU once per device), the pairs left disabled until VQ_PAIRS_SET (NET_QUEUES > 1),
# testpmd's counters and that no kick went through the VMM.
# Environment: NET_QUEUES (default 1), NET_MTU (default 9000: testpmd accepts it),
# NET_CPUS (vCPUs per guest, default 1: Linux then uses one pair), NET_MIB (payload MiB, 2).
. "$(dirname "$0")/lib.sh"
need_kvm

queues=${NET_QUEUES:-1}
mtu=${NET_MTU:-9000}
cpus=${NET_CPUS:-1}
mib=${NET_MIB:-2}
# Linux uses min(max_virtqueue_pairs, online CPUs) pairs and says so with VQ_PAIRS_SET.
inuse=$((queues < cpus ? queues : cpus))
testpmd=$(command -v dpdk-testpmd) || {
    echo "FAIL: dpdk-testpmd not installed (dpdk, tools/install-deps)" >&2
    exit 1
}
kernel=$(guest_kernel)
initrd=$(guest_initrd)

# Port 0 <-> port 1 in io mode. One lcore polls at 100% from the start (interactive mode
# would spin its prompt thread too); --stats-period keeps it running with stdin closed, and
# SIGINT at the end makes it print the forward statistics.
"$testpmd" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "$(basename "$WORK")" \
    --vdev "net_vhost0,iface=$WORK/a.sock,queues=$queues" \
    --vdev "net_vhost1,iface=$WORK/b.sock,queues=$queues" \
    -- --auto-start --forward-mode=io --nb-cores=1 --total-num-mbufs=16384 \
    --rxq="$queues" --txq="$queues" --stats-period 60 </dev/null >"$WORK/testpmd.log" 2>&1 &
pmd=$!
on_exit "kill -9 $pmd"
for _ in $(seq 1 100); do [ -S "$WORK/a.sock" ] && [ -S "$WORK/b.sock" ] && break; sleep 0.1; done
check "testpmd listens on both vhost-user sockets" test -S "$WORK/a.sock" -a -S "$WORK/b.sock"

# vm NAME IP PEER MAC: one guest in the background; its exit status lands in NAME.status.
vm_pids=()
vm() {
    local name=$1 ip=$2 peer=$3 mac=$4
    (
        MINIVMM_CHECK_FDS=1 timeout --signal=TERM --kill-after=10 "$(tmo 3000)" "$MINIVMM" \
            --kernel "$kernel" --initrd "$initrd" --memory 128M --cpus "$cpus" --serial stdio \
            --device "vhost-user-net,socket=$WORK/$name.sock,mac=$mac,mtu=$mtu,queues=$queues" \
            --trace "vhost-user,file=$WORK/trace-$name.log" \
            --cmdline "$(guest_cmdline) minivmm.tests=net minivmm.net_ip=$ip minivmm.net_peer=$peer minivmm.net_mac=$mac minivmm.net_mtu=$mtu minivmm.net_mib=$mib minivmm.net_queues=$inuse minivmm.net_wait=$(tmo 1200) minivmm.test_timeout=$(tmo 2000)" \
            >"$WORK/$name.log" 2>&1 0<&-
        echo $? >"$WORK/$name.status"
    ) &
    vm_pids+=($!)
    on_exit "pkill -TERM -P $!" # its timeout, which passes TERM on to minivmm
}
vm a 10.0.0.1 10.0.0.2 52:54:00:00:00:0a
vm b 10.0.0.2 10.0.0.1 52:54:00:00:00:0b

wait "${vm_pids[@]}"
kill -INT "$pmd" 2>/dev/null # prints the forward statistics, then exits
for _ in $(seq 1 50); do kill -0 "$pmd" 2>/dev/null || break; sleep 0.2; done

for name in a b; do
    log="$WORK/$name.log"
    trace="$WORK/trace-$name.log"
    status=$(cat "$WORK/$name.status")
    check "$name: minivmm exits 0 (status $status)" [ "$status" -eq 0 ]
    check "$name: net test passed inside the guest" guest_passed "$log" net
    check "$name: init reported all tests done" log_has "$log" "MINIVMM-DONE 1/1"
    grep -m1 "^MINIVMM-TEST net" "$log" | sed "s/^/# $name: /"
    for req in SET_OWNER GET_QUEUE_NUM NET_SET_MTU; do
        check "$name: $req sent once" [ "$(grep -c "fe>be $req(" "$trace")" -eq 1 ]
    done
    check "$name: testpmd accepted mtu=$mtu (NET_SET_MTU acked 0)" \
        grep -q "be>fe NET_SET_MTU(20) flags=0x5\[v1|REPLY\] size=8 { u64=0x0 }" "$trace"
    if [ "$queues" -gt 1 ]; then
        check "$name: pair 1 disabled until VQ_PAIRS_SET (SET_VRING_ENABLE index=2 num=0)" \
            grep -q "fe>be SET_VRING_ENABLE(18) .*{ index=2 num=0 }" "$trace"
    fi
    if [ "$inuse" -gt 1 ]; then
        check "$name: the guest's VQ_PAIRS_SET $inuse enabled pair 1 (index=3 num=1)" \
            grep -q "fe>be SET_VRING_ENABLE(18) .*{ index=3 num=1 }" "$trace"
    fi
    counters=$(grep -m1 "device net0 (vhost-user-net" "$log")
    echo "# $name: $counters"
    check "$name: one activation" grep -q 'activations=1 ' <<<"$counters"
    check "$name: no kick went through the VMM" grep -q 'kicks-to-vmm=0 ' <<<"$counters"
    check "$name: no leaked fds at exit" log_has "$log" "fd check: clean"
    check "$name: no sanitizer report" no_sanitizer_report "$log"
done

# Both sides compared: what a sent is what b received, and the other way round.
sha() { sed -n "s/^.*MINIVMM-NET-SHA sent=\([0-9a-f]*\) received=\([0-9a-f]*\).*/\\$2/p" "$WORK/$1.log" | head -n 1; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
check "a's payload arrived intact at b" same "$(sha a 1)" "$(sha b 2)"
check "b's payload arrived intact at a" same "$(sha b 1)" "$(sha a 2)"
check "testpmd saw both devices ready" [ "$(grep -c 'virtio is now ready for processing' "$WORK/testpmd.log")" -ge 2 ]
grep -A2 "Forward statistics for port" "$WORK/testpmd.log" | grep -E "port|RX-packets" | sed 's/^/# testpmd: /'
[ "$FAILURES" -eq 0 ] || { tail -n 40 "$WORK/a.log"; tail -n 40 "$WORK/b.log"; }
finish
