/* config.c - the configuration loader.  inih reads the INI syntax; this file
 * owns what every key means and checks every value.
 *
 * inih's handler is not told the line number, so inih reads the file
 * through our own line reader (ini_parse_stream), which counts lines; the
 * handler takes the count from the shared context.  The reader also does
 * three things inih cannot:
 *  - it sees section headers itself, so an empty [ha] is still validated,
 *    [server NAME] gets its own state even when two names collide, and
 *    section names are not truncated to inih's 50 bytes;
 *  - it strips leading blanks, so an indented "key = value" is never taken
 *    for a continuation of the previous key (inih's multi-line values);
 *  - it rejects lines that inih would silently misread ("key value" with no
 *    '=', "key: value", text after a section header, over-long lines). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_value.h"
#include "log.h"

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
	NUMK(S_BACKEND, "health_interval", backend.health_interval_ms, CFGV_DUR, 10, HOUR, 0),
	NUMK(S_BACKEND, "health_timeout", backend.health_timeout_ms, CFGV_DUR, 1, HOUR, 0),
	NUMK(S_BACKEND, "rise", backend.rise, CFGV_NUM, 1, 1000, 0),
	NUMK(S_BACKEND, "fall", backend.fall, CFGV_NUM, 1, 1000, 0),
	NUMK(S_BACKEND, "max_idle", backend.max_idle, CFGV_NUM, 0, 65535, 0),

	SRVK("address", set_endpoint, addr, 0, 0, true),
	SRVK("weight", set_num, weight, 1, 256, false),

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

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct ctx {
	struct config *cfg;
	const char *path;
	FILE *fp;
	char *buf;                  /* getline() buffer */
	size_t cap;
	int lineno;
	enum sect sect;             /* the section being read */
	size_t srv;                 /* index of the current [server] */
	size_t srv_cap;
	int sect_line[S_COUNT];     /* header line of each section seen */
	int key_line[NKEYS];        /* line of each key seen (per [server]) */
	char *err;
	size_t errlen;
	int err_line;
	bool failed;
};

/* Record the first error as "PATH:LINE: reason"; later ones are ignored
 * because they are usually consequences of the first.  Returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return -1;
	c->failed = true;
	c->err_line = line;
	if (!c->err || c->errlen == 0)
		return -1;
	n = snprintf(c->err, c->errlen, "%s:%d: ", c->path, line);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void *field(struct ctx *c, const struct key_def *k)
{
	char *base = k->sect == S_SERVER ? (char *)&c->cfg->servers[c->srv] : (char *)c->cfg;

	return base + k->off;
}

static int bad_number(struct ctx *c, const struct key_def *k, const char *v, int r)
{
	char max[32];

	cfgv_format(k->kind, k->max, max, sizeof(max));
	if (r == -ERANGE)
		return fail(c, c->lineno, "%s: \"%s\" is too large (at most %s)", k->name, v, max);
	if (k->kind == CFGV_DUR && cfgv_all_digits(v))
		return fail(c, c->lineno, "%s: \"%s\" needs a unit (ms, s, m, h)", k->name, v);
	if (k->kind == CFGV_DUR)
		return fail(c, c->lineno, "%s: \"%s\" is not a duration (a whole number and a unit: "
			    "500ms, 2s, 1m, 1h)", k->name, v);
	if (k->kind == CFGV_SIZE)
		return fail(c, c->lineno, "%s: \"%s\" is not a size (bytes, or a whole number "
			    "with k, M or G)", k->name, v);
	return fail(c, c->lineno, "%s: \"%s\" is not a whole number", k->name, v);
}

static void store_uint(void *f, size_t size, uint64_t n)
{
	if (size == sizeof(uint16_t)) {
		uint16_t v = (uint16_t)n;
		memcpy(f, &v, sizeof(v));
	} else if (size == sizeof(uint32_t)) {
		uint32_t v = (uint32_t)n;
		memcpy(f, &v, sizeof(v));
	} else {
		memcpy(f, &n, sizeof(n));
	}
}

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are stored as uint32_t");

static int set_num(struct ctx *c, const struct key_def *k, const char *v)
{
	char lo[32], hi[32], step[32];
	uint64_t n;
	int r;

	r = k->kind == CFGV_DUR ? config_parse_duration(v, &n)
	    : k->kind == CFGV_SIZE ? config_parse_size(v, &n) : cfgv_parse_uint(v, &n);
	if (r < 0)
		return bad_number(c, k, v, r);
	cfgv_format(k->kind, k->min, lo, sizeof(lo));
	cfgv_format(k->kind, k->max, hi, sizeof(hi));
	if (n < k->min || n > k->max)
		return fail(c, c->lineno, "%s: \"%s\" is out of range (%s..%s)", k->name, v, lo, hi);
	cfgv_format(k->kind, k->step, step, sizeof(step));
	if (k->step && n % k->step != 0)
		return fail(c, c->lineno, "%s: \"%s\" is not a multiple of %s", k->name, v, step);
	store_uint(field(c, k), k->size, n);
	return 0;
}

/* RFC 5798 5.2.4: 255 belongs to the address owner and 0 means "master
 * is leaving"; neither may be configured on a balancer. */
static int set_priority(struct ctx *c, const struct key_def *k, const char *v)
{
	if (strcmp(v, "255") == 0)
		return fail(c, c->lineno, "%s: \"%s\" is reserved for the address owner "
			    "(RFC 5798 5.2.4); use 1..254", k->name, v);
	if (strcmp(v, "0") == 0)
		return fail(c, c->lineno, "%s: \"%s\" is reserved for a master that is leaving "
			    "(RFC 5798 5.2.4); use 1..254", k->name, v);
	return set_num(c, k, v);
}

static int set_bool(struct ctx *c, const struct key_def *k, const char *v)
{
	if (config_parse_bool(v, field(c, k)) < 0)
		return fail(c, c->lineno, "%s: \"%s\" is not a boolean (yes/no, true/false, "
			    "on/off, 1/0)", k->name, v);
	return 0;
}

static int check_text(struct ctx *c, const struct key_def *k, const char *v)
{
	if (strlen(v) < k->min)
		return fail(c, c->lineno, "%s: must not be empty", k->name);
	if (strlen(v) >= k->size)
		return fail(c, c->lineno, "%s: \"%s\" is too long (at most %zu characters)",
			    k->name, v, k->size - 1);
	for (const char *p = v; *p; p++)
		if (iscntrl((unsigned char)*p))
			return fail(c, c->lineno, "%s: \"%s\" contains a control character",
				    k->name, v);
	return 0;
}

static int set_str(struct ctx *c, const struct key_def *k, const char *v)
{
	if (check_text(c, k, v) < 0)
		return -1;
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

static int set_name(struct ctx *c, const struct key_def *k, const char *v)
{
	if (!cfgv_valid_name(v))
		return fail(c, c->lineno, "%s: \"%s\" is not a name (1..%d letters, digits, "
			    "'.', '_' or '-')", k->name, v, CFG_NAME_MAX - 1);
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

/* Only the length and the characters the kernel refuses (dev_valid_name):
 * the interface may not exist yet when the file is checked. */
static int set_ifname(struct ctx *c, const struct key_def *k, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE)
		return fail(c, c->lineno, "%s: \"%s\" is not an interface name (1..%d characters)",
			    k->name, v, IF_NAMESIZE - 1);
	if (strpbrk(v, "/: \t") || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return fail(c, c->lineno, "%s: \"%s\" is not an interface name (no '/', ':' or "
			    "blanks)", k->name, v);
	memcpy(field(c, k), v, n + 1);
	return 0;
}

/* The health check's request target (RFC 9110 7.1, origin-form). */
static int set_http_path(struct ctx *c, const struct key_def *k, const char *v)
{
	if (*v && *v != '/')
		return fail(c, c->lineno, "%s: \"%s\" must be a path starting with '/' (or empty "
			    "for a TCP connect check)", k->name, v);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return fail(c, c->lineno, "%s: \"%s\" must be printable ASCII without "
				    "blanks (percent-encode the rest)", k->name, v);
	return set_str(c, k, v);
}

static int set_endpoint(struct ctx *c, const struct key_def *k, const char *v)
{
	struct cfg_endpoint ep;

	if (config_parse_endpoint(v, &ep) < 0)
		return fail(c, c->lineno, "%s: \"%s\" is not an IPv4 address:port with port "
			    "1..65535 (e.g. 198.18.0.10:80)", k->name, v);
	if (k->sect == S_SERVER && ep.sin.sin_addr.s_addr == htonl(INADDR_ANY))
		return fail(c, c->lineno, "%s: \"%s\": 0.0.0.0 is not a server address",
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
		return fail(c, c->lineno, "%s: \"%s\" is not a mode (http or tcp)", k->name, v);
	return 0;
}

static int set_log_level(struct ctx *c, const struct key_def *k, const char *v)
{
	static const struct { const char *name; enum log_level lvl; } levels[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN }, { "warn", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(v, levels[i].name) == 0) {
			c->cfg->node.log_level = (int)levels[i].lvl;
			return 0;
		}
	}
	return fail(c, c->lineno, "%s: \"%s\" is not a level (error, warning, info, debug)",
		    k->name, v);
}

static int set_vips(struct ctx *c, const struct key_def *k, const char *v)
{
	struct cfg_vip *vips = c->cfg->ha.vips;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_VIPS)
			return fail(c, c->lineno, "%s: more than %d addresses", k->name, CFG_MAX_VIPS);
		if (cfgv_parse_vip(tok, &vips[n]) < 0)
			return fail(c, c->lineno, "%s: \"%s\" is not an IPv4 address/prefix length "
				    "with length 1..32 (e.g. 198.18.0.10/24)", k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (vips[i].addr.s_addr == vips[n].addr.s_addr)
				return fail(c, c->lineno, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	if (n == 0)
		return fail(c, c->lineno, "%s: must list at least one address", k->name);
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
			return fail(c, c->lineno, "%s: more than %d addresses", k->name, CFG_MAX_PEERS);
		if (inet_pton(AF_INET, tok, &peers[n]) != 1 || peers[n].s_addr == htonl(INADDR_ANY))
			return fail(c, c->lineno, "%s: \"%s\" is not an IPv4 address", k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (peers[i].s_addr == peers[n].s_addr)
				return fail(c, c->lineno, "%s: \"%s\" is listed twice", k->name, tok);
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
		return fail(c, c->lineno, "unknown key \"%s\" in [server %s]%s", name,
			    c->cfg->servers[c->srv].name, hint);
	return fail(c, c->lineno, "unknown key \"%s\" in [%s]%s", name, sect_names[c->sect], hint);
}

static int key_seen(struct ctx *c, const char *sect_name, const char *name)
{
	int first = c->key_line[key_find(c->sect, name) - keys];

	if (c->sect == S_SERVER)
		return fail(c, c->lineno, "duplicate key \"%s\" in [server %s] (first at line %d)",
			    name, c->cfg->servers[c->srv].name, first);
	return fail(c, c->lineno, "duplicate key \"%s\" in [%s] (first at line %d)", name,
		    sect_name, first);
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *c = user;
	const struct key_def *k;

	(void)section; /* inih's copy is truncated to 50 bytes; see section_begin() */
	if (c->failed)
		return 0;
	if (c->sect == S_NONE)
		return fail(c, c->lineno, "key \"%s\" is outside any section", name), 0;
	k = key_find(c->sect, name);
	if (!k)
		return unknown_key(c, name), 0;
	if (c->key_line[k - keys])
		return key_seen(c, sect_names[c->sect], name), 0;
	c->key_line[k - keys] = c->lineno;
	return k->set(c, k, value) == 0;
}

static int server_begin(struct ctx *c, const char *name)
{
	struct config *cfg = c->cfg;
	struct cfg_server *srv;

	if (!*name)
		return fail(c, c->lineno, "[server] needs a name, e.g. [server web1]");
	if (!cfgv_valid_name(name))
		return fail(c, c->lineno, "[server %s]: a server name is 1..%d letters, digits, "
			    "'.', '_' or '-'", name, CFG_NAME_MAX - 1);
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0)
			return fail(c, c->lineno, "[server %s]: duplicate server name (first at "
				    "line %d)", name, cfg->servers[i].line);
	if (cfg->nservers == c->srv_cap) {
		size_t ncap = c->srv_cap ? 2 * c->srv_cap : 8;

		srv = reallocarray(cfg->servers, ncap, sizeof(*srv));
		if (!srv)
			return fail(c, c->lineno, "[server %s]: out of memory", name);
		cfg->servers = srv;
		c->srv_cap = ncap;
	}
	srv = &cfg->servers[cfg->nservers];
	memset(srv, 0, sizeof(*srv));
	memcpy(srv->name, name, strlen(name) + 1);
	srv->weight = 1;
	srv->line = c->lineno;
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
		return fail(c, c->lineno, "unknown section [%s] (expected node, frontend, backend, "
			    "server NAME, ha or registration)", type);
	c->sect = s;
	if (s == S_SERVER) {
		if (!c->sect_line[s])
			c->sect_line[s] = c->lineno;
		return server_begin(c, name);
	}
	if (*name)
		return fail(c, c->lineno, "section [%s] takes no name (got \"%s\")", type, name);
	if (c->sect_line[s])
		return fail(c, c->lineno, "section [%s] appears twice (first at line %d)", type,
			    c->sect_line[s]);
	c->sect_line[s] = c->lineno;
	if (s == S_HA)
		c->cfg->ha.enabled = true;
	return 0;
}

/* "[type]" or "[type name]", blanks allowed inside, a ';' comment after. */
static int section_begin(struct ctx *c, const char *line)
{
	const char *end = strchr(line, ']'), *rest;
	char inner[128], *name;
	size_t n;

	if (!end)
		return fail(c, c->lineno, "section header without closing ']'");
	rest = end + 1 + strspn(end + 1, " \t");
	if (*rest && *rest != ';')
		return fail(c, c->lineno, "unexpected text after section header: \"%s\"", rest);
	line++;
	line += strspn(line, " \t");
	n = (size_t)(end - line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n >= sizeof(inner))
		return fail(c, c->lineno, "section header is too long");
	memcpy(inner, line, n);
	inner[n] = '\0';
	name = inner + strcspn(inner, " \t");
	if (*name)
		*name++ = '\0';
	name += strspn(name, " \t");
	return section_open(c, inner, name);
}

/* Refuse what inih would misread: it splits on the first '=' or ':' and
 * treats " ;" as the start of a comment. */
static int line_check(struct ctx *c, const char *p)
{
	const char *q;

	if (*p == '\0' || *p == ';' || *p == '#')
		return 0;
	if (*p == '[')
		return section_begin(c, p);
	for (q = p; *q && *q != '='; q++)
		if (*q == ':' || (*q == ';' && q > p && isspace((unsigned char)q[-1])))
			break;
	if (*q != '=')
		return fail(c, c->lineno, "expected \"key = value\" or \"[section]\", got \"%s\"", p);
	if (q == p)
		return fail(c, c->lineno, "missing key name before '='");
	return 0;
}

static char *cfg_reader(char *str, int num, void *stream)
{
	struct ctx *c = stream;
	ssize_t n;
	char *p;

	if (c->failed)
		return NULL; /* stop inih at the first error */
	errno = 0;
	n = getline(&c->buf, &c->cap, c->fp);
	if (n < 0) {
		if (ferror(c->fp))
			fail(c, c->lineno + 1, "read error: %s", strerror(errno ? errno : EIO));
		return NULL;
	}
	c->lineno++;
	if ((size_t)n != strlen(c->buf))
		return fail(c, c->lineno, "line contains a NUL byte"), NULL;
	while (n && (c->buf[n - 1] == '\n' || c->buf[n - 1] == '\r'))
		c->buf[--n] = '\0';
	p = c->buf;
	if (c->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* UTF-8 byte order mark from some editors */
	p += strspn(p, " \t");
	if (strlen(p) + 2 > (size_t)num)
		return fail(c, c->lineno, "line is too long (at most %d characters)", num - 2), NULL;
	if (line_check(c, p) < 0)
		return NULL;
	memcpy(str, p, strlen(p) + 1);
	return str;
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

static void parse(struct ctx *c)
{
	int r = ini_parse_stream(cfg_reader, c, cfg_handler, c);

	/* inih reports the first line it could not parse or whose handler
	 * failed.  Our own errors stop the reader, so a smaller line number
	 * from inih is a syntax error that line_check() did not foresee. */
	if (r > 0 && (!c->failed || r < c->err_line)) {
		c->failed = false;
		fail(c, r, "syntax error");
	} else if (r < 0 && !c->failed) {
		fail(c, 0, "inih could not parse the file (%d)", r);
	}
	if (!c->failed)
		check_required(c);
	if (!c->failed)
		check_cross(c);
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct ctx c = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	config_defaults(cfg);
	if (strlen(path) >= sizeof(cfg->path))
		return fail(&c, 0, "path is too long");
	memcpy(cfg->path, path, strlen(path) + 1);
	c.fp = fopen(path, "re");
	if (!c.fp)
		return fail(&c, 0, "cannot open: %s", strerror(errno));
	parse(&c);
	free(c.buf);
	fclose(c.fp);
	if (c.failed) {
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
