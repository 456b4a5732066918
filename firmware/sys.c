/*
 * Ring-3 side of the system calls (trap.h): a ud2 with the call number in RAX.
 * The #UD handler restores every register but RAX, which holds the result.
 */
#include "trap.h"

static uint64_t sys_call2(uint64_t nr, uint64_t a, uint64_t b)
{
    uint64_t ret = nr;

    __asm__ volatile("ud2" : "+a"(ret) : "D"(a), "S"(b) : "memory");
    return ret;
}

void sys_wait_irq(unsigned int pin, uint32_t seen)
{
    sys_call2(SYS_WAIT_IRQ, pin, seen);
}

void sys_console_write(const char *text, uint64_t len)
{
    sys_call2(SYS_CONSOLE_WRITE, (uint64_t)text, len);
}

void sys_power_off(uint32_t status)
{
    for (;;)
        sys_call2(SYS_POWER_OFF, status, 0);
}
