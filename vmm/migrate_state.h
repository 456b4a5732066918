/*
 * The machine's non-RAM state in the stream: CONFIG (the machine's shape, checked by the
 * destination before anything is applied), VM (KVM irqchip, PIT, clock), one CPU section
 * per vCPU and PLATFORM (UART and test device). Devices are in migrate_dev.h.
 */
#ifndef MINIVMM_MIGRATE_STATE_H
#define MINIVMM_MIGRATE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "migrate_stream.h"

struct vm;

MUST_CHECK int mstate_send_config(struct vm *vm, struct mstream *s);
/* -EPROTO with the reason in why when the stream's machine is not this one. */
MUST_CHECK int mstate_check_config(struct vm *vm, const uint8_t *p, size_t len, char *why,
                                   size_t whylen);
/* VM, CPU and PLATFORM sections; every vCPU must be parked. */
MUST_CHECK int mstate_send_machine(struct vm *vm, struct mstream *s);
/* Applies a VM, CPU or PLATFORM section (logged on failure). */
MUST_CHECK int mstate_load(struct vm *vm, const struct mstream_section *sec, const uint8_t *p);

#endif
