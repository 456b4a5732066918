/*
 * Recording irq_chip for transport tests: keeps the set of assigned ioeventfds
 * and irqfds so tests can check that reset undoes exactly what DRIVER_OK did.
 */
#include "fake_irq_chip.h"

#include <errno.h>
#include <string.h>

static int fake_irq_set_level(void *opaque, unsigned int gsi, int level)
{
    struct fake_irq_chip *f = opaque;

    if (f->level && !level)
        f->pulses++;
    f->level = level;
    f->last_gsi = gsi;
    return 0;
}

static int fake_irq_ioeventfd(void *opaque, int efd, uint64_t addr, unsigned int len,
                              uint64_t datamatch, bool assign)
{
    struct fake_irq_chip *f = opaque;

    if (assign) {
        if (f->fail_ioeventfd)
            return -f->fail_ioeventfd;
        if (f->nioeventfds == FAKE_IRQ_MAX_FDS)
            return -ENOSPC;
        f->ioeventfds[f->nioeventfds++] = (struct fake_ioeventfd){efd, addr, len, datamatch};
        f->assigns++;
        return 0;
    }
    for (unsigned int i = 0; i < f->nioeventfds; i++) {
        struct fake_ioeventfd *e = &f->ioeventfds[i];

        if (e->efd == efd && e->addr == addr && e->len == len && e->datamatch == datamatch) {
            *e = f->ioeventfds[--f->nioeventfds];
            return 0;
        }
    }
    f->bad_deassigns++;
    return -ENOENT;
}

static int fake_irq_irqfd(void *opaque, int efd, unsigned int gsi, bool assign)
{
    struct fake_irq_chip *f = opaque;

    if (assign) {
        if (f->fail_irqfd)
            return -f->fail_irqfd;
        if (f->nirqfds == FAKE_IRQ_MAX_FDS)
            return -ENOSPC;
        f->irqfds[f->nirqfds++] = (struct fake_irqfd){efd, gsi};
        f->assigns++;
        return 0;
    }
    for (unsigned int i = 0; i < f->nirqfds; i++) {
        if (f->irqfds[i].efd == efd && f->irqfds[i].gsi == gsi) {
            f->irqfds[i] = f->irqfds[--f->nirqfds];
            return 0;
        }
    }
    f->bad_deassigns++;
    return -ENOENT;
}

void fake_irq_chip_init(struct fake_irq_chip *f, bool with_eventfds)
{
    memset(f, 0, sizeof(*f));
    f->chip.opaque = f;
    f->chip.set_level = fake_irq_set_level;
    if (with_eventfds) {
        f->chip.ioeventfd = fake_irq_ioeventfd;
        f->chip.irqfd = fake_irq_irqfd;
    }
}

unsigned int fake_irq_ioeventfds_at(const struct fake_irq_chip *f, uint64_t reg)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < f->nioeventfds; i++)
        n += (f->ioeventfds[i].addr & 0xfff) == reg;
    return n;
}

const struct fake_ioeventfd *fake_irq_ioeventfd_find(const struct fake_irq_chip *f, uint64_t reg,
                                                     uint64_t datamatch)
{
    for (unsigned int i = 0; i < f->nioeventfds; i++) {
        if ((f->ioeventfds[i].addr & 0xfff) == reg && f->ioeventfds[i].datamatch == datamatch)
            return &f->ioeventfds[i];
    }
    return NULL;
}
