/*
 * The virtio devices' part of a migration (vhost-user devices behind virtio-mmio):
 * blockers, the back-ends' dirty logs, stopping and restarting rings, and the DEVICE
 * sections (transport registers and ring bases). Source calls run in the job's thread.
 */
#ifndef MINIVMM_MIGRATE_DEV_H
#define MINIVMM_MIGRATE_DEV_H

#include <stddef.h>

#include "log.h"
#include "migrate_ram.h"
#include "migrate_stream.h"

struct vm;

/* -EOPNOTSUPP with the reason when a device cannot be migrated (e.g. no LOG_SHMFD). */
MUST_CHECK int mdev_check(struct vm *vm, char *why, size_t whylen);
/* Back-end logging on: SET_LOG_BASE, then LOG_ALL and VHOST_VRING_F_LOG, acknowledged. */
MUST_CHECK int mdev_log_start(struct vm *vm, struct mram *r);
void mdev_log_stop(struct vm *vm);
/* Merges and clears the back-ends' logs into r->dirty. */
void mdev_sync(struct vm *vm, struct mram *r);
/* vCPUs parked: stop every started ring (GET_VRING_BASE) and keep the bases. */
MUST_CHECK int mdev_stop(struct vm *vm);
/* The migration failed: start the stopped rings again from their bases. */
void mdev_restart(struct vm *vm);
MUST_CHECK int mdev_send(struct vm *vm, struct mstream *s);

/* Destination: the device's transport state and ring bases (rings stay stopped). */
MUST_CHECK int mdev_load(struct vm *vm, unsigned int index, const uint8_t *p, size_t len);
/* Destination, once the source let go: start the rings from the bases, kick them. */
MUST_CHECK int mdev_go(struct vm *vm);
/* Destination: every DEVICE section arrived (one per device). */
MUST_CHECK int mdev_loaded_all(struct vm *vm, char *why, size_t whylen);
void mdev_destroy(struct vm *vm);

#endif
