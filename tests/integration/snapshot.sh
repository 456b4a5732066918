#!/usr/bin/env bash
# Snapshot and restore: the firmware's dirty-page guest is written to a file while it runs
# (it runs on afterwards), restored with --incoming file:PATH in a new minivmm, where it
# goes on checking every page's stamp for at least one full pass. Corrupted, truncated and
# mismatched snapshots are refused with a clear error.
. "$(dirname "$0")/lib.sh"
need_kvm
. "$(dirname "$0")/migrate_lib.sh"

snap="$WORK/vm.snap"
start_dirty_vm a
check "the guest runs" wait_pass a 16 60
before=$(dirty_pass a)
reply=$(ctl a snapshot "$snap")
check "snapshot completes ($reply)" [ "$(json_field status <<<"$reply")" = completed ]
check "the snapshot is sparse (zero pages skipped)" [ "$(json_field zero_pages <<<"$reply")" -gt 0 ]
at=$(dirty_pass a)
check "the VM runs on after the snapshot" wait_pass a $((at + 16)) 60
check "quit" ctl a quit
wait_exit a 20
check "the source exits 0" [ "$EXIT_STATUS" = 0 ]
check "the source never lost a page" no_page_lost a

# Broken snapshots: one flipped byte in RAM data, a cut file, another machine.
size=$(stat -c %s "$snap")
cp "$snap" "$WORK/corrupt.snap"
printf '\xff' | dd of="$WORK/corrupt.snap" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$snap" "$WORK/corrupt.snap" || true
run_vmm "$WORK/corrupt.log" 30 --kernel "$FW" --memory 64M --incoming "file:$WORK/corrupt.snap"
check "a corrupted snapshot is refused (status $VMM_STATUS)" [ "$VMM_STATUS" -ne 0 ]
check "... saying it is corrupted" log_has "$WORK/corrupt.log" "checksum mismatch"
head -c $((size - 1000)) "$snap" >"$WORK/cut.snap"
run_vmm "$WORK/cut.log" 30 --kernel "$FW" --memory 64M --incoming "file:$WORK/cut.snap"
check "a truncated snapshot is refused (status $VMM_STATUS)" [ "$VMM_STATUS" -ne 0 ]
check "... saying it is truncated" log_has "$WORK/cut.log" "truncated"
run_vmm "$WORK/other.log" 30 --kernel "$FW" --memory 128M --incoming "file:$snap"
check "a snapshot of another machine is refused" [ "$VMM_STATUS" -ne 0 ]
check "... naming the difference" log_has "$WORK/other.log" "64 MiB of RAM, this machine 128 MiB"
run_vmm "$WORK/none.log" 30 --kernel "$FW" --memory 64M --incoming "file:$WORK/missing.snap"
check "a missing snapshot file is refused" log_has "$WORK/none.log" "No such file"

# The good one, restored: the guest resumes its loop where it was.
start_vm b --kernel "$FW" --memory 64M --incoming "file:$snap"
check "the restored VM resumes" wait_for "$WORK/b.log" "incoming snapshot" 60
check "the restored guest reports" wait_pass b 1 60
first=$(grep -o 'dirty LOG pass [0-9]*' "$WORK/b.log" | head -n 1 | awk '{print $4}')
check "it resumed past the snapshot's pass $before, not from the start (first: $first)" \
    [ "$first" -gt "$before" ]
check "two more reports: at least 16 whole passes over every page" \
    wait_pass b $(( $(dirty_pass b) + 32 )) 120
check "the restored guest reports under its own test name" log_has "$WORK/b.log" "MINIVMM-TEST dirty LOG"
check "no page lost its stamp after the restore" no_page_lost b
check "quit the restored VM" ctl b quit
wait_exit b 20
check "the restored VM exits 0" [ "$EXIT_STATUS" = 0 ]
finish
