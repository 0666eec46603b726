/* config_hooks.h - private to config.c: the hooks' keys (issue 14):
 * [ha] notify, notify_timeout, track_interface and the [track NAME]
 * sections.  Setters in the key engine's shape (config_key.h). */
#ifndef ANDROMEDA_CONFIG_HOOKS_H
#define ANDROMEDA_CONFIG_HOOKS_H

#include "config.h"
#include "config_key.h"

/* An absolute path of a program, then optional arguments (a [track]
 * script); notify takes a path alone (set_script_path). */
int cfgh_set_script(struct cfgk *e, const struct cfg_key *k, const char *v);
int cfgh_set_script_path(struct cfgk *e, const struct cfg_key *k, const char *v);
/* -253..253 into an int. */
int cfgh_set_weight(struct cfgk *e, const struct cfg_key *k, const char *v);
/* "eth1, eth2:-20" into cfg->ha.track_if / ntrack_ifs. */
int cfgh_track_ifs(struct cfgk *e, const char *key, const char *v, struct config *cfg);
/* A [track NAME] header: a new entry with its defaults, keys go to it
 * (section number sect).  Returns 0 or -1 after cfgk_fail(). */
int cfgh_track_begin(struct cfgk *e, int sect, struct config *cfg, const char *name);
/* Once the file is read: timeouts, [track] without [ha], the HA
 * interface tracked.  ha_line: the [ha] header's line.  0 or -1. */
int cfgh_check(struct cfgk *e, struct config *cfg, int track_ifs_line);

#endif
