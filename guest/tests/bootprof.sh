#!/bin/sh
# Boot profile (a tool more than a test): lists the slowest initcalls and the
# boot milestones from the kernel log. Useful with the kernel arguments
# `initcall_debug printk.time=1` (initcall lines are KERN_DEBUG: keep `quiet`
# so they stay out of the slow serial console). Never fails.

top=${MINIVMM_BOOTPROF_TOP:-25}
dmesg >/tmp/bootprof.dmesg
echo "slowest initcalls (usecs):"
sed -n 's/.*initcall \([^ ]*\) returned .* after \([0-9]*\) usecs.*/\2 \1/p' /tmp/bootprof.dmesg |
    sort -rn | head -n "$top"
echo "milestones:"
grep -E 'Linux version|Memory:|NR_IRQS|console \[|Calibrating|smp: Bring|devtmpfs:|Unpacking|Freeing|Write protecting|protection disabled|Run /init|clocksource: Switched' /tmp/bootprof.dmesg |
    cut -c1-100
echo "uptime=$(cut -d' ' -f1 /proc/uptime)s initcalls=$(grep -c 'initcall .* returned' /tmp/bootprof.dmesg)"
