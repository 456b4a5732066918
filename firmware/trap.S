/*
 * Interrupt and exception entry. Exceptions save every register into a
 * struct trap_frame (trap.h) and call trap_handle(); device interrupts only
 * count themselves in irq_counts[] (ring-3 readable) and send the LAPIC EOI,
 * a handful of instructions because ring 0 is emulated on PVM hosts.
 * trap_vectors[] lists the stub for every vector kernel.c installs.
 */
#include "x86.h"

    .text
/* Exceptions: vectors that push no error code get a 0, so every frame looks alike. */
.macro EXC vec
    .balign 16
exc\vec:
    .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0
    .endif
    pushq $\vec
    jmp trap_common
.endm

.macro IRQ pin
    .balign 16
irq\pin:
    push %rax
    mov $\pin, %eax
    jmp irq_common
.endm

    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    EXC \v
    .endr
    .irp p, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23
    IRQ \p
    .endr

    .balign 16
spurious:
    iretq                       /* spurious LAPIC interrupts take no EOI */

irq_common:
    incl irq_counts(, %rax, 4)
    mov lapic_eoi_reg(%rip), %rax
    movl $0, (%rax)
    pop %rax
    iretq

trap_common:
    push %r15
    push %r14
    push %r13
    push %r12
    push %r11
    push %r10
    push %r9
    push %r8
    push %rbp
    push %rdi
    push %rsi
    push %rdx
    push %rcx
    push %rbx
    push %rax
    mov %rsp, %rdi
    call trap_handle
    pop %rax
    pop %rbx
    pop %rcx
    pop %rdx
    pop %rsi
    pop %rdi
    pop %rbp
    pop %r8
    pop %r9
    pop %r10
    pop %r11
    pop %r12
    pop %r13
    pop %r14
    pop %r15
    add $16, %rsp               /* vector and error code */
    iretq

/* void trap_enter_user(void (*fn)(uint64_t), uint64_t stack_top, uint64_t arg) */
    .globl trap_enter_user
trap_enter_user:
    pushq $(GDT_UDATA | RPL_USER)
    push %rsi
    pushq $(RFLAGS_RESERVED | RFLAGS_IF | RFLAGS_IOPL3)
    pushq $(GDT_UCODE | RPL_USER)
    push %rdi
    mov %rdx, %rdi
    xor %esi, %esi
    xor %edx, %edx
    iretq

    .section .rodata
    .balign 8
    .globl trap_vectors
trap_vectors:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc\v
    .endr
    .irp p, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23
    .quad irq\p
    .endr
    .quad spurious
