/*
 * Ring 0: the minimum before dropping to ring 3 (TSS, IDT, supervisor-only
 * ring-0 pages, interrupt controllers), the exception handler and the system
 * calls. On PVM hosts every instruction here is emulated, so nothing in this
 * file loops over more than a few dozen items.
 */
#include <stdbool.h>

#include "apic.h"
#include "clock.h"
#include "console.h"
#include "io.h"
#include "report.h"
#include "trap.h"
#include "x86.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_entry {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};

#define IDT_INTERRUPT_GATE 0x8E /* present, DPL 0: reachable from ring 3 only by exceptions */
#define TSS_AVAILABLE      0x89

extern uint64_t gdt[], pt0[];
extern char __kdata_start[], __kdata_end[], kstack_top[];
extern const uint64_t trap_vectors[VEC_IRQ_BASE + IOAPIC_PINS + 1];

static struct tss tss __attribute__((section(".kbss")));
static struct idt_entry idt[256] __attribute__((section(".kbss"), aligned(16)));

volatile uint32_t irq_counts[IOAPIC_PINS];

/* User stack: ring 3 runs the drivers and tests on it. */
static uint8_t user_stack[64 * 1024] __attribute__((aligned(16)));

static void tss_install(void)
{
    uint64_t base = (uint64_t)&tss;

    tss.rsp[0] = (uint64_t)kstack_top;
    tss.iomap_base = sizeof(tss); /* no I/O bitmap: IOPL 3 alone grants ring 3 port I/O */
    gdt[GDT_TSS / 8] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | (uint64_t)TSS_AVAILABLE << 40 |
                       (base >> 24 & 0xff) << 56;
    gdt[GDT_TSS / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)GDT_TSS));
}

static void idt_set(unsigned int vector, uint64_t handler)
{
    idt[vector] = (struct idt_entry){
        .offset_lo = handler & 0xffff,
        .selector = GDT_KCODE,
        .type = IDT_INTERRUPT_GATE,
        .offset_mid = handler >> 16 & 0xffff,
        .offset_hi = handler >> 32,
    };
}

static void idt_install(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof(idt) - 1, (uint64_t)idt};
    unsigned int v;

    for (v = 0; v < VEC_IRQ_BASE + IOAPIC_PINS; v++)
        idt_set(v, trap_vectors[v]);
    idt_set(VEC_SPURIOUS, trap_vectors[v]);
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Ring 3 may read and write everything in the image except the ring-0 tables and stack. */
static void paging_protect_kernel(void)
{
    uint64_t cr3;

    for (uint64_t a = (uint64_t)__kdata_start; a < (uint64_t)__kdata_end; a += 4096)
        pt0[a >> 12] &= ~(uint64_t)PTE_U;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

void kmain(uint32_t start_info)
{
    tss_install();
    idt_install();
    paging_protect_kernel();
    apic_init();
    clock_init();
    trap_enter_user(umain, (uint64_t)(user_stack + sizeof(user_stack) - 8), start_info);
}

static bool is_ud2(uint64_t rip)
{
    extern char __image_start[], __image_end[];

    return rip >= (uint64_t)__image_start && rip + 2 <= (uint64_t)__image_end &&
           ((const uint8_t *)rip)[0] == 0x0f && ((const uint8_t *)rip)[1] == 0x0b;
}

static void sys_dispatch(struct trap_frame *f)
{
    switch (f->rax) {
    case SYS_WAIT_IRQ:
        /* Interrupts are off here (interrupt gate): sti's shadow makes "sti; hlt" race-free. */
        if (f->rdi < IOAPIC_PINS && irq_counts[f->rdi] == (uint32_t)f->rsi)
            __asm__ volatile("sti; hlt; cli" : : : "memory");
        f->rax = 0;
        break;
    case SYS_CONSOLE_WRITE:
        if (f->rsi <= SYS_CONSOLE_MAX)
            console_out((const char *)f->rdi, f->rsi);
        f->rax = 0;
        break;
    case SYS_POWER_OFF:
        power_off((uint32_t)f->rdi);
    default:
        f->rax = (uint64_t)-1;
        break;
    }
}

void power_off(uint32_t status)
{
    if (io_cpl() != 0)
        sys_power_off(status);
    io_out32(FW_DEBUG_EXIT_PORT, status);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void trap_fatal(const struct trap_frame *f)
{
    static bool dying;
    uint64_t cr2;

    if (dying) { /* faulted while reporting: just stop */
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    dying = true;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    report_fail("exception %lu at rip=0x%lx err=0x%lx cr2=0x%lx cs=0x%lx rsp=0x%lx", f->vector,
                f->rip, f->error, cr2, f->cs, f->rsp);
    report_finish();
}

void trap_handle(struct trap_frame *f)
{
    if (f->vector == VEC_UD && (f->cs & 3) == RPL_USER && is_ud2(f->rip)) {
        sys_dispatch(f);
        f->rip += 2;
        return;
    }
    trap_fatal(f);
}
