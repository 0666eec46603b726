/* config.c - the configuration loader.  inih reads the INI syntax; this file
 * owns what every key means and checks every value.
 *
 * inih reads the file through the line reader in config_file.c, which
 * counts lines for "FILE:LINE: reason", strips leading blanks and refuses
 * lines inih would misread (see config_file.h).  It hands section headers
 * to section_begin() here, so an empty [ha] is still validated, [server
 * NAME] gets its own state even when two names collide, and section names
 * are not truncated to inih's 50 bytes. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "config_value.h"
#include "log.h"
#include "macros.h"

enum sect { S_NONE, S_NODE, S_FRONTEND, S_BACKEND, S_SERVER, S_HA, S_REG, S_COUNT };

static const char *const sect_names[S_COUNT] = {
	"", "node", "frontend", "backend", "server", "ha", "registration",
};

struct ctx;
struct key_def;
typedef int (*setter_fn)(struct ctx *c, const struct key_def *k, const char *v);

struct key_def {
	const char *name;
	enum sect sect;
	setter_fn set;
	size_t off;          /* in struct config, or struct cfg_server for S_SERVER */
	size_t size;         /* of the field */
	enum cfgv_kind kind;
	uint64_t min, max;   /* numbers: range; strings: min length */
	uint64_t step;       /* numbers: must be a multiple of this (0: any) */
	bool required;
};

static int set_num(struct ctx *c, const struct key_def *k, const char *v);
static int set_priority(struct ctx *c, const struct key_def *k, const char *v);
static int set_bool(struct ctx *c, const struct key_def *k, const char *v);
static int set_str(struct ctx *c, const struct key_def *k, const char *v);
static int set_name(struct ctx *c, const struct key_def *k, const char *v);
static int set_ifname(struct ctx *c, const struct key_def *k, const char *v);
static int set_http_path(struct ctx *c, const struct key_def *k, const char *v);
static int set_host(struct ctx *c, const struct key_def *k, const char *v);
static int set_endpoint(struct ctx *c, const struct key_def *k, const char *v);
static int set_mode(struct ctx *c, const struct key_def *k, const char *v);
static int set_log_level(struct ctx *c, const struct key_def *k, const char *v);
static int set_vips(struct ctx *c, const struct key_def *k, const char *v);
static int set_peers(struct ctx *c, const struct key_def *k, const char *v);

#define FSIZE(type, fld) sizeof(((type *)0)->fld)
/* KEY: any setter (numbers with it are plain whole numbers); NUMK: a
 * number of the given kind, optional, with a step; SRVK: a [server] key. */
#define KEY(sec, key, fn, fld, lo, hi, req) \
	{ key, sec, fn, offsetof(struct config, fld), FSIZE(struct config, fld), \
	  CFGV_NUM, lo, hi, 0, req }
#define NUMK(sec, key, fld, kind, lo, hi, st) \
	{ key, sec, set_num, offsetof(struct config, fld), FSIZE(struct config, fld), \
	  kind, lo, hi, st, false }
#define SRVK(key, fn, fld, lo, hi, req) \
	{ key, S_SERVER, fn, offsetof(struct cfg_server, fld), FSIZE(struct cfg_server, fld), \
	  CFGV_NUM, lo, hi, 0, req }

#define SEC CFGV_SEC
#define HOUR CFGV_HOUR

/* Every key there is.  Ranges are documented in docs/configuration.md. */
static const struct key_def keys[] = {
	KEY(S_NODE, "name", set_name, node.name, 0, 0, false),
	KEY(S_NODE, "state_dir", set_str, node.state_dir, 1, 0, false),
	KEY(S_NODE, "control_socket", set_str, node.control_socket, 1, 0, false),
	KEY(S_NODE, "user", set_str, node.user, 0, 0, false),
	KEY(S_NODE, "log_level", set_log_level, node.log_level, 0, 0, false),

	KEY(S_FRONTEND, "listen", set_endpoint, frontend.listen, 0, 0, true),
	KEY(S_FRONTEND, "mode", set_mode, frontend.mode, 0, 0, false),
	KEY(S_FRONTEND, "via", set_bool, frontend.via, 0, 0, false),
	KEY(S_FRONTEND, "xff", set_bool, frontend.xff, 0, 0, false),
	NUMK(S_FRONTEND, "maxconn", frontend.maxconn, CFGV_NUM, 1, 1000000, 0),
	NUMK(S_FRONTEND, "header_timeout", frontend.header_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_FRONTEND, "client_timeout", frontend.client_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_FRONTEND, "keepalive_timeout", frontend.keepalive_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_FRONTEND, "max_header_size", frontend.max_header_size, CFGV_SIZE, 1024, 65536, 0),
	NUMK(S_FRONTEND, "max_uri_size", frontend.max_uri_size, CFGV_SIZE, 64, 65536, 0),
	NUMK(S_FRONTEND, "max_body_size", frontend.max_body_size, CFGV_SIZE, 0, UINT64_MAX, 0),
	NUMK(S_FRONTEND, "grace", frontend.grace_ms, CFGV_DUR, 0, HOUR, 0),
	NUMK(S_FRONTEND, "threads", frontend.threads, CFGV_NUM, 1, CFG_MAX_THREADS, 0),

	NUMK(S_BACKEND, "maxconn", backend.maxconn, CFGV_NUM, 1, 65535, 0),
	NUMK(S_BACKEND, "queue_timeout", backend.queue_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_BACKEND, "connect_timeout", backend.connect_timeout_ms, CFGV_DUR, 1, HOUR, 0),
	NUMK(S_BACKEND, "server_timeout", backend.server_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_BACKEND, "retries", backend.retries, CFGV_NUM, 0, 10, 0),
	KEY(S_BACKEND, "health_check", set_http_path, backend.health_check, 0, 0, false),
	KEY(S_BACKEND, "health_host", set_host, backend.health_host, 0, 0, false),
	NUMK(S_BACKEND, "health_interval", backend.health_interval_ms, CFGV_DUR, 10, HOUR, 0),
	NUMK(S_BACKEND, "health_timeout", backend.health_timeout_ms, CFGV_DUR, 1, HOUR, 0),
	NUMK(S_BACKEND, "rise", backend.rise, CFGV_NUM, 1, 1000, 0),
	NUMK(S_BACKEND, "fall", backend.fall, CFGV_NUM, 1, 1000, 0),
	NUMK(S_BACKEND, "max_idle", backend.max_idle, CFGV_NUM, 0, 65535, 0),

	SRVK("address", set_endpoint, addr, 0, 0, true),
	SRVK("weight", set_num, weight, 1, 256, false),
	SRVK("health_host", set_host, health_host, 0, 0, false),

	KEY(S_HA, "interface", set_ifname, ha.interface, 0, 0, true),
	KEY(S_HA, "vrid", set_num, ha.vrid, 1, 255, true),
	KEY(S_HA, "priority", set_priority, ha.priority, 1, 254, true),
	/* RFC 5798 5.2.7: Max Advertise Interval is 12 bits of centiseconds. */
	NUMK(S_HA, "advert_interval", ha.advert_interval_ms, CFGV_DUR, 10, 40950, 10),
	KEY(S_HA, "preempt", set_bool, ha.preempt, 0, 0, false),
	NUMK(S_HA, "preempt_delay", ha.preempt_delay_ms, CFGV_DUR, 0, HOUR, 0),
	KEY(S_HA, "vip", set_vips, ha.vips, 0, 0, true),
	KEY(S_HA, "key_file", set_str, ha.key_file, 1, 0, true),
	KEY(S_HA, "peers", set_peers, ha.peers, 0, 0, false),
	NUMK(S_HA, "garp_count", ha.garp_count, CFGV_NUM, 1, 100, 0),
	NUMK(S_HA, "garp_interval", ha.garp_interval_ms, CFGV_DUR, 1, 10 * SEC, 0),
	NUMK(S_HA, "garp_refresh", ha.garp_refresh_ms, CFGV_DUR, 0, HOUR, 0),
	KEY(S_HA, "checksum_rfc5798", set_bool, ha.checksum_rfc5798, 0, 0, false),
	NUMK(S_HA, "sync_port", ha.sync_port, CFGV_NUM, 1, 65535, 0),

	KEY(S_REG, "enabled", set_bool, registration.enabled, 0, 0, false),
	NUMK(S_REG, "port", registration.port, CFGV_NUM, 1, 65535, 0),
	NUMK(S_REG, "expire", registration.expire_ms, CFGV_DUR, 100, 24 * HOUR, 0),
	KEY(S_REG, "key_file", set_str, registration.key_file, 1, 0, false),
};

#define NKEYS ARRAY_SIZE(keys)

struct ctx {
	struct cfgf f;              /* the file: line number, first error */
	struct config *cfg;
	enum sect sect;             /* the section being read */
	size_t srv;                 /* index of the current [server] */
	size_t srv_cap;
	int sect_line[S_COUNT];     /* header line of each section seen */
	int key_line[NKEYS];        /* line of each key seen (per [server]) */
};

/* The first error as "PATH:LINE: reason" (cfgf_fail).  Returns -1. */
#define fail(c, ...) cfgf_fail(&(c)->f, __VA_ARGS__)

static void *field(struct ctx *c, const struct key_def *k)
{
	char *base = k->sect == S_SERVER ? (char *)&c->cfg->servers[c->srv] : (char *)c->cfg;

	return base + k->off;
}

static int set_num(struct ctx *c, const struct key_def *k, const char *v)
{
	uint64_t n;

	if (cfgf_number(&c->f, k->name, v, k->kind, k->min, k->max, k->step, &n) < 0)
		return -1;
	cfgv_store_uint(field(c, k), k->size, n);
	return 0;
}

/* RFC 5798 5.2.4: 255 belongs to the address owner and 0 means "master
 * is leaving"; neither may be configured on a balancer. */
static int set_priority(struct ctx *c, const struct key_def *k, const char *v)
{
	if (strcmp(v, "255") == 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is reserved for the address owner "
			    "(RFC 5798 5.2.4); use 1..254", k->name, v);
	if (strcmp(v, "0") == 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is reserved for a master that is leaving "
			    "(RFC 5798 5.2.4); use 1..254", k->name, v);
	return set_num(c, k, v);
}

static int set_bool(struct ctx *c, const struct key_def *k, const char *v)
{
	if (config_parse_bool(v, field(c, k)) < 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is not a boolean (yes/no, true/false, "
			    "on/off, 1/0)", k->name, v);
	return 0;
}

static int set_str(struct ctx *c, const struct key_def *k, const char *v)
{
	if (cfgf_text(&c->f, k->name, v, k->min, k->size) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

static int set_name(struct ctx *c, const struct key_def *k, const char *v)
{
	if (cfgf_name(&c->f, k->name, v) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

/* Only the length and the characters the kernel refuses (dev_valid_name):
 * the interface may not exist yet when the file is checked. */
static int set_ifname(struct ctx *c, const struct key_def *k, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE)
		return fail(c, c->f.lineno, "%s: \"%s\" is not an interface name (1..%d characters)",
			    k->name, v, IF_NAMESIZE - 1);
	if (strpbrk(v, "/: \t") || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is not an interface name (no '/', ':' or "
			    "blanks)", k->name, v);
	memcpy(field(c, k), v, n + 1);
	return 0;
}

/* The health check's request target (RFC 9110 7.1, origin-form). */
static int set_http_path(struct ctx *c, const struct key_def *k, const char *v)
{
	if (*v && *v != '/')
		return fail(c, c->f.lineno, "%s: \"%s\" must be a path starting with '/' (or empty "
			    "for a TCP connect check)", k->name, v);
	if (cfgf_printable(&c->f, k->name, v) < 0)
		return -1;
	return set_str(c, k, v);
}

/* The Host of a health check (RFC 9110 7.2), for name-based virtual hosts. */
static int set_host(struct ctx *c, const struct key_def *k, const char *v)
{
	if (cfgf_host(&c->f, k->name, v) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

static int set_endpoint(struct ctx *c, const struct key_def *k, const char *v)
{
	struct cfg_endpoint ep;

	if (config_parse_endpoint(v, &ep) < 0)
		return fail(c, c->f.lineno, "%s: \"%s\" is not an IPv4 address:port with port "
			    "1..65535 (e.g. 198.18.0.10:80)", k->name, v);
	if (k->sect == S_SERVER && ep.sin.sin_addr.s_addr == htonl(INADDR_ANY))
		return fail(c, c->f.lineno, "%s: \"%s\": 0.0.0.0 is not a server address",
			    k->name, v);
	memcpy(field(c, k), &ep, sizeof(ep));
	return 0;
}

static int set_mode(struct ctx *c, const struct key_def *k, const char *v)
{
	if (strcmp(v, "http") == 0)
		c->cfg->frontend.mode = MODE_HTTP;
	else if (strcmp(v, "tcp") == 0)
		c->cfg->frontend.mode = MODE_TCP;
	else
		return fail(c, c->f.lineno, "%s: \"%s\" is not a mode (http or tcp)", k->name, v);
	return 0;
}

static int set_log_level(struct ctx *c, const struct key_def *k, const char *v)
{
	return cfgf_log_level(&c->f, k->name, v, &c->cfg->node.log_level);
}

static int set_vips(struct ctx *c, const struct key_def *k, const char *v)
{
	struct cfg_vip *vips = c->cfg->ha.vips;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_VIPS)
			return fail(c, c->f.lineno, "%s: more than %d addresses", k->name, CFG_MAX_VIPS);
		if (cfgv_parse_vip(tok, &vips[n]) < 0)
			return fail(c, c->f.lineno, "%s: \"%s\" is not an IPv4 address/prefix length "
				    "with length 1..32 (e.g. 198.18.0.10/24)", k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (vips[i].addr.s_addr == vips[n].addr.s_addr)
				return fail(c, c->f.lineno, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	if (n == 0)
		return fail(c, c->f.lineno, "%s: must list at least one address", k->name);
	c->cfg->ha.nvips = n;
	return 0;
}

static int set_peers(struct ctx *c, const struct key_def *k, const char *v)
{
	struct in_addr *peers = c->cfg->ha.peers;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_PEERS)
			return fail(c, c->f.lineno, "%s: more than %d addresses", k->name, CFG_MAX_PEERS);
		if (inet_pton(AF_INET, tok, &peers[n]) != 1 || peers[n].s_addr == htonl(INADDR_ANY))
			return fail(c, c->f.lineno, "%s: \"%s\" is not an IPv4 address", k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (peers[i].s_addr == peers[n].s_addr)
				return fail(c, c->f.lineno, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	c->cfg->ha.npeers = n;
	return 0;
}

static const struct key_def *key_find(enum sect s, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int unknown_key(struct ctx *c, const char *name)
{
	const struct key_def *best = NULL, *other = NULL;
	size_t best_d = 3; /* suggest only within two edits */
	char hint[96] = "";

	for (size_t i = 0; i < NKEYS; i++) {
		size_t d = cfgv_edit_distance(name, keys[i].name);

		if (keys[i].sect != c->sect) {
			if (d == 0 && !other)
				other = &keys[i];
			continue;
		}
		if (d < best_d && d < strlen(name)) {
			best_d = d;
			best = &keys[i];
		}
	}
	if (best)
		snprintf(hint, sizeof(hint), " (did you mean %s?)", best->name);
	else if (other)
		snprintf(hint, sizeof(hint), " (it belongs in [%s])", sect_names[other->sect]);
	if (c->sect == S_SERVER)
		return fail(c, c->f.lineno, "unknown key \"%s\" in [server %s]%s", name,
			    c->cfg->servers[c->srv].name, hint);
	return fail(c, c->f.lineno, "unknown key \"%s\" in [%s]%s", name, sect_names[c->sect], hint);
}

static int key_seen(struct ctx *c, const char *sect_name, const char *name)
{
	int first = c->key_line[key_find(c->sect, name) - keys];

	if (c->sect == S_SERVER)
		return fail(c, c->f.lineno, "duplicate key \"%s\" in [server %s] (first at line %d)",
			    name, c->cfg->servers[c->srv].name, first);
	return fail(c, c->f.lineno, "duplicate key \"%s\" in [%s] (first at line %d)", name,
		    sect_name, first);
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *c = user;
	const struct key_def *k;

	(void)section; /* inih's copy is truncated to 50 bytes; see section_begin() */
	if (c->f.failed)
		return 0;
	if (c->sect == S_NONE)
		return fail(c, c->f.lineno, "key \"%s\" is outside any section", name), 0;
	k = key_find(c->sect, name);
	if (!k)
		return unknown_key(c, name), 0;
	if (c->key_line[k - keys])
		return key_seen(c, sect_names[c->sect], name), 0;
	c->key_line[k - keys] = c->f.lineno;
	return k->set(c, k, value) == 0;
}

static int server_begin(struct ctx *c, const char *name)
{
	struct config *cfg = c->cfg;
	struct cfg_server *srv;

	if (!*name)
		return fail(c, c->f.lineno, "[server] needs a name, e.g. [server web1]");
	if (!cfgv_valid_name(name))
		return fail(c, c->f.lineno, "[server %s]: a server name is 1..%d letters, digits, "
			    "'.', '_' or '-'", name, CFG_NAME_MAX - 1);
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0)
			return fail(c, c->f.lineno, "[server %s]: duplicate server name (first at "
				    "line %d)", name, cfg->servers[i].line);
	if (cfg->nservers == c->srv_cap) {
		size_t ncap = c->srv_cap ? 2 * c->srv_cap : 8;

		srv = reallocarray(cfg->servers, ncap, sizeof(*srv));
		if (!srv)
			return fail(c, c->f.lineno, "[server %s]: out of memory", name);
		cfg->servers = srv;
		c->srv_cap = ncap;
	}
	srv = &cfg->servers[cfg->nservers];
	memset(srv, 0, sizeof(*srv));
	memcpy(srv->name, name, strlen(name) + 1);
	srv->weight = 1;
	srv->line = c->f.lineno;
	c->srv = cfg->nservers++;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == S_SERVER)
			c->key_line[i] = 0;
	return 0;
}

static int section_open(struct ctx *c, const char *type, const char *name)
{
	enum sect s;

	for (s = S_NODE; s < S_COUNT; s++)
		if (strcmp(type, sect_names[s]) == 0)
			break;
	if (s == S_COUNT)
		return fail(c, c->f.lineno, "unknown section [%s] (expected node, frontend, backend, "
			    "server NAME, ha or registration)", type);
	c->sect = s;
	if (s == S_SERVER) {
		if (!c->sect_line[s])
			c->sect_line[s] = c->f.lineno;
		return server_begin(c, name);
	}
	if (*name)
		return fail(c, c->f.lineno, "section [%s] takes no name (got \"%s\")", type, name);
	if (c->sect_line[s])
		return fail(c, c->f.lineno, "section [%s] appears twice (first at line %d)", type,
			    c->sect_line[s]);
	c->sect_line[s] = c->f.lineno;
	if (s == S_HA)
		c->cfg->ha.enabled = true;
	return 0;
}

/* "[type]" or "[type name]", blanks allowed inside, a ';' comment after. */
static int section_begin(void *user, const char *line)
{
	struct ctx *c = user;
	char inner[128], *name;
	size_t n;

	if (cfgf_header(&c->f, line, &line, &n) < 0)
		return -1;
	if (n >= sizeof(inner))
		return fail(c, c->f.lineno, "section header is too long");
	memcpy(inner, line, n);
	inner[n] = '\0';
	name = inner + strcspn(inner, " \t");
	if (*name)
		*name++ = '\0';
	name += strspn(name, " \t");
	return section_open(c, inner, name);
}

static void config_defaults(struct config *cfg)
{
	char host[256];

	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		strcpy(host, "andromeda");
	host[sizeof(host) - 1] = '\0';
	snprintf(cfg->node.name, sizeof(cfg->node.name), "%.*s", CFG_NAME_MAX - 1, host);
	strcpy(cfg->node.state_dir, "/var/lib/andromeda");
	strcpy(cfg->node.control_socket, "/run/andromeda/control.sock");
	cfg->node.log_level = LOG_LVL_INFO;
	cfg->frontend = (__typeof__(cfg->frontend)){
		.mode = MODE_HTTP, .via = true, .xff = true, .maxconn = 10000, .threads = 1,
		.header_timeout_ms = 10 * SEC, .client_timeout_ms = 30 * SEC,
		.keepalive_timeout_ms = 60 * SEC, .max_header_size = 8192,
		.max_uri_size = 4096, .max_body_size = 0, .grace_ms = 5 * SEC,
	};
	cfg->backend = (__typeof__(cfg->backend)){
		.maxconn = 32, .queue_timeout_ms = 5 * SEC, .connect_timeout_ms = 1 * SEC,
		.server_timeout_ms = 10 * SEC, .retries = 2, .health_interval_ms = 1 * SEC,
		.health_timeout_ms = 1 * SEC, .rise = 2, .fall = 3, .max_idle = 64,
	};
	/* RFC 5798 5.2.7: the default Advertisement Interval is 1 second. */
	cfg->ha.advert_interval_ms = 1 * SEC;
	cfg->ha.preempt = true;
	cfg->ha.garp_count = 5;
	cfg->ha.garp_interval_ms = 100;
	cfg->ha.garp_refresh_ms = 5 * SEC;
	cfg->ha.checksum_rfc5798 = true;
	cfg->ha.sync_port = 7788;
	cfg->registration.port = 7789;
	cfg->registration.expire_ms = 10 * SEC;
}

static int line_of(const struct ctx *c, enum sect s, const char *name)
{
	return c->key_line[key_find(s, name) - keys];
}

static int check_required(struct ctx *c)
{
	const struct config *cfg = c->cfg;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_def *k = &keys[i];

		if (!k->required || k->sect == S_SERVER || c->key_line[i])
			continue;
		if (k->sect == S_HA && !cfg->ha.enabled)
			continue;
		return fail(c, c->sect_line[k->sect], "missing required key \"%s\" in [%s]",
			    k->name, sect_names[k->sect]);
	}
	for (size_t i = 0; i < cfg->nservers; i++)
		if (!cfg->servers[i].addr.text[0])
			return fail(c, cfg->servers[i].line, "missing required key \"address\" "
				    "in [server %s]", cfg->servers[i].name);
	if (cfg->nservers == 0 && !cfg->registration.enabled)
		return fail(c, line_of(c, S_REG, "enabled"), "no [server] section and "
			    "[registration] enabled is not yes: nothing to balance");
	return 0;
}

/* Checks that involve more than one key, run once the whole file is read. */
static int check_cross(struct ctx *c)
{
	struct config *cfg = c->cfg;
	int line;

	/* An unset health_timeout follows a shorter health_interval instead of
	 * failing on a value the operator never wrote. */
	if (!line_of(c, S_BACKEND, "health_timeout") &&
	    cfg->backend.health_timeout_ms > cfg->backend.health_interval_ms)
		cfg->backend.health_timeout_ms = cfg->backend.health_interval_ms;
	if (cfg->backend.health_timeout_ms > cfg->backend.health_interval_ms) {
		char t[32], i[32];

		cfgv_format(CFGV_DUR, cfg->backend.health_timeout_ms, t, sizeof(t));
		cfgv_format(CFGV_DUR, cfg->backend.health_interval_ms, i, sizeof(i));
		return fail(c, line_of(c, S_BACKEND, "health_timeout"), "health_timeout: %s must "
			    "not exceed health_interval (%s)", t, i);
	}
	if (!cfg->registration.key_file[0] && cfg->ha.enabled)
		memcpy(cfg->registration.key_file, cfg->ha.key_file, sizeof(cfg->ha.key_file));
	if (cfg->registration.enabled && !cfg->registration.key_file[0])
		return fail(c, line_of(c, S_REG, "enabled"), "enabled: registration needs key_file "
			    "(in [registration], or in [ha])");
	if (cfg->ha.enabled && cfg->registration.enabled &&
	    cfg->ha.sync_port == cfg->registration.port) {
		line = line_of(c, S_REG, "port");
		if (!line)
			line = line_of(c, S_HA, "sync_port");
		return fail(c, line, "port %u is both [ha] sync_port and [registration] port",
			    (unsigned)cfg->ha.sync_port);
	}
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct ctx c = {
		.f = { .path = path, .err = err, .errlen = errlen, .section = section_begin,
		       .key = cfg_handler },
		.cfg = cfg,
	};

	c.f.user = &c;
	if (err && errlen)
		err[0] = '\0';
	config_defaults(cfg);
	if (cfgf_read(&c.f, cfg->path, sizeof(cfg->path)) == 0 && check_required(&c) == 0)
		check_cross(&c);
	if (c.f.failed) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	free(cfg->servers);
	cfg->servers = NULL;
	cfg->nservers = 0;
}
