#!/usr/bin/env bash
# Live migration of a Linux guest with a vhost-user-blk disk (qemu-storage-daemon) and a
# vhost-user-net device (dpdk-testpmd forwarding between its net_vhost port and a net_tap
# port, so that this host's kernel is the guest's network peer on a tap interface).
# Linux boots once, on A. The guest (guest/tests/migrate.sh) runs a counter and keeps
# writing stamped blocks to its disk; mid-I/O the VM moves A -> B over a UNIX socket (B's
# disk is a second daemon on the same image, its net device the same testpmd port). Then:
# B never booted and its counter continues from A's; the guest announced itself (B's stats:
# announce requested and acked by the guest; the tap sees its gratuitous ARP); host <-> guest
# ping works; the guest's read-back and this script's check of the image agree.
# Time bounds (seconds, scaled by MINIVMM_TIMEOUT_SCALE): MIG_BOOT_WAIT (Linux up and
# writing, 900), MIG_RUN_WAIT (each step after the move, 300); MIG_VM_TIMEOUT: each
# minivmm's --timeout (default: the sum of them all).
. "$(dirname "$0")/lib.sh"
need_kvm
. "$(dirname "$0")/migrate_lib.sh"

boot_wait=$(tmo "${MIG_BOOT_WAIT:-900}")
run_wait=$(tmo "${MIG_RUN_WAIT:-300}")
testpmd=$(command -v dpdk-testpmd) || { echo "FAIL: dpdk-testpmd not installed" >&2; exit 1; }
qsd=$(command -v qemu-storage-daemon) || { echo "FAIL: qemu-storage-daemon not installed" >&2; exit 1; }
kernel=$(guest_kernel)
initrd=$(guest_initrd)
tap=mvm$(($$ % 100000))
host_ip=10.203.0.1
guest_ip=10.203.0.2
mac=52:54:00:20:30:02
slots=64
base=8192

img="$WORK/disk.img"
truncate -s 64M "$img"
start_qsd() { # start_qsd NAME: exports $img on $WORK/NAME.vu (one front-end per daemon)
    "$qsd" --blockdev "driver=file,node-name=f,filename=$img,locking=off" \
        --export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$WORK/$1.vu,writable=on" \
        >"$WORK/qsd-$1.log" 2>&1 &
    on_exit "kill $!"
    wait_for_path "$WORK/$1.vu" 30
}
check "qemu-storage-daemon for A" start_qsd bx
check "qemu-storage-daemon for B" start_qsd by

# The guest learns that it has moved from /done here (created once B runs the VM).
python3 - "$WORK" <<'PY' >"$WORK/http.log" 2>&1 &
import http.server, os, sys
work = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/done" and os.path.exists(work + "/done")
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b"moved\n" if ok else b"not yet\n")
s = http.server.HTTPServer(("0.0.0.0", 0), H)
open(work + "/http.port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
on_exit "kill $!"
for _ in $(seq 1 50); do [ -s "$WORK/http.port" ] && break; sleep 0.1; done
port=$(cat "$WORK/http.port")

# testpmd: port 0 = the guest's vhost-user socket, port 1 = a tap interface in this host.
"$testpmd" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "$(basename "$WORK")" \
    --vdev "net_vhost0,iface=$WORK/net.sock,queues=1" --vdev "net_tap0,iface=$tap" \
    -- --auto-start --forward-mode=io --nb-cores=1 --total-num-mbufs=16384 \
    --stats-period 60 </dev/null >"$WORK/testpmd.log" 2>&1 &
pmd=$!
on_exit "kill -9 $pmd"
for _ in $(seq 1 200); do [ -S "$WORK/net.sock" ] && ip link show "$tap" >/dev/null 2>&1 && break; sleep 0.1; done
check "testpmd listens on the vhost-user socket and made tap $tap" \
    bash -c "[ -S '$WORK/net.sock' ] && ip link show '$tap' >/dev/null"
ip addr add "$host_ip/24" dev "$tap"
ip link set "$tap" up
sysctl -qw "net.ipv4.conf.$tap.arp_accept=1"

# Gratuitous ARPs from the guest on the tap (sender IP = target IP = the guest's).
python3 - "$tap" "$guest_ip" <<'PY' >"$WORK/garp.log" 2>&1 &
import socket, sys, time
tap, ip = sys.argv[1], socket.inet_aton(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((tap, 0))
while True:
    f = s.recv(2048)
    if len(f) >= 42 and f[28:32] == ip and f[38:42] == ip:
        print("garp op=%d from %s at %.3f" % (f[21], f[22:28].hex(":"), time.time()), flush=True)
PY
on_exit "kill $!"

start_linux() { # start_linux NAME BLK_SOCKET [minivmm args...]
    local name=$1 blk=$2
    shift 2
    start_vm_t "$name" --kernel "$kernel" --initrd "$initrd" --memory 128M --serial stdio \
        --device "vhost-user-blk,socket=$WORK/$blk.vu" \
        --device "vhost-user-net,socket=$WORK/net.sock,mac=$mac" "$@"
}
# start_vm with a Linux-sized time limit.
start_vm_t() {
    local name=$1 limit=${MIG_VM_TIMEOUT:-$((boot_wait + 6 * run_wait))}
    shift
    rm -f "$WORK/$name.status" "$WORK/$name.sock"
    (
        for fd in $(ls /proc/$BASHPID/fd); do
            [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
        done
        # --timeout first: a stuck guest ends with every vCPU's state in the log.
        MINIVMM_CHECK_FDS=1 timeout --signal=TERM --kill-after=10 $((limit + 30)) \
            "$MINIVMM" --api-socket "$WORK/$name.sock" --timeout "$limit" "$@" \
            >"$WORK/$name.log" 2>&1 0<&-
        echo $? >"$WORK/$name.status"
    ) &
    eval "${name}_job=$!"
    on_exit "pkill -TERM -P \$${name}_job; kill \$${name}_job" # timeout(1) passes TERM on
}
max_count() { grep -ao 'MIGRATE-COUNT [0-9]*' "$1" | awk '$2 > m { m = $2 } END { print m + 0 }'; }
min_count() { grep -ao 'MIGRATE-COUNT [0-9]*' "$1" | awk 'NR == 1 || $2 < m { m = $2 } END { print m + 0 }'; }
net_stat() { ctl "$1" stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["net"][0][sys.argv[1]])' "$2"; }
stat_ge() { [ "$(net_stat "$1" "$2" 2>/dev/null)" -ge "$3" ] 2>/dev/null; }
state_is() { ctl "$1" status | grep -q "\"state\":\"$2\""; }
counter_past() { [ "$(max_count "$WORK/$1.log")" -gt "$2" ]; }
no_boot() { ! grep -q MINIVMM-INIT-READY "$WORK/$1.log"; }
neigh_has() { ip neigh show dev "$tap" | grep -q "$guest_ip .*$mac"; }
# guest_wait NAME PATTERN SECONDS: like wait_for, but gives up at once when the guest's test
# failed or the VM ended.
guest_wait() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
        grep -aq -- "$2" "$WORK/$1.log" 2>/dev/null && return 0
        grep -aq "^MINIVMM-TEST migrate FAIL" "$WORK/$1.log" 2>/dev/null && break
        [ -s "$WORK/$1.status" ] && break
        sleep 0.1
    done
    grep -a "FAIL" "$WORK/$1.log" | head -n 3 | sed "s/^/# $1: /"
    return 1
}
# host_ping IP: one ICMP echo from this host (no ping(8) here: a raw socket), 3 s to answer.
host_ping() {
    python3 - "$1" <<'PY'
import os, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident, payload = os.getpid() & 0xffff, b"minivmm-migrate-ping...."
hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, 1) + payload, (sys.argv[1], 0))
s.settimeout(0.5)
end = time.time() + 3
while time.time() < end:
    try:
        pkt, addr = s.recvfrom(2048)
    except socket.timeout:
        continue
    ihl = (pkt[0] & 15) * 4
    if addr[0] == sys.argv[1] and pkt[ihl] == 0 and struct.unpack("!H", pkt[ihl + 4:ihl + 6])[0] == ident:
        print("reply from %s in %.1f ms" % (addr[0], (time.time() - end + 3) * 1000))
        sys.exit(0)
sys.exit(1)
PY
}
until_true() { # until_true SECONDS command...: retries every 0.5 s
    local t=$1 i
    shift
    for i in $(seq 1 $((t * 2))); do "$@" && return 0; sleep 0.5; done
    return 1
}

t0=$(date +%s)
start_linux a bx --cmdline "$(guest_cmdline) minivmm.tests=migrate minivmm.mig_ip=$guest_ip minivmm.mig_host=$host_ip minivmm.mig_port=$port minivmm.mig_slots=$slots minivmm.mig_base=$base minivmm.mig_wait=$((boot_wait + 4 * run_wait)) minivmm.test_timeout=$((boot_wait + 5 * run_wait))"
check "Linux boots on A and its net device is up" guest_wait a "MIGRATE-READY" "$boot_wait"
check "the guest counts and writes its disk (8 iterations)" guest_wait a "MIGRATE-COUNT 8[^0-9]" "$run_wait"
[ "$FAILURES" -eq 0 ] || { tail -n 30 "$WORK/a.log"; finish; }
echo "# A: Linux up and writing after $(($(date +%s) - t0)) s"
check "no gratuitous ARP before the move" [ ! -s "$WORK/garp.log" ]

start_linux b by --incoming "unix:$WORK/b.mig"
check "B waits for the VM" wait_for "$WORK/b.log" "waiting for the migration" 60
check "B answers status while it waits" state_is b incoming
t1=$(date +%s)
st=$(ctl a migrate "unix:$WORK/b.mig" | tail -n 1)
echo "# A -> B: $st"
check "A -> B completes mid-I/O" [ "$(json_field status <<<"$st")" = completed ]
wait_exit a 60
check "A exits 0 once migrated (status $EXIT_STATUS)" [ "$EXIT_STATUS" = 0 ]
count_a=$(max_count "$WORK/a.log")
echo "# the counter was at $count_a on A; migration took $(($(date +%s) - t1)) s"

check "B runs the VM" state_is b running
check "the counter continues on B past A's $count_a" \
    until_true "$run_wait" counter_past b "$count_a"
first_b=$(min_count "$WORK/b.log")
check "B's first count ($first_b) follows A's last ($count_a): no restart" \
    [ "$first_b" -ge 1 -a "$first_b" -le $((count_a + 3)) ]
check "B never booted Linux" no_boot b

# The announcement: GUEST_ANNOUNCE through the config space, acked on the control queue.
check "B asked the guest to announce itself" until_true 30 stat_ge b announce_requested 1
check "the guest acked the announcement (ANNOUNCE_ACK)" until_true "$run_wait" stat_ge b announce_acked 1
check "the host saw the guest's gratuitous ARP on $tap" until_true "$run_wait" grep -q "garp" "$WORK/garp.log"
sed 's/^/# /' "$WORK/garp.log"
echo "# B stats: $(ctl b stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["net"])')"
ip neigh show dev "$tap" | sed 's/^/# neigh: /'
check "the host's neighbour table has the guest's MAC (arp_accept)" neigh_has
check "host -> guest ping after the move" until_true 60 host_ping "$guest_ip"
host_ping "$guest_ip" | sed 's/^/# ping: /'

touch "$WORK/done"
wait_exit b "$run_wait"
check "B's guest test passes (counter, disk read-back, guest -> host ping)" guest_passed "$WORK/b.log" migrate
check "B exits 0 (status $EXIT_STATUS)" [ "$EXIT_STATUS" = 0 ]
check "B has no leaked fd" log_has "$WORK/b.log" "fd check: clean"
grep -a "MINIVMM-TEST migrate" "$WORK/b.log" | sed 's/^/# /'

# The image, read by this host: every slot holds the stamp of the last iteration writing it.
disk=$(grep -ao 'MIGRATE-DISK writes=[0-9]* slots=[0-9]* base=[0-9]*' "$WORK/b.log" | tail -n 1)
writes=$(sed -n 's/.*writes=\([0-9]*\).*/\1/p' <<<"$disk")
check "the image holds the guest's last stamps ($disk)" python3 - "$img" "${writes:-0}" "$slots" "$base" <<'PY'
import sys
img, w, n, base = sys.argv[1], *map(int, sys.argv[2:5])
assert w >= n, "only %d writes" % w
with open(img, "rb") as f:
    for k in range(n):
        f.seek((base + k) * 4096)
        want = ("mig %010d \n" % (k + n * ((w - 1 - k) // n))).encode() * 256
        got = f.read(4096)
        assert got == want, "slot %d: %r" % (k, got[:16])
PY
echo "# total $(($(date +%s) - t0)) s"
kill -INT "$pmd" 2>/dev/null
[ "$FAILURES" -eq 0 ] || { tail -n 30 "$WORK/a.log"; tail -n 40 "$WORK/b.log"; tail -n 20 "$WORK/testpmd.log"; }
finish
