/*
 * Ring 0 / ring 3 boundary: the saved-register frame trap.S builds, the
 * interrupt counters device drivers wait on, and the "system calls" ring 3
 * makes. On PVM hosts ring 3 cannot enter ring 0 with int/syscall, only
 * through an exception, so a system call is a ud2 instruction with the call
 * number in RAX and arguments in RDI/RSI; the #UD handler recognises it.
 */
#ifndef FW_TRAP_H
#define FW_TRAP_H

#include <stdint.h>

#include "x86.h"

struct trap_frame {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

enum sys_call {
    SYS_WAIT_IRQ = 1,  /* (pin, seen): hlt until an interrupt if irq_counts[pin] == seen */
    SYS_CONSOLE_WRITE, /* (text, len): bytes to COM1 */
    SYS_POWER_OFF,     /* (status): isa-debug-exit port, then interrupts off and hlt forever */
};

/*
 * Port I/O needs ring 0: PVM runs guest ring 3 as host user mode and does not
 * honour the guest's IOPL, so an in/out from ring 3 raises #GP.
 */
#define SYS_CONSOLE_MAX 4096

/* irq_counts[pin] counts interrupts on IOAPIC pin `pin`; written by ring 0, read by ring 3. */
extern volatile uint32_t irq_counts[IOAPIC_PINS];

/* Ring 3: sleeps until irq_counts[pin] differs from `seen` (returns at once if it already does). */
void sys_wait_irq(unsigned int pin, uint32_t seen);
void sys_console_write(const char *text, uint64_t len);
__attribute__((noreturn)) void sys_power_off(uint32_t status);

/* Ring 0 halts directly; ring 3 asks ring 0 (report.c uses it from both). */
__attribute__((noreturn)) void power_off(uint32_t status);

/* Entry points: kmain (ring 0, from entry.S), umain (ring 3, main.c). */
void kmain(uint32_t start_info);
__attribute__((noreturn)) void umain(uint64_t start_info);

/* Ring 0 (kernel.c, trap.S). */
void trap_handle(struct trap_frame *f);
__attribute__((noreturn)) void trap_enter_user(void (*fn)(uint64_t), uint64_t stack_top,
                                               uint64_t arg);

#endif
