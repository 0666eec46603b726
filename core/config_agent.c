/* config_agent.c - andromeda-agent's configuration loader.  inih reads the
 * INI syntax; this file owns what each [agent] key means.
 *
 * As in config.c (whose reasons are explained there), inih reads through
 * our own line reader: it counts lines for "FILE:LINE: reason", strips
 * leading blanks so an indented key is never an inih continuation line,
 * parses section headers itself, and refuses lines inih would misread
 * ("key value", "key: value", NUL bytes, over-long lines).  The values go
 * through the daemon's parsers (config_value.h), so "2s", "a.b.c.d:port"
 * and names mean the same in both files. */
#include "config_agent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_value.h"
#include "log.h"
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
	ANUM("health_timeout", health_timeout_ms, CFGV_DUR, 10, 60 * CFGV_SEC),
	AKEY("interface", set_ifname, interface, false),
	ANUM("announce_interval", announce_interval_ms, CFGV_DUR, REGMSG_INTERVAL_MIN_MS,
	     REGMSG_INTERVAL_MAX_MS),
	AKEY("key_file", set_str, key_file, true),
	AKEY("balancers", set_balancers, balancers, false),
	ANUM("port", port, CFGV_NUM, 1, 65535),
	AKEY("log_level", set_log_level, log_level, false),
};

#define NAKEYS (sizeof(akeys) / sizeof(akeys[0]))

struct actx {
	struct agent_config *cfg;
	const char *path;
	FILE *fp;
	char *buf;           /* getline() buffer */
	size_t cap;
	int lineno;
	int sect_line;       /* line of [agent], 0 while outside it */
	int key_line[NAKEYS];
	char *err;
	size_t errlen;
	int err_line;
	bool failed;
};

/* Record the first error as "PATH:LINE: reason".  Returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct actx *c, int line, const char *fmt, ...)
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

static void *field(struct actx *c, const struct akey *k) { return (char *)c->cfg + k->off; }

static int bad_number(struct actx *c, const struct akey *k, const char *v, int r)
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
	return fail(c, c->lineno, "%s: \"%s\" is not a whole number", k->name, v);
}

static int set_num(struct actx *c, const struct akey *k, const char *v)
{
	char lo[32], hi[32];
	uint64_t n;
	int r;

	r = k->kind == CFGV_DUR ? config_parse_duration(v, &n) : cfgv_parse_uint(v, &n);
	if (r < 0)
		return bad_number(c, k, v, r);
	cfgv_format(k->kind, k->min, lo, sizeof(lo));
	cfgv_format(k->kind, k->max, hi, sizeof(hi));
	if (n < k->min || n > k->max)
		return fail(c, c->lineno, "%s: \"%s\" is out of range (%s..%s)", k->name, v, lo, hi);
	if (k->size == sizeof(uint16_t)) {
		uint16_t s = (uint16_t)n;
		memcpy(field(c, k), &s, sizeof(s));
	} else {
		uint32_t l = (uint32_t)n;
		memcpy(field(c, k), &l, sizeof(l));
	}
	return 0;
}

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are stored as uint32_t");

static int set_str(struct actx *c, const struct akey *k, const char *v)
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
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

static int set_name(struct actx *c, const struct akey *k, const char *v)
{
	if (!cfgv_valid_name(v))
		return fail(c, c->lineno, "%s: \"%s\" is not a name (1..%d letters, digits, "
			    "'.', '_' or '-')", k->name, v, CFG_NAME_MAX - 1);
	memcpy(field(c, k), v, strlen(v) + 1);
	return 0;
}

/* The balancers connect to this address: it must be one they can reach. */
static int set_service(struct actx *c, const struct akey *k, const char *v)
{
	struct cfg_endpoint ep;

	if (config_parse_endpoint(v, &ep) < 0)
		return fail(c, c->lineno, "%s: \"%s\" is not an IPv4 address:port with port "
			    "1..65535 (e.g. 198.18.0.21:80)", k->name, v);
	if (!regmsg_addr_ok(ep.sin.sin_addr.s_addr))
		return fail(c, c->lineno, "%s: \"%s\" is not an address the balancers can reach "
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
		return fail(c, c->lineno, "%s: \"%s\" must start with http:// or https://",
			    k->name, v);
	if (!v[skip] || v[skip] == '/')
		return fail(c, c->lineno, "%s: \"%s\" has no host", k->name, v);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return fail(c, c->lineno, "%s: \"%s\" must be printable ASCII without "
				    "blanks (percent-encode the rest)", k->name, v);
	return set_str(c, k, v);
}

/* Only what the kernel refuses (dev_valid_name): the interface may not
 * exist yet when the file is checked. */
static int set_ifname(struct actx *c, const struct akey *k, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE || strpbrk(v, "/: \t") || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return fail(c, c->lineno, "%s: \"%s\" is not an interface name (1..%d characters, "
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
			return fail(c, c->lineno, "%s: more than %d addresses", k->name,
				    AGENT_MAX_BALANCERS);
		if (inet_pton(AF_INET, tok, &b[n]) != 1 || !regmsg_addr_ok(b[n].s_addr))
			return fail(c, c->lineno, "%s: \"%s\" is not a unicast IPv4 address",
				    k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (b[i].s_addr == b[n].s_addr)
				return fail(c, c->lineno, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	c->cfg->nbalancers = n;
	return 0;
}

static int set_log_level(struct actx *c, const struct akey *k, const char *v)
{
	static const struct { const char *name; enum log_level lvl; } levels[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN }, { "warn", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(v, levels[i].name) == 0) {
			c->cfg->log_level = (int)levels[i].lvl;
			return 0;
		}
	}
	return fail(c, c->lineno, "%s: \"%s\" is not a level (error, warning, info, debug)",
		    k->name, v);
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
		return fail(c, c->lineno, "unknown key \"%s\" in [agent] (did you mean %s?)", name,
			    best->name);
	return fail(c, c->lineno, "unknown key \"%s\" in [agent]", name);
}

static int agent_handler(void *user, const char *section, const char *name, const char *value)
{
	struct actx *c = user;
	const struct akey *k;

	(void)section; /* section_begin() has seen the header already */
	if (c->failed)
		return 0;
	if (!c->sect_line)
		return fail(c, c->lineno, "key \"%s\" is outside the [agent] section", name), 0;
	k = akey_find(name);
	if (!k)
		return unknown_key(c, name), 0;
	if (c->key_line[k - akeys])
		return fail(c, c->lineno, "duplicate key \"%s\" in [agent] (first at line %d)", name,
			    c->key_line[k - akeys]), 0;
	c->key_line[k - akeys] = c->lineno;
	return k->set(c, k, value) == 0;
}

/* "[agent]", blanks allowed inside, a ';' comment after. */
static int section_begin(struct actx *c, const char *line)
{
	const char *end = strchr(line, ']'), *rest;
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
	if (n != 5 || strncmp(line, "agent", 5) != 0)
		return fail(c, c->lineno, "unknown section [%.*s] (the agent reads only [agent])",
			    (int)(n > 64 ? 64 : n), line);
	if (c->sect_line)
		return fail(c, c->lineno, "section [agent] appears twice (first at line %d)",
			    c->sect_line);
	c->sect_line = c->lineno;
	return 0;
}

/* Refuse what inih would misread (see config.c line_check). */
static int line_check(struct actx *c, const char *p)
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

static char *agent_reader(char *str, int num, void *stream)
{
	struct actx *c = stream;
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
		p += 3; /* UTF-8 byte order mark */
	p += strspn(p, " \t");
	if (strlen(p) + 2 > (size_t)num)
		return fail(c, c->lineno, "line is too long (at most %d characters)", num - 2), NULL;
	if (line_check(c, p) < 0)
		return NULL;
	memcpy(str, p, strlen(p) + 1);
	return str;
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

static void parse(struct actx *c)
{
	int r = ini_parse_stream(agent_reader, c, agent_handler, c);

	/* As in config.c: a smaller line from inih is a syntax error our
	 * reader did not foresee. */
	if (r > 0 && (!c->failed || r < c->err_line)) {
		c->failed = false;
		fail(c, r, "syntax error");
	} else if (r < 0 && !c->failed) {
		fail(c, 0, "inih could not parse the file (%d)", r);
	}
	if (!c->failed && !c->sect_line)
		fail(c, 0, "no [agent] section");
	if (!c->failed)
		check_cross(c);
}

static void agent_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->weight = 1;
	cfg->health_timeout_ms = 1 * CFGV_SEC;
	cfg->announce_interval_ms = 2 * CFGV_SEC;
	cfg->port = REGMSG_DEFAULT_PORT;
	cfg->log_level = LOG_LVL_INFO;
}

int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	struct actx c = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	agent_defaults(cfg);
	if (strlen(path) >= sizeof(cfg->path))
		return fail(&c, 0, "path is too long");
	memcpy(cfg->path, path, strlen(path) + 1);
	c.fp = fopen(path, "re");
	if (!c.fp)
		return fail(&c, 0, "cannot open: %s", strerror(errno));
	parse(&c);
	free(c.buf);
	fclose(c.fp);
	return c.failed ? -1 : 0;
}
