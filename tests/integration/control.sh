#!/usr/bin/env bash
# The control socket (--api-socket) and minivmm-ctl: status, pause (the guest really stops
# making progress), resume, stats, errors that keep the connection, a client that never
# reads, and quit. Guest: the test firmware's dirty-page loop.
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
finish
