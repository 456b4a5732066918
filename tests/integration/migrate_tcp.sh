#!/usr/bin/env bash
# Live migration over TCP between two "hosts": network namespaces joined by a veth pair
# (link-local addresses that exist only inside them). The firmware's dirty-page guest
# moves src -> dst and keeps every page's stamp; then a second migration has its link cut
# (the veth taken down) in the middle of pre-copy: the source notices within its I/O
# timeout and runs on with nothing lost.
. "$(dirname "$0")/lib.sh"
need_kvm
. "$(dirname "$0")/migrate_lib.sh"

command -v ip >/dev/null || { echo "FAIL: iproute2 is not installed (tools/install-deps)" >&2; exit 1; }
ns1=mvm-src-$$
ns2=mvm-dst-$$
ip netns add "$ns1" && ip netns add "$ns2" || { echo "FAIL: cannot create network namespaces" >&2; exit 1; }
on_exit "ip netns del $ns1"
on_exit "ip netns del $ns2"
ip link add "mva$$" netns "$ns1" type veth peer name "mvb$$" netns "$ns2"
ip -n "$ns1" addr add 169.254.77.1/30 dev "mva$$"
ip -n "$ns2" addr add 169.254.77.2/30 dev "mvb$$"
for n in "$ns1" "$ns2"; do ip -n "$n" link set lo up; done
ip -n "$ns1" link set "mva$$" up
ip -n "$ns2" link set "mvb$$" up
check "the two hosts have their addresses" ip -n "$ns2" addr show dev "mvb$$"

verified() {
    local p
    wait_pass "$1" 1 60 || return 1
    p=$(dirty_pass "$1")
    wait_pass "$1" $((p + 32)) 120 && no_page_lost "$1"
}

NETNS=$ns1 start_dirty_vm src
NETNS=$ns2 start_vm dst --kernel "$FW" --memory 64M --incoming tcp:169.254.77.2:4444
check "src runs in the first namespace" wait_pass src 16 60
check "dst listens in the second" wait_for "$WORK/dst.log" "waiting for the migration" 30
st=$(ctl src migrate tcp:169.254.77.2:4444 | tail -n 1)
echo "# src -> dst over TCP: $st"
check "the migration over TCP completes" [ "$(json_field status <<<"$st")" = completed ]
wait_exit src 20
check "the source exits 0" [ "$EXIT_STATUS" = 0 ]
check "dst checks every page for 32 passes, none lost" verified dst

# Back the other way, with the link cut mid-way.
NETNS=$ns1 start_vm back --kernel "$FW" --memory 64M --incoming tcp:169.254.77.1:4445
check "the way back listens" wait_for "$WORK/back.log" "waiting for the migration" 30
ctl dst migrate tcp:169.254.77.1:4445 --detach --downtime-ms 0 --max-rounds 100000 >/dev/null
for _ in $(seq 1 100); do
    [ "$(ctl dst migrate-status | json_field rounds)" -ge 2 ] 2>/dev/null && break
    sleep 0.1
done
check "pre-copy is running" [ "$(ctl dst migrate-status | json_field status)" = active ]
ip -n "$ns2" link set "mvb$$" down
t0=$(date +%s)
for _ in $(seq 1 $(($(tmo 60) * 10))); do
    [ "$(ctl dst migrate-status | json_field status)" = failed ] && break
    sleep 0.1
done
st=$(ctl dst migrate-status)
echo "# link cut after $(( $(date +%s) - t0 )) s: $st"
check "the cut link fails the migration" [ "$(json_field status <<<"$st")" = failed ]
check "... as a timeout" grep -q "timed out" <<<"$st"
check "the source (dst) runs on, every page intact" verified dst
check "status says running" [ "$(ctl dst status | json_field state)" = running ]
ctl back quit >/dev/null 2>&1
pkill -f -- "--incoming tcp:169.254.77.1:4445" 2>/dev/null
check "quit dst" ctl dst quit
wait_exit dst 20
check "dst exits 0" [ "$EXIT_STATUS" = 0 ]
finish
