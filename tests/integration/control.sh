#!/usr/bin/env bash
# The control socket (--api-socket) and minivmm-ctl: status, pause (the guest really stops
# making progress), resume, stats, errors that keep the connection, a client that never
# reads, and quit. Guest: the test firmware's dirty-page loop. Then a destination
# (--incoming) answers while the VM arrives: status "incoming", migrate-status counting what
# arrived, pause refused, and quit aborts it (non-zero exit, its back-end's rings never
# started) while the source keeps the VM.
. "$(dirname "$0")/lib.sh"
need_kvm
. "$(dirname "$0")/migrate_lib.sh"

start_dirty_vm a
check "the control socket appears" wait_socket a 20
check "the guest runs" wait_pass a 16 30

st=$(ctl a status)
check "status says running ($st)" [ "$(json_field state <<<"$st")" = running ]
check "status reports the memory" [ "$(json_field memory <<<"$st")" = 67108864 ]

check "pause succeeds" ctl a pause
st=$(ctl a status)
check "status says paused" [ "$(json_field state <<<"$st")" = paused ]
p1=$(dirty_pass a)
sleep 1.5
p2=$(dirty_pass a)
check "no progress while paused ($p1 -> $p2)" [ "$p1" = "$p2" ]
check "pause twice is fine" ctl a pause
check "resume succeeds" ctl a resume
check "the guest makes progress again" wait_pass a $((p2 + 32)) 30
st=$(ctl a stats)
check "stats count exits ($st)" [ "$(json_field exits <<<"$st")" -gt 0 ]

# Raw lines on one connection: garbage, a non-object, an unknown command, then a good one.
replies=$(python3 - "$WORK/a.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'nonsense\n[1,2]\n{"command":"fly"}\n{"command":"migrate","arguments":{}}\n{"command":"status","id":7}\n')
f = s.makefile()
for _ in range(5): print(f.readline().strip())
PY
)
echo "$replies" | sed 's/^/# /'
check "bad JSON gets an error object" grep -q '"ok":false,"error":"not JSON' <<<"$replies"
check "a non-object gets an error object" grep -q 'a request is a JSON object' <<<"$replies"
check "an unknown command gets an error object" grep -q "unknown command 'fly'" <<<"$replies"
check "missing arguments are named" grep -q 'missing \\"uri\\"' <<<"$replies"
check "the connection survives and echoes the id" grep -q '"state":"running".*"id":7' <<<"$replies"
check "minivmm-ctl exits non-zero on an error reply" bash -c "! '$MINIVMM_CTL' --api-socket '$WORK/a.sock' fly"

# A client that sends requests and never reads: dropped, the VM unaffected.
python3 - "$WORK/a.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.setblocking(False)
try:
    for _ in range(200000): s.send(b'{"command":"stats"}\n')
except BlockingIOError: pass
time.sleep(3)
PY
hog=$!
sleep 1
check "a client that never reads does not stall the VM" ctl a status
wait $hog

check "quit succeeds" ctl a quit
wait_exit a 20
check "minivmm exits 0 after quit (status $EXIT_STATUS)" [ "$EXIT_STATUS" = 0 ]
check "the guest never lost a page" no_page_lost a
check "the socket file is removed" [ ! -e "$WORK/a.sock" ]

# --- a destination's control socket while the VM arrives -----------------------------------
start_vm w --kernel "$FW" --memory 64M --incoming "unix:$WORK/w.mig"
check "a waiting destination has its control socket" wait_socket w 20
st=$(ctl w status)
check "a waiting destination's status says incoming ($st)" [ "$(json_field state <<<"$st")" = incoming ]
st=$(ctl w migrate-status)
check "its migrate-status says incoming, nothing received ($st)" \
    python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["status"]=="incoming" and s["kind"]=="incoming" and s["bytes_received"]==0' "$st"
check "pause is refused while the VM arrives" bash -c "! '$MINIVMM_CTL' --api-socket '$WORK/w.sock' pause"
check "quit a waiting destination" ctl w quit
wait_exit w 20
check "a destination quit while waiting exits non-zero (status $EXIT_STATUS)" [ "$EXIT_STATUS" != 0 -a "$EXIT_STATUS" != 124 ]
check "... and says why" log_has "$WORK/w.log" "quit (control socket)"
start_vm w2 --kernel "$FW" --memory 64M --incoming "unix:$WORK/w2.mig"
wait_for "$WORK/w2.log" "waiting for the migration" 20
pkill -TERM -P "$w2_job" # timeout(1) passes SIGTERM on to minivmm
wait_exit w2 20
check "SIGTERM ends a waiting destination (status $EXIT_STATUS)" [ "$EXIT_STATUS" = 1 ]
check "... and says why" log_has "$WORK/w2.log" "aborted: stopped by signal"

# Mid-stream: the source pre-copies without end (downtime 0), the destination counts bytes;
# quit then leaves the destination's back-end alone (no ring started) and the source keeps
# its VM. The guest runs round trips through the in-tree echo back-end (one per side).
backend=$(dirname "$MINIVMM")/../tools/backend/minivmm-backend
for side in ex ey; do
    "$backend" --socket "$WORK/$side.vu" --quiet >"$WORK/echo-$side.log" 2>&1 &
    on_exit "kill $!"
    wait_for_path "$WORK/$side.vu" 30
done
echo_dev="vhost-user,virtio-id=63,config-size=8"
start_vm s --kernel "$FW" --memory 128M --device "$echo_dev,socket=$WORK/ex.vu" \
    --cmdline "test=pingpong iters=1000000"
check "the source's round trips run" wait_for "$WORK/s.log" "fw: test pingpong" 60
start_vm r --kernel "$FW" --memory 128M --device "$echo_dev,socket=$WORK/ey.vu" \
    --trace "vhost-user,file=$WORK/r-trace.log" --incoming "unix:$WORK/r.mig"
wait_for "$WORK/r.log" "waiting for the migration" 30
ctl s migrate "unix:$WORK/r.mig" --detach --downtime-ms 0 --max-rounds 100000 >/dev/null
got=0
for _ in $(seq 1 $(($(tmo 60) * 10))); do
    got=$(ctl r migrate-status | json_field bytes_received)
    [ "${got:-0}" -gt 1048576 ] 2>/dev/null && break
    sleep 0.1
done
check "the receiving destination counts what arrived ($got bytes)" [ "${got:-0}" -gt 1048576 ]
st=$(ctl r status)
check "the receiving destination's status says incoming ($st)" [ "$(json_field state <<<"$st")" = incoming ]
check "quit the receiving destination" ctl r quit
wait_exit r 30
check "it exits non-zero (status $EXIT_STATUS)" [ "$EXIT_STATUS" != 0 -a "$EXIT_STATUS" != 124 ]
check "... without starting a ring of its back-end" \
    bash -c "! grep -qE 'fe>be (SET_VRING_BASE|SET_VRING_KICK|SET_VRING_ENABLE)' '$WORK/r-trace.log'"
check "... but it had a session with it" grep -q "fe>be SET_OWNER" "$WORK/r-trace.log"
for _ in $(seq 1 200); do
    [ "$(ctl s migrate-status | json_field status)" = failed ] && break
    sleep 0.1
done
st=$(ctl s migrate-status)
check "the source's migration failed ($(json_field error <<<"$st"))" [ "$(json_field status <<<"$st")" = failed ]
check "the source runs its guest on" [ "$(ctl s status | json_field state)" = running ]
x1=$(ctl s stats | json_field mmio_exits)
sleep 1
check "... which keeps using its device ($x1 -> more MMIO exits)" [ "$(ctl s stats | json_field mmio_exits)" -gt "$x1" ]
check "quit the source" ctl s quit
wait_exit s 20
check "the source exits 0" [ "$EXIT_STATUS" = 0 ]
check "the source's round trips never failed" bash -c "! grep -q 'pingpong FAIL' '$WORK/s.log'"
finish
