#!/bin/sh
# Guest side of the Linux live-migration test (tests/integration/migrate_linux.sh): a counter
# and a disk writer that keep going while the host moves the VM to another minivmm process.
#   minivmm.mig_ip=10.203.0.2 minivmm.mig_host=10.203.0.1 minivmm.mig_port=PORT
#   [minivmm.mig_slots=64] [minivmm.mig_base=8192] [minivmm.mig_wait=1800]
# It configures its vhost-user-net interface, prints "MIGRATE-READY", then loops: writes
# block (base + i % slots) of /dev/vda (O_DIRECT) with the stamp of iteration i and prints
# "MIGRATE-COUNT i" on the console. Every few iterations it asks the host's HTTP server
# for /done, which the host creates once the VM runs on the destination. Then it reads the
# slots back (O_DIRECT) and checks each holds its last stamp, pings the host, prints
# "MIGRATE-DISK writes=W slots=N base=B" for the host's own check of the image, and checks
# that the local timer still ticks.

fail() {
    echo "FAIL: $*"
    exit 1
}

ip=$MINIVMM_MIG_IP
host=$MINIVMM_MIG_HOST
port=$MINIVMM_MIG_PORT
slots=${MINIVMM_MIG_SLOTS:-64}
base=${MINIVMM_MIG_BASE:-8192}
wait=${MINIVMM_MIG_WAIT:-1800}
dev=/dev/vda
[ -n "$ip" ] && [ -n "$host" ] && [ -n "$port" ] || fail "minivmm.mig_ip/mig_host/mig_port are required"
[ -b "$dev" ] || fail "no $dev: the vhost-user-blk device was not found"
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
[ -n "$nic" ] || fail "no network interface: the vhost-user-net device was not found"
ip addr add "$ip/24" dev "$nic" || fail "ip addr add $ip/24 dev $nic"
ip link set "$nic" up || fail "ip link set $nic up"
echo "MIGRATE-READY $nic $(cat /sys/class/net/$nic/address)" >/dev/console

# stamp S: the 4 KiB block of iteration S, 256 lines "mig NNNNNNNNNN \n" (16 bytes each).
stamp() {
    b="mig $(printf %010d "$1") "
    b="$b
"
    for _ in 1 2 3 4 5 6 7 8; do b="$b$b"; done
    printf '%s' "$b"
}

# done?: the host says the VM has moved (and stays where it is now).
moved() { timeout 10 wget -q -O /tmp/done "http://$host:$port/done" 2>/dev/null; }

i=0
start=$(awk '{ printf "%d", $1 }' /proc/uptime)
while :; do
    # Through a file: O_DIRECT needs whole blocks, and a pipe may hand dd less.
    stamp "$i" >/tmp/blk
    dd if=/tmp/blk of=$dev bs=4096 seek=$((base + i % slots)) oflag=direct conv=notrunc \
        2>/tmp/dd.err || fail "O_DIRECT write $i failed: $(cat /tmp/dd.err)"
    echo "MIGRATE-COUNT $i" >/dev/console
    i=$((i + 1))
    if [ $((i % 8)) = 0 ] && [ "$i" -ge "$slots" ] && moved; then
        break
    fi
    now=$(awk '{ printf "%d", $1 }' /proc/uptime)
    [ $((now - start)) -lt "$wait" ] || fail "the host did not say the VM moved within ${wait}s"
done
writes=$i

# Every slot holds the stamp of the last iteration that wrote it.
dd if=$dev of=/tmp/readback bs=4096 skip="$base" count="$slots" iflag=direct 2>/tmp/dd.err ||
    fail "O_DIRECT read back failed: $(cat /tmp/dd.err)"
bad=$(awk -v w="$writes" -v n="$slots" '{
        k = int((NR - 1) / 256)
        want = sprintf("mig %010d ", k + n * int((w - 1 - k) / n))
        if ($0 != want) { print "slot " k " line " NR ": \"" $0 "\", expected \"" want "\""; exit }
    }' /tmp/readback)
[ -z "$bad" ] || fail "disk pattern: $bad"
timeout 10 ping -c 1 "$host" >/tmp/ping.out 2>&1 ||
    fail "no answer from the host $host after the move: $(tail -n 1 /tmp/ping.out)"
echo "MIGRATE-DISK writes=$writes slots=$slots base=$base" >/dev/console
# The local timer ticks after the move (a TSC deadline lost in the move leaves the guest
# waiting forever in its first sleep: the host then sees no PASS and these counts).
echo "MIGRATE-IRQS $(grep -E 'LOC|virtio|ttyS' /proc/interrupts | tr -s ' ' | tr '\n' ';')" >/dev/console
loc() { awk '/LOC:/ { print $2 }' /proc/interrupts; }
l1=$(loc)
sleep 1
l2=$(loc)
[ "$l2" -gt "$l1" ] || fail "no local timer interrupt during a 1 s sleep ($l1 -> $l2)"
echo "counter and disk writer ran $writes iterations across the move; $slots slots verified; host answers ping; $((l2 - l1)) timer ticks in 1 s"
