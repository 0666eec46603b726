/* config_key.c - the key table engine of both configuration loaders (see
 * config_key.h). */
#include "config_key.h"

#include <stdio.h>
#include <string.h>

static const struct cfg_key *key_find(const struct cfgk *e, int sect, const char *name)
{
	for (size_t i = 0; i < e->nkeys; i++)
		if (e->keys[i].sect == sect && strcmp(e->keys[i].name, name) == 0)
			return &e->keys[i];
	return NULL;
}

/* Within two edits in this section: "did you mean"; the exact name in
 * another one: where it belongs. */
static int unknown_key(struct cfgk *e, const char *name)
{
	const struct cfg_key *best = NULL, *other = NULL;
	size_t best_d = 3; /* suggest only within two edits */
	char hint[96] = "";

	for (size_t i = 0; i < e->nkeys; i++) {
		const struct cfg_key *k = &e->keys[i];
		size_t d = cfgv_edit_distance(name, k->name);

		if (k->sect != e->sect) {
			if (d == 0 && !other)
				other = k;
			continue;
		}
		if (d < best_d && d < strlen(name)) {
			best_d = d;
			best = k;
		}
	}
	if (best)
		snprintf(hint, sizeof(hint), " (did you mean %s?)", best->name);
	else if (other)
		snprintf(hint, sizeof(hint), " (it belongs in [%s])", e->sect_names[other->sect]);
	return cfgk_fail(e, "unknown key \"%s\" in [%s]%s", name, e->label, hint);
}

/* inih's handler (config_file.h): nonzero to go on.  inih's copy of the
 * section is truncated to 50 bytes: the loader's section callback has
 * seen the whole header. */
static int key_line(void *user, const char *section, const char *name, const char *value)
{
	struct cfgk *e = user;
	const struct cfg_key *k;
	size_t i;

	if (e->f.failed)
		return 0;
	if (!e->sect)
		return cfgk_fail(e, "key \"%s\" is outside %s", name, e->outside), 0;
	k = key_find(e, e->sect, name);
	if (!k)
		return unknown_key(e, name), 0;
	i = (size_t)(k - e->keys);
	if (e->key_line[i])
		return cfgk_fail(e, "duplicate key \"%s\" in [%s] (first at line %d)", name,
				 e->label, e->key_line[i]),
		       0;
	e->key_line[i] = e->f.lineno;
	return k->set(e, k, value) == 0;
}

int cfgk_read(struct cfgk *e, char *copy, size_t size)
{
	e->f.key = key_line;
	e->f.user = e;
	return cfgf_read(&e->f, copy, size);
}

void cfgk_enter(struct cfgk *e, int sect, void *base, const char *label)
{
	e->sect = sect;
	e->base = base;
	snprintf(e->label, sizeof(e->label), "%s", label ? label : e->sect_names[sect]);
	if (!e->sect_line[sect])
		e->sect_line[sect] = e->f.lineno;
	for (size_t i = 0; i < e->nkeys; i++)
		if (e->keys[i].sect == sect)
			e->key_line[i] = 0;
}

int cfgk_line(const struct cfgk *e, int sect, const char *name)
{
	const struct cfg_key *k = key_find(e, sect, name);

	return k ? e->key_line[k - e->keys] : 0;
}

int cfgk_required(struct cfgk *e, unsigned sects)
{
	for (size_t i = 0; i < e->nkeys; i++) {
		const struct cfg_key *k = &e->keys[i];

		if (!k->required || !(sects & 1u << k->sect) || e->key_line[i])
			continue;
		return cfgf_fail(&e->f, e->sect_line[k->sect],
				 "missing required key \"%s\" "
				 "in [%s]",
				 k->name, e->sect_names[k->sect]);
	}
	return 0;
}

/* ---- setters ---------------------------------------------------------- */

int cfgk_set_num(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	uint64_t n;

	if (cfgf_number(&e->f, k->name, v, k->kind, k->min, k->max, k->step, &n) < 0)
		return -1;
	cfgv_store_uint(cfgk_field(e, k), k->size, n);
	return 0;
}

int cfgk_set_str(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (cfgf_text(&e->f, k->name, v, k->min, k->size) < 0)
		return -1;
	memcpy(cfgk_field(e, k), v, strlen(v) + 1);
	return 0;
}

int cfgk_set_name(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (cfgf_name(&e->f, k->name, v) < 0)
		return -1;
	memcpy(cfgk_field(e, k), v, strlen(v) + 1);
	return 0;
}

/* The Host of a health check (RFC 9110 7.2), for name-based virtual hosts. */
int cfgk_set_host(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (cfgf_host(&e->f, k->name, v) < 0)
		return -1;
	memcpy(cfgk_field(e, k), v, strlen(v) + 1);
	return 0;
}

int cfgk_set_bool(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (config_parse_bool(v, cfgk_field(e, k)) < 0)
		return cfgk_fail(e,
				 "%s: \"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)",
				 k->name, v);
	return 0;
}

int cfgk_set_log_level(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	return cfgf_log_level(&e->f, k->name, v, cfgk_field(e, k));
}
