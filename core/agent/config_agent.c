/* config_agent.c - andromeda-agent's configuration loader.  inih reads the
 * INI syntax; this file owns what each [agent] key means.
 *
 * As in config.c, inih reads through the shared line reader
 * (config_file.h): it counts lines for "FILE:LINE: reason", strips
 * leading blanks so an indented key is never an inih continuation line,
 * hands section headers to section_begin() here, and refuses lines inih
 * would misread ("key value", "key: value", NUL bytes, over-long lines).
 * The keys are a table read through the engine both loaders share
 * (config_key.h), and the values go through the daemon's parsers and
 * checks (config_value.h, config_file.h), so "2s", "a.b.c.d:port" and
 * names mean the same, with the same errors, in both files. */
#include "config_agent.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_key.h"
#include "config_value.h"
#include "log.h"
#include "macros.h"
#include "regmsg.h"

enum {
	S_AGENT = 1
};
static const char *const sect_names[] = { "", "agent" };

static int set_service(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_url(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_ifname(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_balancers(struct cfgk *e, const struct cfg_key *k, const char *v);

#define AFLD(fld) offsetof(struct agent_config, fld), sizeof(((struct agent_config *)0)->fld)
/* AKEY: any setter, strings at least 1 byte; ANUM: an optional number. */
#define AKEY(key, fn, fld, req)                                     \
	{                                                           \
		key, S_AGENT, fn, AFLD(fld), CFGV_NUM, 1, 0, 0, req \
	}
#define ANUM(key, fld, kind, lo, hi)                                          \
	{                                                                     \
		key, S_AGENT, cfgk_set_num, AFLD(fld), kind, lo, hi, 0, false \
	}

/* Every key there is; docs/agent.md documents them. */
static const struct cfg_key akeys[] = {
	AKEY("name", cfgk_set_name, name, true),
	AKEY("service", set_service, service, true),
	ANUM("weight", weight, CFGV_NUM, REGMSG_WEIGHT_MIN, REGMSG_WEIGHT_MAX),
	AKEY("health_url", set_url, health_url, false),
	AKEY("health_host", cfgk_set_host, health_host, false),
	ANUM("health_timeout", health_timeout_ms, CFGV_DUR, 10, 60 * CFGV_SEC),
	AKEY("interface", set_ifname, interface, false),
	ANUM("announce_interval", announce_interval_ms, CFGV_DUR, REGMSG_INTERVAL_MIN_MS,
	     REGMSG_INTERVAL_MAX_MS),
	AKEY("key_file", cfgk_set_str, key_file, true),
	AKEY("state_file", cfgk_set_str, state_file, false),
	AKEY("balancers", set_balancers, balancers, false),
	ANUM("port", port, CFGV_NUM, 1, 65535),
	AKEY("log_level", cfgk_set_log_level, log_level, false),
};

_Static_assert(ARRAY_SIZE(akeys) <= CFGK_MAX_KEYS, "the engine's key_line[] holds every key");

/* The balancers connect to this address: it must be one they can reach. */
static int set_service(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct cfg_endpoint ep;

	if (config_parse_endpoint(v, &ep) < 0)
		return cfgk_fail(e,
				 "%s: \"%s\" is not an IPv4 address:port or [IPv6]:port with port "
				 "1..65535 (e.g. 198.18.0.21:80 or [2001:db8:18::21]:80)",
				 k->name, v);
	if (ep.sa.sa_family == AF_INET6 ? !regmsg_addr6_ok(ep.sin6.sin6_addr.s6_addr)
					: !regmsg_addr_ok(ep.sin.sin_addr.s_addr))
		return cfgk_fail(e,
				 "%s: \"%s\" is not an address the balancers can reach "
				 "(not 0.x, 127.x, multicast or broadcast; for IPv6 not ::, ::1, "
				 "link-local, multicast or v4-mapped)",
				 k->name, v);
	memcpy(cfgk_field(e, k), &ep, sizeof(ep));
	return 0;
}

/* http:// or https:// and a host; printable ASCII without blanks
 * (RFC 3986 section 2: anything else is percent-encoded). */
static int set_url(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	size_t skip = strncasecmp(v, "http://", 7) == 0    ? 7
		      : strncasecmp(v, "https://", 8) == 0 ? 8
							   : 0;

	if (!skip)
		return cfgk_fail(e, "%s: \"%s\" must start with http:// or https://", k->name, v);
	if (!v[skip] || v[skip] == '/')
		return cfgk_fail(e, "%s: \"%s\" has no host", k->name, v);
	if (cfgf_printable(&e->f, k->name, v) < 0)
		return -1;
	return cfgk_set_str(e, k, v);
}

/* Only what the kernel refuses (dev_valid_name): the interface may not
 * exist yet when the file is checked. */
static int set_ifname(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE || strpbrk(v, "/: \t") || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return cfgk_fail(e,
				 "%s: \"%s\" is not an interface name (1..%d characters, "
				 "no '/', ':' or blanks)",
				 k->name, v, IF_NAMESIZE - 1);
	memcpy(cfgk_field(e, k), v, n + 1);
	return 0;
}

static int set_balancers(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct agent_config *cfg = e->user;
	struct in_addr *b = cfg->balancers;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == AGENT_MAX_BALANCERS)
			return cfgk_fail(e, "%s: more than %d addresses", k->name,
					 AGENT_MAX_BALANCERS);
		if (inet_pton(AF_INET, tok, &b[n]) != 1 || !regmsg_addr_ok(b[n].s_addr))
			return cfgk_fail(e, "%s: \"%s\" is not a unicast IPv4 address", k->name,
					 tok);
		for (size_t i = 0; i < n; i++)
			if (b[i].s_addr == b[n].s_addr)
				return cfgk_fail(e, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	cfg->nbalancers = n;
	return 0;
}

/* "[agent]", blanks allowed inside, a ';' comment after. */
static int section_begin(void *user, const char *line)
{
	struct cfgk *e = user;
	size_t n;

	if (cfgf_header(&e->f, line, &line, &n) < 0)
		return -1;
	if (n != 5 || strncmp(line, "agent", 5) != 0)
		return cfgk_fail(e, "unknown section [%.*s] (the agent reads only [agent])",
				 (int)(n > 64 ? 64 : n), line);
	if (e->sect_line[S_AGENT])
		return cfgk_fail(e, "section [agent] appears twice (first at line %d)",
				 e->sect_line[S_AGENT]);
	cfgk_enter(e, S_AGENT, e->user, NULL);
	return 0;
}

/* Rules between keys and the defaults that depend on other keys. */
static int check_cross(struct cfgk *e)
{
	struct agent_config *cfg = e->user;
	int agent = e->sect_line[S_AGENT], timeout = cfgk_line(e, S_AGENT, "health_timeout");
	char t[32], i[32];

	if (cfgk_required(e, 1u << S_AGENT) < 0)
		return -1;
	if (!cfg->interface[0] && cfg->nbalancers == 0)
		return cfgf_fail(&e->f, agent,
				 "[agent] needs interface (announce on its LAN "
				 "broadcast address) or balancers (unicast), or both");
	if (!cfg->health_url[0])
		snprintf(cfg->health_url, sizeof(cfg->health_url), "http://%s/",
			 cfg->service.text);
	/* A check must end before the next announcement is due; an unset
	 * timeout follows a short interval instead of failing. */
	if (!timeout && cfg->health_timeout_ms > cfg->announce_interval_ms / 2)
		cfg->health_timeout_ms = cfg->announce_interval_ms / 2;
	if (cfg->health_timeout_ms >= cfg->announce_interval_ms) {
		cfgv_format(CFGV_DUR, cfg->health_timeout_ms, t, sizeof(t));
		cfgv_format(CFGV_DUR, cfg->announce_interval_ms, i, sizeof(i));
		return cfgf_fail(&e->f, timeout,
				 "health_timeout: %s must be shorter than "
				 "announce_interval (%s)",
				 t, i);
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
	struct cfgk e = {
		.f = { .path = path, .err = err, .errlen = errlen, .section = section_begin },
		.keys = akeys,
		.nkeys = ARRAY_SIZE(akeys),
		.sect_names = sect_names,
		.outside = "the [agent] section",
		.user = cfg,
	};

	if (err && errlen)
		err[0] = '\0';
	agent_defaults(cfg);
	if (cfgk_read(&e, cfg->path, sizeof(cfg->path)) < 0)
		return -1;
	if (!e.sect_line[S_AGENT])
		return cfgf_fail(&e.f, 0, "no [agent] section");
	return check_cross(&e);
}
