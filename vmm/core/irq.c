/* Interrupt line helpers on top of the machine's irq_chip. */
#include "irq.h"

#include <errno.h>

int irq_line_set(struct irq_line *line, int level)
{
    if (!line->chip)
        return -ENODEV;
    if (level)
        __atomic_add_fetch(&line->raised, 1, __ATOMIC_RELAXED);
    return line->chip->set_level(line->chip->opaque, line->gsi, level);
}

int irq_line_pulse(struct irq_line *line)
{
    int ret = irq_line_set(line, 1);

    if (ret < 0)
        return ret;
    return line->chip->set_level(line->chip->opaque, line->gsi, 0);
}
