/*
 * The control socket (--api-socket PATH): a unix stream socket served by the VM's event
 * loop. Requests and replies are JSON objects, one per line:
 *   -> {"command": "migrate", "arguments": {"uri": "unix:/tmp/m.sock"}, "id": 7}
 *   <- {"ok": true, "id": 7, ...}      or      {"ok": false, "id": 7, "error": "why"}
 * ("id" is echoed when given.) What users may rely on:
 * - The event loop never blocks on a client: reads and writes are non-blocking and a
 *   client whose replies pile up past CONTROL_OUT_MAX is dropped.
 * - A bad line (not JSON, not an object, unknown command, bad arguments) gets an error
 *   object and the connection stays open; a line past CONTROL_LINE_MAX closes it.
 * - The commands themselves are in control_cmds.c.
 */
#ifndef MINIVMM_CONTROL_H
#define MINIVMM_CONTROL_H

#include "log.h"

#define CONTROL_LINE_MAX    (64 * 1024)
#define CONTROL_OUT_MAX     (1024 * 1024)
#define CONTROL_CLIENTS_MAX 16

struct vm;
struct control;

/* Binds PATH (replacing a stale socket file), listens, watches it in vm->loop. NULL on error. */
struct control *control_create(struct vm *vm, const char *path);
/* Closes every client and the socket, removes the socket file. Accepts NULL. */
void control_destroy(struct control *c);

#endif
