/*
 * Ring-3 entry: finds the machine (device tree or command line), picks the
 * test program named by test=NAME and runs it.
 */
#include "args.h"
#include "console.h"
#include "heap.h"
#include "lib.h"
#include "machine.h"
#include "report.h"
#include "tests.h"
#include "trap.h"
#include "x86.h"

/* One per line (clang-format off keeps it so). */
// clang-format off
static const struct fw_test fw_tests[] = {
    {"boot", test_boot},
    {"blk", prog_blk},
    {"blk-bench", prog_blk_bench},
    {"net", prog_net},
    {"pingpong", prog_pingpong},
    {"dirty", prog_dirty},
    {"mmio-fuzz", prog_mmio_fuzz},
    {"fault", prog_fault},   /* must fail: exception report */
    {"assert", prog_assert}, /* must fail: assertion report */
};
// clang-format on

static struct machine machine;

/* test=boot: the machine as the firmware sees it. */
void test_boot(const struct machine *m)
{
    report_figure("entry", "pvh%u", fw_entry_bits);
    report_figure("cpus", "%u", m->ncpus);
    for (unsigned int i = 0; i < m->nmem; i++)
        report_log("memory 0x%lx+0x%lx", m->mem[i].base, m->mem[i].size);
    for (unsigned int i = 0; i < m->nvirtio; i++)
        report_log("virtio-mmio 0x%lx+0x%lx gsi %u", m->virtio[i].base, m->virtio[i].size,
                   m->virtio[i].gsi);
    report_figure("virtio_devices", "%u", m->nvirtio);
    if (m->nmem == 0)
        report_fail("no memory ranges");
    else
        report_pass("ring 3 reached, machine from %s", m->from_dtb ? "device tree" : "cmdline");
}

void umain(uint64_t start_info)
{
    char name[32];
    int err = machine_discover(&machine, start_info);

    report_init(machine.testdev.size ? machine.testdev.base : 0);
    if (err) {
        report_fail("no usable boot information (PVH start info / device tree): %d", err);
        report_finish();
    }
    heap_init(&machine);
    console_printf("fw: cmdline '%s'\n", machine.cmdline);
    if (!args_get(machine.cmdline, "test", name, sizeof(name)))
        memcpy(name, "boot", sizeof("boot"));
    for (unsigned int i = 0; i < ARRAY_SIZE(fw_tests); i++) {
        if (strcmp(fw_tests[i].name, name) == 0) {
            report_begin(fw_tests[i].name);
            fw_tests[i].run(&machine);
            report_finish();
        }
    }
    report_fail("unknown test '%s'", name);
    report_finish();
}
