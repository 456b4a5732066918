/*
 * test=dirty: keeps every page of guest RAM after the firmware changing, for
 * migration tests. Pass g stamps each page with (its address, g) in its
 * first cache line, after checking the page still holds (address, g - 1) —
 * so a page the migration lost or sent stale is caught on the destination,
 * where this loop simply continues. Parameters: passes= (4; 0 runs until
 * the VM is stopped), full=1 stamps whole pages instead of one cache line,
 * idle=1 then sleeps instead of finishing (an idle guest whose RAM is all
 * written, for migration benchmarks; it logs "idle" first).
 * Figures: pages covered, passes done, pages stamped per second.
 */
#include "args.h"
#include "clock.h"
#include "heap.h"
#include "report.h"
#include "tests.h"
#include "trap.h"

#define PAGE        4096
#define STAMP_MAGIC 0x4d56444952545900ULL /* "MVDIRTY\0" */

/* Kept in RAM like everything else: after migration the loop resumes where it was. */
static volatile uint64_t generation;

static int check_and_stamp(uint64_t *page, uint64_t gpa, uint64_t gen, unsigned int words)
{
    uint64_t want_tag = gen == 1 ? 0 : STAMP_MAGIC ^ gpa, want_gen = gen - 1;

    if (page[0] != want_tag || page[1] != want_gen)
        return -1;
    for (unsigned int i = 2; i < words; i++) {
        if (page[i] != (gen == 1 ? 0 : want_gen ^ i))
            return -1;
        page[i] = gen ^ i;
    }
    page[1] = gen;
    page[0] = STAMP_MAGIC ^ gpa;
    return 0;
}

void prog_dirty(const struct machine *m)
{
    uint64_t passes = args_get_u64(m->cmdline, "passes", 4);
    unsigned int words = args_get_u64(m->cmdline, "full", 0) ? PAGE / 8 : 8;
    /* Everything the heap could hand out: from its first page to the end of its RAM. */
    uint64_t start = (heap_next() + PAGE - 1) & ~(uint64_t)(PAGE - 1), end = heap_end();
    uint64_t pages = (end - start) / PAGE, t0 = clock_ns();

    report_figure("first_page", "0x%lx", start);
    report_figure("pages", "%lu", pages);
    while (passes == 0 || generation < passes) {
        uint64_t gen = generation + 1;
        for (uint64_t gpa = start; gpa < end; gpa += PAGE) {
            if (check_and_stamp((uint64_t *)gpa, gpa, gen, words) != 0) {
                report_fail("page 0x%lx lost its stamp in pass %lu (holds 0x%lx, %lu)", gpa, gen,
                            ((uint64_t *)gpa)[0], ((uint64_t *)gpa)[1]);
                return;
            }
        }
        generation = gen;
        if (passes == 0 ? gen % 16 == 0 : args_get_u64(m->cmdline, "verbose", 0))
            report_log("pass %lu at %lu ms", gen, (clock_ns() - t0) / 1000000);
    }
    if (clock_available() && clock_ns() > t0)
        report_figure("pages_per_sec", "%lu", pages * generation * 1000000000 / (clock_ns() - t0));
    report_figure("passes", "%lu", (uint64_t)generation);
    if (args_get_u64(m->cmdline, "idle", 0)) {
        report_log("idle after %lu passes", (uint64_t)generation);
        for (;;)
            sys_wait_irq(0, irq_counts[0]);
    }
    report_pass("%lu passes over %lu pages, every stamp intact", (uint64_t)generation, pages);
}
