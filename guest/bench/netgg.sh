#!/bin/sh
# Guest side of `tools/bench netgg` (a bench, not a test): two guests on one virtio-net
# link (dpdk-testpmd forwarding between two vhost-user ports). One runs
#   minivmm.gb_role=recv minivmm.gb_ip=10.0.0.2 minivmm.gb_port=5001
# the other
#   minivmm.gb_role=send minivmm.gb_ip=10.0.0.1 minivmm.gb_peer=10.0.0.2 minivmm.gb_port=5001
#   minivmm.gb_bytes=N minivmm.gb_udp_count=N minivmm.gb_udp_size=N
# The sender waits for the peer to answer ping, prints MINIVMM-BENCH-START, runs /bin/gbench
# (a TCP stream, then UDP datagrams) and prints MINIVMM-BENCH-END: the host reads the VMM's
# counters at both markers. GBENCH lines (the figures) and the markers go straight to
# /dev/console so the host sees them as they happen; both sides print their device's packet
# and interrupt counts over the transfer (GBENCH packets rx=.. tx=.. irqs=..).

fail() {
    echo "FAIL: $*"
    exit 1
}

ip=$MINIVMM_GB_IP
port=${MINIVMM_GB_PORT:-5001}
[ -n "$ip" ] || fail "minivmm.gb_ip= is required"
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
[ -n "$dev" ] || fail "no network interface: the virtio-net device was not found"
stats=/sys/class/net/$dev/statistics
ip link set lo up
ip addr add "$ip/24" dev "$dev" || fail "ip addr add $ip/24 dev $dev"
ip link set "$dev" up || fail "ip link set $dev up"
echo "$dev: $(cat /sys/class/net/$dev/address) mtu $(cat /sys/class/net/$dev/mtu)"

# Interrupts the guest took from virtio devices (the first CPU column of /proc/interrupts).
irqs() { awk '/virtio/ { s += $2 } END { print s + 0 }' /proc/interrupts; }
packets() { echo "$(cat $stats/rx_packets) $(cat $stats/tx_packets) $(irqs)"; }
# delta "RX0 TX0 IRQ0": prints the packet and interrupt counts since.
delta() {
    set -- $1 $(packets)
    echo "GBENCH packets rx=$(($4 - $1)) tx=$(($5 - $2)) irqs=$(($6 - $3))" >/dev/console
}

case "$MINIVMM_GB_ROLE" in
recv)
    before=$(packets)
    gbench recv "$port" >/dev/console || fail "gbench recv failed"
    delta "$before"
    ;;
send)
    peer=$MINIVMM_GB_PEER
    [ -n "$peer" ] || fail "minivmm.gb_peer= is required"
    # busybox ping times out with alarm(), which this kernel lacks: timeout(1) bounds it.
    t=${MINIVMM_GB_WAIT:-900}
    while ! timeout 5 ping -c 1 "$peer" >/dev/null 2>&1; do
        t=$((t - 5))
        [ "$t" -gt 0 ] || fail "no answer from $peer"
        sleep 1
    done
    before=$(packets)
    echo MINIVMM-BENCH-START >/dev/console
    gbench send "$peer" "$port" "${MINIVMM_GB_BYTES:-4194304}" "${MINIVMM_GB_UDP_COUNT:-20000}" \
        "${MINIVMM_GB_UDP_SIZE:-64}" >/dev/console || fail "gbench send failed"
    echo MINIVMM-BENCH-END >/dev/console
    delta "$before"
    ;;
*)
    fail "minivmm.gb_role= must be send or recv"
    ;;
esac
echo "netgg: $MINIVMM_GB_ROLE done"
