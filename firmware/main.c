/*
 * Ring-3 entry: finds the machine (device tree or command line), picks the
 * test program named by test=NAME and runs it.
 */
#include "console.h"
#include "pvh.h"
#include "report.h"
#include "trap.h"

void umain(uint64_t start_info)
{
    const struct pvh_start_info *si = (const struct pvh_start_info *)start_info;
    const char *cmdline = "";

    if (si->magic == PVH_START_MAGIC && si->cmdline_paddr)
        cmdline = (const char *)si->cmdline_paddr;
    console_printf("fw: ring 3, cmdline '%s'\n", cmdline);
    report_init(0);
    report_begin("boot");
    report_pass("reached ring 3");
    report_finish();
}
