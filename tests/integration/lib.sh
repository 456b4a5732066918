# Shared helpers for minivmm's end-to-end tests (sourced by each test script).
# Tests run real guests on /dev/kvm. Without /dev/kvm a test skips (exit 77)
# locally but FAILS in CI (CI=true): a skip is never a pass.
# Timeouts are generous and scale with MINIVMM_TIMEOUT_SCALE (default 1):
# a Linux boot takes minutes on PVM hosts and ~100 ms on hardware KVM.

set -u

: "${MINIVMM:?MINIVMM must name the minivmm binary}"
: "${MINIVMM_SRC:?MINIVMM_SRC must name the source tree}"
: "${MINIVMM_TIMEOUT_SCALE:=1}"

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-$TEST_NAME.XXXXXX")
FAILURES=0
CHECKS=0
trap 'cleanup_all' EXIT
CLEANUPS=()

cleanup_all() {
    local c
    for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
    if [ "$FAILURES" -eq 0 ] && [ -z "${MINIVMM_KEEP:-}" ]; then
        rm -rf "$WORK"
    else
        echo "logs kept in $WORK" >&2
    fi
}

on_exit() { CLEANUPS+=("$1"); }

# Scales a timeout in seconds.
tmo() { echo $(( $1 * MINIVMM_TIMEOUT_SCALE )); }

need_kvm() {
    if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        return 0
    fi
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: /dev/kvm is not usable and CI=true: KVM tests must run in CI" >&2
        exit 1
    fi
    echo "SKIP: /dev/kvm is not usable" >&2
    exit 77
}

check() {
    # check "description" command...
    local what=$1
    shift
    CHECKS=$((CHECKS + 1))
    if "$@"; then
        echo "ok $CHECKS - $what"
    else
        echo "not ok $CHECKS - $what"
        FAILURES=$((FAILURES + 1))
    fi
}

finish() {
    echo "# $TEST_NAME: $((CHECKS - FAILURES))/$CHECKS checks passed"
    [ "$FAILURES" -eq 0 ]
    exit $?
}

# The guest kernel and initramfs, built (or taken from the cache) on demand.
# guest_bzimage: the compressed bzImage (Linux 64-bit boot protocol).
# guest_kernel: the same kernel's vmlinux, entered through its PVH note: on PVM
# hosts it boots about twice as fast (no decompressor running under emulation),
# so every test uses it except the one that covers the bzImage path.
guest_bzimage() {
    if [ -n "${MINIVMM_KERNEL:-}" ]; then echo "$MINIVMM_KERNEL"; return; fi
    "$MINIVMM_SRC/guest/build-kernel" | tail -n 1
}
guest_kernel() {
    local bz
    bz=$(guest_bzimage)
    if [ -f "$(dirname "$bz")/vmlinux" ]; then
        echo "$(dirname "$bz")/vmlinux"
    else
        echo "$bz"
    fi
}
guest_initrd() {
    if [ -n "${MINIVMM_INITRD:-}" ]; then echo "$MINIVMM_INITRD"; return; fi
    "$MINIVMM_SRC/guest/build-initramfs" | tail -n 1
}
guest_cmdline() { cat "$MINIVMM_SRC/guest/cmdline"; }

# run_vmm LOG TIMEOUT args... : runs minivmm with stdin CLOSED (fd 0 must not be
# special anywhere), output in LOG; sets VMM_STATUS.
run_vmm() {
    local log=$1 t=$2
    shift 2
    VMM_STATUS=0
    timeout --signal=TERM --kill-after=10 "$t" "$MINIVMM" "$@" >"$log" 2>&1 0<&- || VMM_STATUS=$?
    return 0
}

# Result lines the guest init prints.
guest_passed() { grep -q "^MINIVMM-TEST $2 PASS" "$1"; }
log_has() { grep -q -- "$2" "$1"; }
no_sanitizer_report() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1"; }
