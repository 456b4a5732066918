/*
 * The control socket's commands: one table from name to handler. Each handler gets the
 * request's "arguments" object (NULL when absent) and returns the reply object, or NULL with
 * a one-line reason in err. Handlers run in the event loop and never block for long.
 */
#ifndef MINIVMM_CONTROL_CMDS_H
#define MINIVMM_CONTROL_CMDS_H

#include <stddef.h>

struct vm;
struct json_object;

struct json_object *control_cmds_run(struct vm *vm, const char *command, struct json_object *args,
                                     char *err, size_t errlen);

#endif
