/* config_load.h - the daemon's configuration loader (config.c), over
 * struct config (core/lib/config.h) and the key engine both loaders share
 * (core/lib/config_key.h). */
#ifndef ANDROMEDA_CONFIG_LOAD_H
#define ANDROMEDA_CONFIG_LOAD_H

#include <stddef.h>

#include "config.h"

/* Fill *cfg with defaults, then read path.  Returns 0, or -1 with
 * "path:line: reason" (line 0 when it concerns the whole file) in err.
 * *cfg is overwritten (config_free() a previously loaded one first).
 * On success the caller owns cfg and frees it with config_free(); on error
 * nothing is left allocated.  Nothing is logged: the caller prints err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
void config_free(struct config *cfg);

#endif
