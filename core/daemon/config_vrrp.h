/* config_vrrp.h - private to config.c: the [vrrp NAME] sections, more
 * VRRP instances beside [ha] (docs/configuration.md "[vrrp NAME]").
 * Setters in the key engine's shape (config_key.h). */
#ifndef ANDROMEDA_CONFIG_VRRP_H
#define ANDROMEDA_CONFIG_VRRP_H

#include "config.h"
#include "config_key.h"

/* A [vrrp NAME] header: a new instance, keys go to it (section number
 * sect).  Refuses a missing, invalid, reserved ("ha") or duplicate name
 * and more than CFG_MAX_INSTANCES - 1 sections.  0 or -1 after
 * cfgk_fail(). */
int cfgvr_begin(struct cfgk *e, int sect, struct config *cfg, const char *name);
/* vrid, advert_interval, preempt, preempt_delay of a [vrrp NAME]: the
 * number or boolean as usual, and the key noted as given (the others
 * are [ha]'s). */
int cfgvr_set_key(struct cfgk *e, const struct cfg_key *k, const char *v);
/* Once the file is read: a [vrrp] without [ha], missing keys, the
 * defaults from [ha], a VRID or a VIP in two instances.  ha_vrid_line,
 * ha_vip_line: where [ha] set them.  0 or -1. */
int cfgvr_check(struct cfgk *e, struct config *cfg, int ha_vrid_line, int ha_vip_line);

#endif
