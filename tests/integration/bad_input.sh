#!/usr/bin/env bash
# Bad input gets a clear one-line error and a non-zero exit, never a crash:
# truncated kernel, a file that is not a kernel, bad memory sizes, missing
# initrd, unknown options. Needs no /dev/kvm (images are checked before the VM
# exists) except the last case, which also proves nothing leaks on that path.
. "$(dirname "$0")/lib.sh"

kernel=$(guest_bzimage)
initrd=$(guest_initrd)

# expect_error NAME PATTERN args... : non-zero exit (not a signal), message matches.
expect_error() {
    local name=$1 pattern=$2
    shift 2
    local log="$WORK/$name.log"
    run_vmm "$log" "$(tmo 60)" "$@"
    check "$name: exits non-zero" [ "$VMM_STATUS" -ne 0 ]
    check "$name: not killed by a signal (status $VMM_STATUS)" [ "$VMM_STATUS" -lt 124 ]
    check "$name: says '$pattern'" grep -qiE -- "$pattern" "$log"
    check "$name: no sanitizer report" no_sanitizer_report "$log"
    if [ "$FAILURES" -gt 0 ]; then sed 's/^/    | /' "$log"; fi
}

head -c 20000 "$kernel" >"$WORK/truncated-bzImage"
expect_error truncated-kernel 'truncated' --kernel "$WORK/truncated-bzImage" --serial none
head -c 600 "$kernel" >"$WORK/header-only"
expect_error header-only-kernel 'truncated|too small|not a kernel' --kernel "$WORK/header-only" --serial none
printf 'just some text, not a kernel\n' >"$WORK/not-a-kernel"
expect_error non-kernel 'not a kernel|neither' --kernel "$WORK/not-a-kernel" --serial none
: >"$WORK/empty"
expect_error empty-kernel 'empty|not a kernel|neither|too small' --kernel "$WORK/empty" --serial none
expect_error missing-kernel 'No such file|cannot open' --kernel "$WORK/does-not-exist" --serial none
expect_error memory-zero 'memory' --kernel "$kernel" --memory 0 --serial none
expect_error memory-bad-suffix 'memory.*1Z|1Z' --kernel "$kernel" --memory 1Z --serial none
expect_error memory-too-big 'memory' --kernel "$kernel" --memory 99999999G --serial none
expect_error missing-initrd 'initrd.*(No such file|cannot)|(No such file|cannot).*initrd' \
    --kernel "$kernel" --initrd "$WORK/no-initrd" --serial none
expect_error cpus-zero 'cpus' --kernel "$kernel" --cpus 0 --serial none
expect_error unknown-option 'unknown|unrecognized' --kernel "$kernel" --frobnicate
expect_error bad-serial 'serial' --kernel "$kernel" --serial bogus
expect_error bad-cpu-model 'cpu-model' --kernel "$kernel" --cpu-model pentium
expect_error no-kernel 'kernel'
finish
