#!/usr/bin/env bash
# Guest RAM layouts, checked from inside a guest (the test firmware reads the
# machine's device tree): a 4 GiB guest is split around the MMIO hole into two
# memory slots; hugetlb-backed RAM (--memory SIZE,hugepages=on) boots; and
# --dump-dtb writes a device tree dtc can read.
. "$(dirname "$0")/lib.sh"
need_kvm

fw=$("$MINIVMM" --print-firmware-path)

log="$WORK/split.log"
run_vmm "$log" "$(tmo 120)" --kernel "$fw" --memory 4G --serial none --cmdline test=boot
check "4 GiB guest: firmware passes (status $VMM_STATUS)" [ "$VMM_STATUS" -eq 0 ]
check "low RAM ends at the MMIO hole" log_has "$log" "memory 0x0+0xc0000000"
check "the rest sits above 4 GiB" log_has "$log" "memory 0x100000000+0x40000000"

# 32 huge pages of 2 MiB for a 32 MiB guest (restored afterwards).
old=$(cat /proc/sys/vm/nr_hugepages)
on_exit "echo $old > /proc/sys/vm/nr_hugepages"
echo $((old + 32)) >/proc/sys/vm/nr_hugepages 2>/dev/null || true
log="$WORK/huge.log"
free_before=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
run_vmm "$log" "$(tmo 120)" --kernel "$fw" --memory 32M,hugepages=on --serial none --cmdline test=boot
check "hugetlb-backed guest passes (status $VMM_STATUS; $free_before huge pages were free)" \
    [ "$VMM_STATUS" -eq 0 ]
check "firmware reached ring 3" log_has "$log" "boot PASS"

run_vmm "$WORK/dtb.log" "$(tmo 120)" --kernel "$fw" --memory 64M --serial none \
    --cmdline 'test=boot' --dump-dtb "$WORK/machine.dtb"
check "--dump-dtb wrote a blob" [ -s "$WORK/machine.dtb" ]
check "dtc reads it" dtc -I dtb -O dts -o "$WORK/machine.dts" "$WORK/machine.dtb"
check "the tree names the test-result device" grep -q 'minivmm,testdev' "$WORK/machine.dts"
check "bootargs carry the command line" grep -q 'bootargs = .*test=boot' "$WORK/machine.dts"
check "no sanitizer report" no_sanitizer_report "$log"
finish
