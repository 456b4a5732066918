/*
 * The VM's virtio devices (--device SPEC): the explicit table of device kinds,
 * their MMIO windows and GSIs, and their lifecycle inside the machine phases.
 */
#ifndef MINIVMM_VM_DEVICES_H
#define MINIVMM_VM_DEVICES_H

#include "cmdline.h"
#include "vm.h"

struct vhost_user_dev;

/* Parses every --device SPEC (before memory exists): clear errors for bad specs. */
MUST_CHECK int vm_devices_parse(struct vm *vm);
/* The windows the guest will see, in order: for the command line and the device tree. */
unsigned int vm_devices_windows(const struct vm *vm, struct cmdline_dev *out, unsigned int max);
/* Creates transports and back-end sessions once KVM and guest RAM exist. */
MUST_CHECK int vm_devices_create(struct vm *vm);
/* Per-device counters at exit (and later on the control socket). */
void vm_devices_report(struct vm *vm);
/*
 * An incoming migration finished and the vCPUs run here: each device announces what it must
 * (vhost-user-net: the guest through GUEST_ANNOUNCE, else the back-end with SEND_RARP).
 * The first error, after every device had its turn.
 */
MUST_CHECK int vm_devices_migration_done(struct vm *vm);
void vm_devices_destroy(struct vm *vm);
/* For migration and snapshots: the devices in window order (NULL past the end or not built). */
unsigned int vm_devices_count(const struct vm *vm);
struct vhost_user_dev *vm_devices_get(struct vm *vm, unsigned int i);

#endif
