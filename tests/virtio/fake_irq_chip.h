/*
 * A test irq_chip that records what the transport asks the VM to do: GSI levels,
 * ioeventfd and irqfd (de)assignments. The eventfds are real; only KVM is faked.
 * Failure injection: set fail_ioeventfd / fail_irqfd to an errno to refuse assigns.
 */
#ifndef MINIVMM_TESTS_FAKE_IRQ_CHIP_H
#define MINIVMM_TESTS_FAKE_IRQ_CHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "irq.h"

#define FAKE_IRQ_MAX_FDS 64

struct fake_ioeventfd {
    int efd;
    uint64_t addr;
    unsigned int len;
    uint64_t datamatch;
};

struct fake_irqfd {
    int efd;
    unsigned int gsi;
};

struct fake_irq_chip {
    struct irq_chip chip;
    unsigned int pulses; /* level 1 then 0 seen on a GSI */
    unsigned int last_gsi;
    int level;
    unsigned int nioeventfds; /* currently assigned */
    struct fake_ioeventfd ioeventfds[FAKE_IRQ_MAX_FDS];
    unsigned int nirqfds; /* currently assigned */
    struct fake_irqfd irqfds[FAKE_IRQ_MAX_FDS];
    unsigned int assigns;       /* total successful assigns, both kinds */
    unsigned int bad_deassigns; /* deassign of something not assigned */
    int fail_ioeventfd;         /* errno to return on assign, 0 = succeed */
    int fail_irqfd;
};

/* Fills in chip (ops pointing at the recorder). with_eventfds=false: a chip without them. */
void fake_irq_chip_init(struct fake_irq_chip *f, bool with_eventfds);
/* Assigned ioeventfds at a register of any virtio-mmio window (offset in the 4 KiB window). */
unsigned int fake_irq_ioeventfds_at(const struct fake_irq_chip *f, uint64_t reg);
/* The one at that register with that datamatch, or NULL. */
const struct fake_ioeventfd *fake_irq_ioeventfd_find(const struct fake_irq_chip *f, uint64_t reg,
                                                     uint64_t datamatch);

#endif
