/*
 * Programs that must fail, to test the failure paths themselves:
 * test=fault touches page 0 from ring 3 (the #PF must be reported with its
 * vector, RIP and error code) and test=assert fails an FW_ASSERT (reported
 * with file and line). Both end the run with status 1.
 */
#include "report.h"
#include "tests.h"

void prog_fault(const struct machine *m)
{
    uintptr_t zero = 0;

    __asm__("" : "+r"(zero)); /* hide the NULL from the compiler: it must emit a real load */
    volatile uint64_t *null_page = (volatile uint64_t *)zero;
    report_log("reading address 0 from ring 3");
    (void)*null_page;
    report_pass("survived a read of address 0: page 0 is mapped");
}

void prog_assert(const struct machine *m)
{
    FW_ASSERT(m->ncpus == 0);
    report_pass("FW_ASSERT(false) did not stop the test");
}
