# Helpers for the control-socket, snapshot and migration tests (sourced after lib.sh):
# VMs running the test firmware in the background, each with a control socket.
# The firmware's test=dirty stamps every page of guest RAM, pass after pass, and checks
# each page still holds the previous pass's stamp; it logs "pass N" every 16 passes
# (passes=0) and reports FAIL naming the first page that lost its stamp.

: "${MINIVMM_CTL:=$(dirname "$MINIVMM")/../tools/minivmm-ctl}"
FW=$("$MINIVMM" --print-firmware-path) || { echo "FAIL: no test firmware" >&2; exit 1; }
[ -x "$MINIVMM_CTL" ] || { echo "FAIL: minivmm-ctl not built ($MINIVMM_CTL)" >&2; exit 1; }

# start_vm NAME [minivmm args...]: runs minivmm in the background (stdin closed) with a
# control socket $WORK/NAME.sock and output in $WORK/NAME.log; its exit status lands in
# $WORK/NAME.status (MINIVMM_CHECK_FDS=1: a leaked fd at exit turns status 0 into 1).
# Prefix with NETNS=ns to run it inside a network namespace.
start_vm() {
    local name=$1
    shift
    rm -f "$WORK/$name.status" "$WORK/$name.sock"
    (
        # Only minivmm's own fds may be open at its exit: drop what this shell inherited.
        for fd in $(ls /proc/$BASHPID/fd); do
            [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
        done
        MINIVMM_CHECK_FDS=1 ${NETNS:+ip netns exec "$NETNS"} timeout --signal=TERM \
            --kill-after=5 "$(tmo 300)" "$MINIVMM" --api-socket "$WORK/$name.sock" "$@" >"$WORK/$name.log" 2>&1 0<&-
        echo $? >"$WORK/$name.status"
    ) &
    eval "${name}_job=$!"
    on_exit "kill \$${name}_job; pkill -P \$${name}_job"
}

# The firmware dirty-page guest: start_dirty_vm NAME [more args...]
start_dirty_vm() {
    local name=$1
    shift
    start_vm "$name" --kernel "$FW" --memory "${DIRTY_MEM:-64M}" --cmdline "test=dirty passes=0" "$@"
}

# wait_for FILE PATTERN SECONDS: true once FILE has a line matching PATTERN.
wait_for() {
    local i
    for i in $(seq 1 $(($(tmo "$3") * 10))); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_exit NAME SECONDS: waits for the VM to end; sets EXIT_STATUS (124 if it did not).
wait_exit() {
    local i
    EXIT_STATUS=124
    for i in $(seq 1 $(($(tmo "$2") * 10))); do
        if [ -s "$WORK/$1.status" ]; then
            EXIT_STATUS=$(cat "$WORK/$1.status")
            return 0
        fi
        sleep 0.1
    done
    return 1
}

ctl() { # ctl NAME COMMAND [ARG] [ctl options...]
    local name=$1
    shift
    "$MINIVMM_CTL" --api-socket "$WORK/$name.sock" "$@"
}

wait_socket() { wait_for_path "$WORK/$1.sock" "$2"; }
wait_for_path() {
    local i
    for i in $(seq 1 $(($(tmo "$2") * 10))); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# The dirty guest's progress: the highest "pass N" it logged (0 before the first).
dirty_pass() {
    grep -o 'dirty LOG pass [0-9]*' "$WORK/$1.log" 2>/dev/null | awk '{print $4}' | sort -n |
        tail -n 1 | grep . || echo 0
}

# wait_pass NAME N SECONDS: until the guest logged a pass >= N.
wait_pass() {
    local i
    for i in $(seq 1 $(($(tmo "$3") * 10))); do
        [ "$(dirty_pass "$1")" -ge "$2" ] && return 0
        grep -q 'dirty FAIL' "$WORK/$1.log" && return 1
        sleep 0.1
    done
    return 1
}

no_page_lost() { ! grep -q 'dirty FAIL' "$WORK/$1.log"; }

# A JSON field of a one-line reply: json_field KEY <<<"$reply"
json_field() { python3 -c 'import json,sys; v=json.loads(sys.stdin.readline()).get(sys.argv[1]); print("" if v is None else v)' "$1"; }
