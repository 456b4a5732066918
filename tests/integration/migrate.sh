#!/usr/bin/env bash
# Live migration of the firmware's dirty-page guest over UNIX sockets and an inherited fd:
# every page's stamp is checked on the destination for at least 16 whole passes after the
# move; A -> B -> A -> B; and the source keeps the VM whenever the migration fails:
# destination refuses, destination killed mid-copy, destination gone at the handover,
# a peer that stops reading (a cut link), migrate-cancel. Last, an offline migration.
. "$(dirname "$0")/lib.sh"
need_kvm
. "$(dirname "$0")/migrate_lib.sh"

# verified NAME: the guest on NAME completes 32 more passes without losing a page.
verified() {
    local p
    wait_pass "$1" 1 60 || return 1
    p=$(dirty_pass "$1")
    wait_pass "$1" $((p + 32)) 120 && no_page_lost "$1"
}

# migrate_to SRC DST_SOCKET_URI [ctl options]: waits for the job; prints the final status.
migrate_to() {
    local src=$1 uri=$2
    shift 2
    ctl "$src" migrate "$uri" "$@" | tail -n 1
}

# --- A -> B -> A -> B over UNIX sockets ----------------------------------------------------
start_dirty_vm a
check "A runs" wait_pass a 16 60
hops=(a b a2 b2)
for i in 1 2 3; do
    src=${hops[$((i - 1))]}
    dst=${hops[$i]}
    start_vm "$dst" --kernel "$FW" --memory 64M --incoming "unix:$WORK/m$i.mig"
    wait_for "$WORK/$dst.log" "waiting for the migration" 30
    st=$(migrate_to "$src" "unix:$WORK/m$i.mig")
    echo "# $src -> $dst: $st"
    check "$src -> $dst completes" [ "$(json_field status <<<"$st")" = completed ]
    check "$src -> $dst reports rounds, pages, rate and downtime" \
        python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["rounds"]>=1 and s["pages_sent"]>1000 and s["downtime_ms"]>=0 and s["total_ms"]>0' "$st"
    wait_exit "$src" 20
    check "the source $src exits 0 once migrated" [ "$EXIT_STATUS" = 0 ]
    check "the source says where the VM went" log_has "$WORK/$src.log" "migrated to unix:$WORK/m$i.mig"
    check "$dst checks every page for 32 passes, none lost" verified "$dst"
done
check "the last copy says it resumed" log_has "$WORK/b2.log" "incoming migration"
check "quit b2" ctl b2 quit
wait_exit b2 20
check "b2 exits 0" [ "$EXIT_STATUS" = 0 ]

# --- fd:N: a socketpair, one end inherited by each minivmm -----------------------------------
python3 - "$MINIVMM" "$FW" "$WORK" <<'PY' &
import socket, subprocess, sys
vmm, fw, work = sys.argv[1:4]
s1, s2 = socket.socketpair()
src = subprocess.Popen([vmm, "--kernel", fw, "--memory", "64M", "--cmdline", "test=dirty passes=0",
                        "--api-socket", work + "/fa.sock"], pass_fds=[s1.fileno()],
                       stdout=open(work + "/fa.log", "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
dst = subprocess.Popen([vmm, "--kernel", fw, "--memory", "64M", "--incoming", "fd:%d" % s2.fileno(),
                        "--api-socket", work + "/fb.sock"], pass_fds=[s2.fileno()],
                       stdout=open(work + "/fb.log", "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
open(work + "/fd.num", "w").write("%d\n" % s1.fileno())
s1.close(); s2.close()
for p, n in ((src, "fa"), (dst, "fb")):
    try: rc = p.wait(timeout=180)
    except subprocess.TimeoutExpired: p.kill(); rc = 124
    open("%s/%s.status" % (work, n), "w").write("%d\n" % rc)
PY
fd_job=$!
on_exit "kill $fd_job"
wait_for_path "$WORK/fa.sock" 30
check "fa runs" wait_pass fa 16 60
st=$(migrate_to fa "fd:$(cat "$WORK/fd.num")")
check "migration over an inherited fd completes ($st)" [ "$(json_field status <<<"$st")" = completed ]
check "fb checks every page, none lost" verified fb
ctl fb quit >/dev/null
wait_exit fb 20
check "fb exits 0" [ "$EXIT_STATUS" = 0 ]
wait_exit fa 20
check "fa exits 0" [ "$EXIT_STATUS" = 0 ]

# --- failures: the source keeps the VM ------------------------------------------------------
start_dirty_vm s
check "s runs" wait_pass s 16 60
still_runs() { # the VM on s goes on, every page intact, and says why the migration failed
    local p
    p=$(dirty_pass s)
    wait_pass s $((p + 32)) 120 && no_page_lost s &&
        [ "$(ctl s status | json_field state)" = running ]
}

# 1. The destination is another machine (more RAM): it refuses, and says why.
start_vm r --kernel "$FW" --memory 128M --incoming "unix:$WORK/r.mig"
wait_for "$WORK/r.log" "waiting for the migration" 30
st=$(migrate_to s "unix:$WORK/r.mig")
echo "# refused: $st"
check "a refusing destination fails the migration" [ "$(json_field status <<<"$st")" = failed ]
check "... with the destination's reason" grep -q "destination refused: the VM has 64 MiB" <<<"$st"
check "... and the source runs on" still_runs
wait_exit r 20
check "the refusing destination exits non-zero ($EXIT_STATUS)" [ "$EXIT_STATUS" -ne 0 -a "$EXIT_STATUS" -ne 124 ]

# 2. The destination is killed in the middle of pre-copy (a target no round can meet).
start_vm k --kernel "$FW" --memory 64M --incoming "unix:$WORK/k.mig"
wait_for "$WORK/k.log" "waiting for the migration" 30
ctl s migrate "unix:$WORK/k.mig" --detach --downtime-ms 0 --max-rounds 1000 >/dev/null
for _ in $(seq 1 100); do
    [ "$(ctl s migrate-status | json_field rounds)" -ge 2 ] 2>/dev/null && break
    sleep 0.1
done
check "pre-copy is in its second round" [ "$(ctl s migrate-status | json_field rounds)" -ge 2 ]
pkill -9 -f -- "--incoming unix:$WORK/k.mig"
for _ in $(seq 1 200); do
    case $(ctl s migrate-status | json_field status) in failed | cancelled) break ;; esac
    sleep 0.1
done
st=$(ctl s migrate-status)
echo "# destination killed: $st"
check "a killed destination fails the migration" [ "$(json_field status <<<"$st")" = failed ]
check "... and the source runs on" still_runs

# 3. The destination takes the whole stream, then vanishes without READY.
python3 - "$WORK/h.sock" <<'PY' &
import socket, sys, os
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(1)
c, _ = l.accept(); c.settimeout(2)
try:
    while c.recv(1 << 20): pass
except socket.timeout: pass
c.close()
PY
fake=$!
wait_for_path "$WORK/h.sock" 30
st=$(migrate_to s "unix:$WORK/h.sock")
echo "# no READY: $st"
wait "$fake"
check "a destination gone at the handover fails the migration" [ "$(json_field status <<<"$st")" = failed ]
check "... saying the destination did not answer" grep -q "no answer from the destination" <<<"$st"
check "... and the source runs on" still_runs

# 4. A peer that stops reading (a cut link): the send times out.
python3 - "$WORK/z.sock" <<'PY' &
import socket, sys, time
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(1)
c, _ = l.accept(); time.sleep(40)
PY
fake=$!
on_exit "kill $fake"
wait_for_path "$WORK/z.sock" 30
st=$(migrate_to s "unix:$WORK/z.sock")
echo "# silent peer: $st"
check "a peer that stops reading fails the migration" [ "$(json_field status <<<"$st")" = failed ]
check "... as a timeout" grep -q "timed out" <<<"$st"
check "... and the source runs on" still_runs

# 5. migrate-cancel during pre-copy.
start_vm c --kernel "$FW" --memory 64M --incoming "unix:$WORK/c.mig"
wait_for "$WORK/c.log" "waiting for the migration" 30
ctl s migrate "unix:$WORK/c.mig" --detach --downtime-ms 0 --max-rounds 1000 >/dev/null
sleep 1
check "migrate-cancel is accepted" ctl s migrate-cancel
for _ in $(seq 1 100); do
    [ "$(ctl s migrate-status | json_field status)" = cancelled ] && break
    sleep 0.1
done
check "the migration is cancelled" [ "$(ctl s migrate-status | json_field status)" = cancelled ]
check "... and the source runs on" still_runs
wait_exit c 30
check "the abandoned destination exits non-zero" [ "$EXIT_STATUS" -ne 0 -a "$EXIT_STATUS" -ne 124 ]

check "a migration after all that still works" true
start_vm d --kernel "$FW" --memory 64M --incoming "unix:$WORK/d.mig"
wait_for "$WORK/d.log" "waiting for the migration" 30
st=$(migrate_to s "unix:$WORK/d.mig")
check "s -> d completes after five failed attempts" [ "$(json_field status <<<"$st")" = completed ]
check "d checks every page, none lost" verified d

# --- offline: paused for the whole copy, no dirty logging ------------------------------------
start_vm o --kernel "$FW" --memory 64M --incoming "unix:$WORK/o.mig"
wait_for "$WORK/o.log" "waiting for the migration" 30
st=$(migrate_to d "unix:$WORK/o.mig" --offline)
echo "# offline: $st"
check "an offline migration completes" [ "$(json_field status <<<"$st")" = completed ]
check "... in zero pre-copy rounds" [ "$(json_field rounds <<<"$st")" = 0 ]
wait_exit d 20
check "d exits 0 once migrated" [ "$EXIT_STATUS" = 0 ]
check "o checks every page, none lost" verified o
ctl o quit >/dev/null
wait_exit o 20
check "o exits 0" [ "$EXIT_STATUS" = 0 ]
finish
