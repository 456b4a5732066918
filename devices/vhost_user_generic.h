/*
 * The generic vhost-user device: any virtio device type, served by a back-end that knows it.
 * --device vhost-user,virtio-id=N,socket=PATH[,queues=N][,queue-size=N][,config-size=N]
 * [,config=HEX][,profile=...][,server=on][,connect-timeout=MS][,reply-timeout=MS]
 * Every device-type feature the back-end offers passes; config-size bytes of config space
 * come from GET_CONFIG (0, the default: no config space), or config=HEX gives the bytes
 * (read-only to the guest) for a back-end without GET_CONFIG, e.g. virtiofsd as virtio-id=26.
 */
#ifndef MINIVMM_VHOST_USER_GENERIC_H
#define MINIVMM_VHOST_USER_GENERIC_H

#include "vhost_user_dev.h"

extern const struct vhost_user_type vhost_user_generic_type;

#endif
