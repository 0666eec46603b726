/* config_hooks.c - the hooks' keys (see config_hooks.h, docs/configuration.md). */
#include "config_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "config_value.h"

#define WEIGHT_MAX 253 /* keepalived's range: base +/- 253 stays meaningful */

static int script_check(struct cfgk *e, const struct cfg_key *k, const char *v, bool args)
{
	size_t n = strlen(v);

	if (v[0] != '/')
		return cfgk_fail(e, "%s: \"%s\" must be an absolute path", k->name, v);
	if (n >= k->size)
		return cfgk_fail(e, "%s: longer than %zu characters", k->name, k->size - 1);
	if (!args && strpbrk(v, " \t"))
		return cfgk_fail(e,
				 "%s: \"%s\": a path alone (the arguments are INSTANCE ROLE "
				 "PRIORITY)",
				 k->name, v);
	if (cfgf_text(&e->f, k->name, v, 1, k->size) < 0)
		return -1;
	memcpy(cfgk_field(e, k), v, n + 1);
	return 0;
}

int cfgh_set_script(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	return script_check(e, k, v, true);
}

int cfgh_set_script_path(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	return script_check(e, k, v, false);
}

static int parse_weight(const char *v, int *out)
{
	char *end;
	long w;

	errno = 0;
	w = strtol(v, &end, 10);
	if (!*v || *end || errno || w < -WEIGHT_MAX || w > WEIGHT_MAX)
		return -EINVAL;
	*out = (int)w;
	return 0;
}

int cfgh_set_weight(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (parse_weight(v, cfgk_field(e, k)) < 0)
		return cfgk_fail(e, "%s: \"%s\" is not a whole number in -%d..%d", k->name, v,
				 WEIGHT_MAX, WEIGHT_MAX);
	return 0;
}

static int track_if_parse(struct cfgk *e, const char *key, char *tok, struct cfg_track_if *ti)
{
	char *colon = strchr(tok, ':');
	size_t n;

	ti->weight = 0;
	if (colon) {
		*colon = '\0';
		if (parse_weight(colon + 1, &ti->weight) < 0)
			return cfgk_fail(e, "%s: \"%s\": the weight is a whole number in -%d..%d",
					 key, colon + 1, WEIGHT_MAX, WEIGHT_MAX);
	}
	n = strlen(tok);
	if (n == 0 || n >= IF_NAMESIZE || strpbrk(tok, "/ \t"))
		return cfgk_fail(e, "%s: \"%s\" is not an interface name (1..%d characters)", key,
				 tok, IF_NAMESIZE - 1);
	memcpy(ti->ifname, tok, n + 1);
	return 0;
}

int cfgh_track_ifs(struct cfgk *e, const char *key, const char *v, struct config *cfg)
{
	char tok[64];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_TRACK_IFS)
			return cfgk_fail(e, "%s: more than %d interfaces", key, CFG_MAX_TRACK_IFS);
		if (track_if_parse(e, key, tok, &cfg->ha.track_if[n]) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (strcmp(cfg->ha.track_if[i].ifname, cfg->ha.track_if[n].ifname) == 0)
				return cfgk_fail(e, "%s: \"%s\" is listed twice", key, tok);
		n++;
	}
	cfg->ha.ntrack_ifs = n;
	return 0;
}

int cfgh_track_begin(struct cfgk *e, int sect, struct config *cfg, const char *name)
{
	struct cfg_track *t;
	char label[sizeof(e->label)];

	if (!*name)
		return cfgk_fail(e, "[track] needs a name, e.g. [track uplink]");
	if (!cfgv_valid_name(name))
		return cfgk_fail(e, "[track %s]: a name is 1..%d letters, digits, '.', '_' or '-'",
				 name, CFG_NAME_MAX - 1);
	for (size_t i = 0; i < cfg->ntracks; i++)
		if (strcmp(cfg->tracks[i].name, name) == 0)
			return cfgk_fail(e, "[track %s]: duplicate name (first at line %d)", name,
					 cfg->tracks[i].line);
	if (cfg->ntracks == CFG_MAX_TRACKS)
		return cfgk_fail(e, "[track %s]: more than %d [track] sections", name,
				 CFG_MAX_TRACKS);
	t = &cfg->tracks[cfg->ntracks++];
	*t = (struct cfg_track){ .interval_ms = 1000, .fall = 1, .rise = 1, .line = e->f.lineno };
	memcpy(t->name, name, strlen(name) + 1);
	snprintf(label, sizeof(label), "track %s", name);
	cfgk_enter(e, sect, t, label);
	return 0;
}

static int track_check(struct cfgk *e, const struct config *cfg, struct cfg_track *t)
{
	if (!t->script[0])
		return cfgf_fail(&e->f, t->line, "missing required key \"script\" in [track %s]",
				 t->name);
	if (!cfg->ha.enabled)
		return cfgf_fail(&e->f, t->line, "[track %s]: tracking needs an [ha] section",
				 t->name);
	if (!t->timeout_ms)
		t->timeout_ms = t->interval_ms;
	if (t->timeout_ms > t->interval_ms)
		return cfgf_fail(&e->f, t->line,
				 "[track %s]: timeout (%u ms) must not exceed interval (%u ms)",
				 t->name, t->timeout_ms, t->interval_ms);
	return 0;
}

int cfgh_check(struct cfgk *e, struct config *cfg, int track_ifs_line)
{
	for (size_t i = 0; i < cfg->ntracks; i++)
		if (track_check(e, cfg, &cfg->tracks[i]) < 0)
			return -1;
	for (size_t i = 0; i < cfg->ha.ntrack_ifs; i++) {
		if (strcmp(cfg->ha.track_if[i].ifname, cfg->ha.interface) == 0)
			return cfgf_fail(&e->f, track_ifs_line,
					 "track_interface: %s is the HA interface (its carrier "
					 "is always tracked)",
					 cfg->ha.interface);
		/* One name per tracked item in status and metrics. */
		for (size_t j = 0; j < cfg->ntracks; j++)
			if (strcmp(cfg->ha.track_if[i].ifname, cfg->tracks[j].name) == 0)
				return cfgf_fail(&e->f, cfg->tracks[j].line,
						 "[track %s]: also the name of a track_interface",
						 cfg->tracks[j].name);
	}
	return 0;
}
