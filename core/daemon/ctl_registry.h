/* ctl_registry.h - the "registration" object of `andromedactl status`:
 * the registration listener's counters (registry.h), then "dropped", the
 * envelope's drops by cause.  Absent when registration is off. */
#ifndef ANDROMEDA_CTL_REGISTRY_H
#define ANDROMEDA_CTL_REGISTRY_H

#include <jansson.h>

/* A control_status_fn (arg: the struct registry, or NULL when
 * registration is off: then it adds nothing).  Returns 0: out of memory
 * leaves the key out. */
int ctl_registry_status(json_t *status, void *registry);

#endif
