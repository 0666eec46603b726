/* config_vrrp.c - the [vrrp NAME] sections (see config_vrrp.h). */
#include "config_vrrp.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config_file.h"
#include "config_value.h"

int cfgvr_begin(struct cfgk *e, int sect, struct config *cfg, const char *name)
{
	struct cfg_vrrp *v;
	char label[sizeof(e->label)];

	if (!*name)
		return cfgk_fail(e, "[vrrp] needs a name, e.g. [vrrp web-b]");
	if (!cfgv_valid_name(name))
		return cfgk_fail(e, "[vrrp %s]: a name is 1..%d letters, digits, '.', '_' or '-'",
				 name, CFG_NAME_MAX - 1);
	if (strcmp(name, CFG_HA_INSTANCE) == 0)
		return cfgk_fail(e, "[vrrp %s]: \"%s\" is the name of the [ha] instance", name,
				 name);
	for (size_t i = 0; i < cfg->nvrrps; i++)
		if (strcmp(cfg->vrrps[i].name, name) == 0)
			return cfgk_fail(e, "[vrrp %s]: duplicate name (first at line %d)", name,
					 cfg->vrrps[i].line);
	if (cfg->nvrrps == CFG_MAX_INSTANCES - 1)
		return cfgk_fail(e,
				 "[vrrp %s]: too many VRRP instances (at most %d: [ha] and %d "
				 "[vrrp] sections)",
				 name, CFG_MAX_INSTANCES, CFG_MAX_INSTANCES - 1);
	v = &cfg->vrrps[cfg->nvrrps++];
	*v = (struct cfg_vrrp){ .line = e->f.lineno };
	memcpy(v->name, name, strlen(name) + 1);
	snprintf(label, sizeof(label), "vrrp %s", name);
	cfgk_enter(e, sect, v, label);
	return 0;
}

int cfgvr_set_key(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct cfg_vrrp *vr = e->base;
	int err = strcmp(k->name, "preempt") == 0 ? cfgk_set_bool(e, k, v) : cfgk_set_num(e, k, v);

	if (err < 0)
		return err;
	if (strcmp(k->name, "vrid") == 0)
		vr->vrid_line = e->f.lineno;
	else if (strcmp(k->name, "advert_interval") == 0)
		vr->given |= CFG_VRRP_INTERVAL;
	else if (strcmp(k->name, "preempt") == 0)
		vr->given |= CFG_VRRP_PREEMPT;
	else
		vr->given |= CFG_VRRP_PREEMPT_DELAY;
	return 0;
}

static int check_one(struct cfgk *e, const struct config *cfg, struct cfg_vrrp *v)
{
	static const char *const need[] = { "vrid", "priority", "vip" };
	int missing = !v->vrid ? 0 : !v->priority ? 1 : !v->nvips ? 2 : -1;

	if (missing >= 0)
		return cfgf_fail(&e->f, v->line, "missing required key \"%s\" in [vrrp %s]",
				 need[missing], v->name);
	if (!(v->given & CFG_VRRP_INTERVAL))
		v->advert_interval_ms = cfg->ha.advert_interval_ms;
	if (!(v->given & CFG_VRRP_PREEMPT))
		v->preempt = cfg->ha.preempt;
	if (!(v->given & CFG_VRRP_PREEMPT_DELAY))
		v->preempt_delay_ms = cfg->ha.preempt_delay_ms;
	return 0;
}

/* Instance i's VRID and VIPs (0 is [ha]); *line where they were set. */
static unsigned vrid_of(const struct config *cfg, size_t i, int ha_line, int *line)
{
	*line = i ? cfg->vrrps[i - 1].vrid_line : ha_line;
	return i ? cfg->vrrps[i - 1].vrid : cfg->ha.vrid;
}

static const char *name_of(const struct config *cfg, size_t i)
{
	return i ? cfg->vrrps[i - 1].name : CFG_HA_INSTANCE;
}

static const struct cfg_vip *vips_of(const struct config *cfg, size_t i, size_t *n)
{
	*n = i ? cfg->vrrps[i - 1].nvips : cfg->ha.nvips;
	return i ? cfg->vrrps[i - 1].vips : cfg->ha.vips;
}

static const struct cfg_vip *vips6_of(const struct config *cfg, size_t i, size_t *n)
{
	*n = i ? cfg->vrrps[i - 1].nvips6 : cfg->ha.nvips6;
	return i ? cfg->vrrps[i - 1].vips6 : cfg->ha.vips6;
}

/* The first of v's IPv6 VIPs also in instance j's list, or NULL. */
static const struct cfg_vip *shared6(const struct config *cfg, const struct cfg_vrrp *v, size_t j)
{
	size_t n;
	const struct cfg_vip *o = vips6_of(cfg, j, &n);

	for (size_t a = 0; a < v->nvips6; a++)
		for (size_t b = 0; b < n; b++)
			if (IN6_ARE_ADDR_EQUAL(&v->vips6[a].addr6, &o[b].addr6))
				return &v->vips6[a];
	return NULL;
}

/* Instances share the interface's socket, which tells them apart by
 * VRID alone, and a VIP in two instances would be added and removed by
 * both elections. */
static int check_unique(struct cfgk *e, const struct config *cfg, int ha_vrid_line,
			int ha_vip_line)
{
	for (size_t i = 1; i <= cfg->nvrrps; i++) {
		const struct cfg_vrrp *v = &cfg->vrrps[i - 1];

		for (size_t j = 0; j < i; j++) {
			int line;
			size_t n;
			const struct cfg_vip *o = vips_of(cfg, j, &n), *six = shared6(cfg, v, j);

			if (vrid_of(cfg, j, ha_vrid_line, &line) == v->vrid)
				return cfgf_fail(&e->f, v->vrid_line,
						 "[vrrp %s]: vrid %u is also instance %s's "
						 "(line %d)",
						 v->name, v->vrid, name_of(cfg, j), line);
			for (size_t a = 0; a < v->nvips; a++)
				for (size_t b = 0; b < n; b++)
					if (memcmp(&v->vips[a].addr, &o[b].addr,
						   sizeof(o[b].addr)) == 0)
						return cfgf_fail(
							&e->f, v->vips_line,
							"[vrrp %s]: vip %s is also in instance "
							"%s (line %d)",
							v->name, v->vips[a].text, name_of(cfg, j),
							j ? cfg->vrrps[j - 1].vips_line
							  : ha_vip_line);
			if (six)
				return cfgf_fail(
					&e->f, v->vips_line,
					"[vrrp %s]: vip %s is also in instance %s (line %d)",
					v->name, six->text, name_of(cfg, j),
					j ? cfg->vrrps[j - 1].vips_line : ha_vip_line);
		}
	}
	return 0;
}

int cfgvr_check(struct cfgk *e, struct config *cfg, int ha_vrid_line, int ha_vip_line)
{
	for (size_t i = 0; i < cfg->nvrrps; i++) {
		if (!cfg->ha.enabled)
			return cfgf_fail(&e->f, cfg->vrrps[i].line,
					 "[vrrp %s]: more VRRP instances need an [ha] section "
					 "(interface, key_file and the first instance)",
					 cfg->vrrps[i].name);
		if (check_one(e, cfg, &cfg->vrrps[i]) < 0)
			return -1;
	}
	return check_unique(e, cfg, ha_vrid_line, ha_vip_line);
}
