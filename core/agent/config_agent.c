/* config_agent.c - andromeda-agent's configuration loader.  inih reads the
 * INI syntax; this file owns what each [agent] key means.
 *
 * As in config.c, inih reads through the shared line reader
 * (config_file.h): it counts lines for "FILE:LINE: reason", strips
 * leading blanks so an indented key is never an inih continuation line,
 * hands section headers to section_begin() here, and refuses lines inih
 * would misread ("key value", "key: value", NUL bytes, over-long lines).
 * The values go through the daemon's parsers and checks (config_value.h,
 * config_file.h), so "2s", "a.b.c.d:port" and names mean the same, with
 * the same errors, in both files. */
#include "config_agent.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_file.h"
#include "config_value.h"
#include "log.h"
#include "macros.h"
#include "regmsg.h"

struct actx;
struct akey;
typedef int (*aset_fn)(struct actx *c, const struct akey *k, const char *v);

struct akey {
	const char *name;
	aset_fn set;
	size_t off;          /* in struct agent_config */
	size_t size;         /* of the field */
	enum cfgv_kind kind; /* numbers */
	uint64_t min, max;   /* numbers: range; strings: min length */
	bool required;
};

static int set_num(struct actx *c, const struct akey *k, const char *v);
static int set_str(struct actx *c, const struct akey *k, const char *v);
static int set_name(struct actx *c, const struct akey *k, const char *v);
static int set_service(struct actx *c, const struct akey *k, const char *v);
static int set_url(struct actx *c, const struct akey *k, const char *v);
static int set_host(struct actx *c, const struct akey *k, const char *v);
static int set_ifname(struct actx *c, const struct akey *k, const char *v);
static int set_balancers(struct actx *c, const struct akey *k, const char *v);
static int set_log_level(struct actx *c, const struct akey *k, const char *v);

#define AFLD(fld) offsetof(struct agent_config, fld), sizeof(((struct agent_config *)0)->fld)
#define AKEY(key, fn, fld, req) { key, fn, AFLD(fld), CFGV_NUM, 1, 0, req }
#define ANUM(key, fld, kind, lo, hi) { key, set_num, AFLD(fld), kind, lo, hi, false }

/* Every key there is; docs/agent.md documents them. */
static const struct akey akeys[] = {
	AKEY("name", set_name, name, true),
	AKEY("service", set_service, service, true),
	ANUM("weight", weight, CFGV_NUM, REGMSG_WEIGHT_MIN, REGMSG_WEIGHT_MAX),
	AKEY("health_url", set_url, health_url, false),
	AKEY("health_host", set_host, health_host, false),
	ANUM("health_timeout", health_timeout_ms, CFGV_DUR, 10, 60 * CFGV_SEC),
	AKEY("interface", set_ifname, interface, false),
	ANUM("announce_interval", announce_interval_ms, CFGV_DUR, REGMSG_INTERVAL_MIN_MS,
	     REGMSG_INTERVAL_MAX_MS),
	AKEY("key_file", set_str, key_file, true),
	AKEY("state_file", set_str, state_file, false),
	AKEY("balancers", set_balancers, balancers, false),
	ANUM("port", port, CFGV_NUM, 1, 65535),
	AKEY("log_level", set_log_level, log_level, false),
};

#define NAKEYS ARRAY_SIZE(akeys)

struct actx {
	struct cfgf f;       /* the file: line number, first error */
	struct agent_config *cfg;
	int sect_line;       /* line of [agent], 0 while outside it */
	int key_line[NAKEYS];
};

/* The first error as "PATH:LINE: reason" (cfgf_fail).  Returns -1. */
#define fail(c, ...) cfgf_fail(&(c)->f, __VA_ARGS__)

static void *field(struct actx *c, const struct akey *k) { return (char *)c->cfg + k->off; }

static int set_num(struct actx *c, const struct akey *k, const char *v)
{
	uint64_t n;

	if (cfgf_number(&c->f, k->name, v, k->kind, k->min, k->max, 0, &n) < 0)
		return -1;
	cfgv_store_uint(field(c, k), k->size, n);
	return 0;
}

static int set_str(struct actx *c, const struct akey *k, const char *v)
{
	if (cfgf_text(&c->f, k->name, v, k->min, k->size) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

static int set_name(struct actx *c, const struct akey *k, const char *v)
{
	if (cfgf_name(&c->f, k->name, v) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

static int set_host(struct actx *c, const struct akey *k, const char *v)
{
	if (cfgf_host(&c->f, k->name, v) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

/* The balancers connect to this address: it must be one they can reach. */
static int set_service(struct actx *c, const struct akey *k, const char *v)
{
	struct cfg_endpoint ep;

	if (config_parse_endpoint(v, &ep) < 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is not an IPv4 address:port with port "
			    "1..65535 (e.g. 198.18.0.21:80)", k->name, v);
	if (!regmsg_addr_ok(ep.sin.sin_addr.s_addr))
		return fail(c, c->f.lineno, "%s: \"%s\" is not an address the balancers can reach "
			    "(not 0.x, 127.x, multicast or broadcast)", k->name, v);
	c->cfg->service = ep;
	return 0;
}

/* http:// or https:// and a host; printable ASCII without blanks
 * (RFC 3986 section 2: anything else is percent-encoded). */
static int set_url(struct actx *c, const struct akey *k, const char *v)
{
	size_t skip = strncasecmp(v, "http://", 7) == 0 ? 7 : strncasecmp(v, "https://", 8) == 0 ? 8 : 0;

	if (!skip)
		return fail(c, c->f.lineno, "%s: \"%s\" must start with http:// or https://",
			    k->name, v);
	if (!v[skip] || v[skip] == '/')
		return fail(c, c->f.lineno, "%s: \"%s\" has no host", k->name, v);
	if (cfgf_printable(&c->f, k->name, v) < 0)
		return -1;
	return set_str(c, k, v);
}

/* Only what the kernel refuses (dev_valid_name): the interface may not
 * exist yet when the file is checked. */
static int set_ifname(struct actx *c, const struct akey *k, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE || strpbrk(v, "/: \t") || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is not an interface name (1..%d characters, "
			    "no '/', ':' or blanks)", k->name, v, IF_NAMESIZE - 1);
	memcpy(field(c, k), v, n + 1);
	return 0;
}

static int set_balancers(struct actx *c, const struct akey *k, const char *v)
{
	struct in_addr *b = c->cfg->balancers;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == AGENT_MAX_BALANCERS)
			return fail(c, c->f.lineno, "%s: more than %d addresses", k->name,
				    AGENT_MAX_BALANCERS);
		if (inet_pton(AF_INET, tok, &b[n]) != 1 || !regmsg_addr_ok(b[n].s_addr))
			return fail(c, c->f.lineno, "%s: \"%s\" is not a unicast IPv4 address",
				    k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (b[i].s_addr == b[n].s_addr)
				return fail(c, c->f.lineno, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	c->cfg->nbalancers = n;
	return 0;
}

static int set_log_level(struct actx *c, const struct akey *k, const char *v)
{
	return cfgf_log_level(&c->f, k->name, v, &c->cfg->log_level);
}

static const struct akey *akey_find(const char *name)
{
	for (size_t i = 0; i < NAKEYS; i++)
		if (strcmp(akeys[i].name, name) == 0)
			return &akeys[i];
	return NULL;
}

static int unknown_key(struct actx *c, const char *name)
{
	const struct akey *best = NULL;
	size_t best_d = 3; /* suggest only within two edits */

	for (size_t i = 0; i < NAKEYS; i++) {
		size_t d = cfgv_edit_distance(name, akeys[i].name);

		if (d < best_d && d < strlen(name)) {
			best_d = d;
			best = &akeys[i];
		}
	}
	if (best)
		return fail(c, c->f.lineno, "unknown key \"%s\" in [agent] (did you mean %s?)", name,
			    best->name);
	return fail(c, c->f.lineno, "unknown key \"%s\" in [agent]", name);
}

static int agent_handler(void *user, const char *section, const char *name, const char *value)
{
	struct actx *c = user;
	const struct akey *k;

	(void)section; /* section_begin() has seen the header already */
	if (c->f.failed)
		return 0;
	if (!c->sect_line)
		return fail(c, c->f.lineno, "key \"%s\" is outside the [agent] section", name), 0;
	k = akey_find(name);
	if (!k)
		return unknown_key(c, name), 0;
	if (c->key_line[k - akeys])
		return fail(c, c->f.lineno, "duplicate key \"%s\" in [agent] (first at line %d)", name,
			    c->key_line[k - akeys]), 0;
	c->key_line[k - akeys] = c->f.lineno;
	return k->set(c, k, value) == 0;
}

/* "[agent]", blanks allowed inside, a ';' comment after. */
static int section_begin(void *user, const char *line)
{
	struct actx *c = user;
	size_t n;

	if (cfgf_header(&c->f, line, &line, &n) < 0)
		return -1;
	if (n != 5 || strncmp(line, "agent", 5) != 0)
		return fail(c, c->f.lineno, "unknown section [%.*s] (the agent reads only [agent])",
			    (int)(n > 64 ? 64 : n), line);
	if (c->sect_line)
		return fail(c, c->f.lineno, "section [agent] appears twice (first at line %d)",
			    c->sect_line);
	c->sect_line = c->f.lineno;
	return 0;
}

static int line_of(const struct actx *c, const char *name)
{
	return c->key_line[akey_find(name) - akeys];
}

/* Rules between keys and the defaults that depend on other keys. */
static int check_cross(struct actx *c)
{
	struct agent_config *cfg = c->cfg;
	char t[32], i[32];

	for (size_t k = 0; k < NAKEYS; k++)
		if (akeys[k].required && !c->key_line[k])
			return fail(c, c->sect_line, "missing required key \"%s\" in [agent]",
				    akeys[k].name);
	if (!cfg->interface[0] && cfg->nbalancers == 0)
		return fail(c, c->sect_line, "[agent] needs interface (announce on its LAN "
			    "broadcast address) or balancers (unicast), or both");
	if (!cfg->health_url[0])
		snprintf(cfg->health_url, sizeof(cfg->health_url), "http://%s/", cfg->service.text);
	/* A check must end before the next announcement is due; an unset
	 * timeout follows a short interval instead of failing. */
	if (!line_of(c, "health_timeout") && cfg->health_timeout_ms > cfg->announce_interval_ms / 2)
		cfg->health_timeout_ms = cfg->announce_interval_ms / 2;
	if (cfg->health_timeout_ms >= cfg->announce_interval_ms) {
		cfgv_format(CFGV_DUR, cfg->health_timeout_ms, t, sizeof(t));
		cfgv_format(CFGV_DUR, cfg->announce_interval_ms, i, sizeof(i));
		return fail(c, line_of(c, "health_timeout"), "health_timeout: %s must be shorter "
			    "than announce_interval (%s)", t, i);
	}
	return 0;
}

static void agent_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->weight = 1;
	cfg->health_timeout_ms = 1 * CFGV_SEC;
	cfg->announce_interval_ms = 2 * CFGV_SEC;
	cfg->port = REGMSG_DEFAULT_PORT;
	snprintf(cfg->state_file, sizeof(cfg->state_file), "%s", AGENT_STATE_FILE_DEFAULT);
	cfg->log_level = LOG_LVL_INFO;
}

int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	struct actx c = {
		.f = { .path = path, .err = err, .errlen = errlen, .section = section_begin,
		       .key = agent_handler },
		.cfg = cfg,
	};

	c.f.user = &c;
	if (err && errlen)
		err[0] = '\0';
	agent_defaults(cfg);
	if (cfgf_read(&c.f, cfg->path, sizeof(cfg->path)) < 0)
		return -1;
	if (!c.sect_line)
		return fail(&c, 0, "no [agent] section");
	return check_cross(&c);
}
