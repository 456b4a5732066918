#!/bin/sh
# Guest test of virtio-net between two guests (each with one vhost-user-net device, e.g. two
# dpdk-testpmd net_vhost ports forwarding to each other). Both guests run this same script:
#   minivmm.net_ip=10.0.0.1 minivmm.net_peer=10.0.0.2 [minivmm.net_mac=..] [minivmm.net_mtu=N]
#   [minivmm.net_queues=N] [minivmm.net_mib=4] [minivmm.net_wait=900]
# It checks what the driver saw (MAC, MTU, link, queues), configures the address, serves
# /srv (payload: MIB random MiB, sha: its SHA-256, got: the SHA-256 of what it fetched) over
# HTTP, waits for the peer to answer ping (it may still be booting), measures ping RTT, sends
# a full-MTU ping when the MTU is above 1500, fetches the peer's payload and checks it against
# the peer's sha, then waits until the peer's got equals its own sha: both sides compared.
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# Retries "$@" every second for up to $1 seconds (the first argument).
retry() {
    t=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        t=$((t - 1))
        [ "$t" -gt 0 ] || return 1
        sleep 1
    done
}

ip=$MINIVMM_NET_IP
peer=$MINIVMM_NET_PEER
mib=${MINIVMM_NET_MIB:-4}
wait=${MINIVMM_NET_WAIT:-900}
[ -n "$ip" ] && [ -n "$peer" ] || fail "minivmm.net_ip= and minivmm.net_peer= are required"
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
[ -n "$dev" ] || fail "no network interface: the virtio-net device was not found"
sys=/sys/class/net/$dev
mac=$(cat $sys/address)
mtu=$(cat $sys/mtu)
rxq=$(ls -d $sys/queues/rx-* | wc -l)
echo "$dev: mac $mac, mtu $mtu, $rxq rx queue(s) in use"
[ -z "$MINIVMM_NET_MAC" ] || [ "$mac" = "$MINIVMM_NET_MAC" ] || fail "mac $mac, expected $MINIVMM_NET_MAC"
[ -z "$MINIVMM_NET_MTU" ] || [ "$mtu" = "$MINIVMM_NET_MTU" ] || fail "mtu $mtu, expected $MINIVMM_NET_MTU"
[ -z "$MINIVMM_NET_QUEUES" ] || [ "$rxq" = "$MINIVMM_NET_QUEUES" ] ||
    fail "$rxq rx queues, expected $MINIVMM_NET_QUEUES"

ip link set lo up
ip addr add "$ip/24" dev "$dev" || fail "ip addr add $ip/24 dev $dev"
ip link set "$dev" up || fail "ip link set $dev up"
retry 10 grep -qx 1 $sys/carrier || fail "no carrier on $dev (VIRTIO_NET_S_LINK_UP)"

mkdir -p /srv
# Pseudo-random in user space (native speed): /dev/urandom is kernel work, emulated on PVM.
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
awk -v seed="$seed" -v lines=$((mib << 16)) 'BEGIN {
    srand(seed)
    for (i = 0; i < lines; i++)
        printf "%08x%07x\n", int(rand() * 4294967296), int(rand() * 268435456)
}' >/srv/payload
sha=$(sha256sum /srv/payload | cut -d' ' -f1)
echo "$sha" >/srv/sha
httpd -p 8080 -h /srv || fail "httpd did not start"

# One echo request, at most 5 s. busybox ping paces and times out with alarm(), which a
# kernel without CONFIG_POSIX_TIMERS (the tinyconfig guest) does not have: one packet per
# ping, and timeout(1) (which sleeps) as the deadline.
ping1() { timeout 5 ping -c 1 "$@" "$peer"; }

# 1. The peer, once it is up; then 20 pings for the RTT.
start=$(now_ms)
retry "$wait" ping1 || fail "no answer from $peer in ${wait}s"
echo "$peer answered after $(( ($(now_ms) - start) / 1000 )) s"
: >/tmp/rtt
for i in $(seq 1 20); do
    ping1 >/tmp/ping.out 2>&1 || fail "ping $i of 20 to $peer unanswered: $(tail -n 1 /tmp/ping.out)"
    sed -n 's/.*min\/avg\/max = \([^\/]*\)\/.*/\1/p' /tmp/ping.out >>/tmp/rtt
done
rtt=$(awk 'NR == 1 || $1 < lo { lo = $1 } $1 > hi { hi = $1 } { s += $1 }
           END { printf "%.3f/%.3f/%.3f", lo, s / NR, hi }' /tmp/rtt)
echo "ping $peer: 20 of 20 answered, rtt min/avg/max $rtt ms"
if [ "$mtu" -gt 1500 ]; then
    ping1 -s $((mtu - 28)) >/tmp/big.out 2>&1 ||
        fail "ping of $((mtu - 28)) bytes (one $mtu-byte packet) failed: $(tail -n 2 /tmp/big.out)"
    echo "ping with $((mtu - 28)) data bytes (full $mtu-byte MTU) answered"
fi

# 2. The peer's payload, checked against the peer's checksum.
retry "$wait" timeout 60 wget -q -O /tmp/peer.sha "http://$peer:8080/sha" || fail "no sha from $peer"
start=$(now_ms)
timeout 300 wget -q -O /tmp/peer.payload "http://$peer:8080/payload" || fail "wget payload from $peer"
ms=$(( $(now_ms) - start ))
got=$(sha256sum /tmp/peer.payload | cut -d' ' -f1)
[ "$got" = "$(cat /tmp/peer.sha)" ] || fail "payload from $peer: sha256 $got, $peer says $(cat /tmp/peer.sha)"
echo "$got" >/srv/got
rate=$(echo "$mib $ms" | awk '{ if ($2 > 0) printf "%.2f", $1 / ($2 / 1000); else print "inf" }')
echo "MINIVMM-NET-SHA sent=$sha received=$got"
echo "fetched $mib MiB from $peer in $ms ms ($rate MiB/s), sha256 matches the peer's"

# 3. The peer got ours intact; then keep serving a little for its last look at /srv/got.
retry "$wait" sh -c "timeout 60 wget -q -O /tmp/peer.got http://$peer:8080/got && grep -qx $sha /tmp/peer.got" ||
    fail "$peer never reported our payload's sha256 ($(cat /tmp/peer.got 2>/dev/null))"
sleep 10
echo "net: $dev $mac mtu $mtu rxq $rxq: rtt $rtt ms, $mib MiB each way at $rate MiB/s, sha256 equal on both sides"
