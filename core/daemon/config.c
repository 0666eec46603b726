/* config.c - the configuration loader.  inih reads the INI syntax; this file
 * owns what every key means and checks every value.
 *
 * inih reads the file through the line reader in config_file.c, which
 * counts lines for "FILE:LINE: reason", strips leading blanks and refuses
 * lines inih would misread (see config_file.h).  It hands section headers
 * to section_begin() here, so an empty [ha] is still validated, [server
 * NAME] gets its own state even when two names collide, and section names
 * are not truncated to inih's 50 bytes.  The keys are a table read through
 * the engine both loaders share (config_key.h). */
#include "config_load.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_hooks.h"
#include "config_key.h"
#include "config_value.h"
#include "config_vrrp.h"
#include "control_proto.h"
#include "log.h"
#include "macros.h"
#include "netaddr.h"

enum sect {
	S_NONE,
	S_NODE,
	S_FRONTEND,
	S_BACKEND,
	S_SERVER,
	S_HA,
	S_REG,
	S_STATS,
	S_TRACK,
	S_VRRP,
	S_COUNT
};

static const char *const sect_names[S_COUNT] = {
	"",   "node",         "frontend", "backend", "server",
	"ha", "registration", "stats",    "track",   "vrrp",
};

static int set_priority(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_ifname(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_http_path(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_endpoint(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_server_address(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_mode(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_balance(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_listen(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_certs(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_access_log(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_vips(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_peers(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_sni(struct cfgk *e, const struct cfg_key *k, const char *v);
static int set_track_ifs(struct cfgk *e, const struct cfg_key *k, const char *v);

#define FSIZE(type, fld) sizeof(((type *)0)->fld)
/* KEY: any setter (numbers with it are plain whole numbers); NUMK: a
 * number of the given kind, optional, with a step; SRVK: a [server] key. */
#define KEY(sec, key, fn, fld, lo, hi, req)                                                      \
	{                                                                                        \
		key, sec, fn, offsetof(struct config, fld), FSIZE(struct config, fld), CFGV_NUM, \
			lo, hi, 0, req                                                           \
	}
#define NUMK(sec, key, fld, kind, lo, hi, st)                                                    \
	{                                                                                        \
		key, sec, cfgk_set_num, offsetof(struct config, fld), FSIZE(struct config, fld), \
			kind, lo, hi, st, false                                                  \
	}
#define SRVK(key, fn, fld, lo, hi, req)                                         \
	{                                                                       \
		key, S_SERVER, fn, offsetof(struct cfg_server, fld),            \
			FSIZE(struct cfg_server, fld), CFGV_NUM, lo, hi, 0, req \
	}

/* TRKK: a [track NAME] key. */
#define TRKK(key, fn, kind, fld, lo, hi)                                                         \
	{                                                                                        \
		key, S_TRACK, fn, offsetof(struct cfg_track, fld), FSIZE(struct cfg_track, fld), \
			kind, lo, hi, 0, false                                                   \
	}

/* VRPK: a [vrrp NAME] key. */
#define VRPK(key, fn, kind, fld, lo, hi, st)                                                  \
	{                                                                                     \
		key, S_VRRP, fn, offsetof(struct cfg_vrrp, fld), FSIZE(struct cfg_vrrp, fld), \
			kind, lo, hi, st, false                                               \
	}

#define SEC  CFGV_SEC
#define HOUR CFGV_HOUR

/* Every key there is.  Ranges are documented in docs/configuration.md. */
static const struct cfg_key keys[] = {
	KEY(S_NODE, "name", cfgk_set_name, node.name, 0, 0, false),
	KEY(S_NODE, "state_dir", cfgk_set_str, node.state_dir, 1, 0, false),
	KEY(S_NODE, "control_socket", cfgk_set_str, node.control_socket, 1, 0, false),
	KEY(S_NODE, "user", cfgk_set_str, node.user, 0, 0, false),
	KEY(S_NODE, "log_level", cfgk_set_log_level, node.log_level, 0, 0, false),

	/* listen or tls_listen is required (check_required). */
	KEY(S_FRONTEND, "listen", set_listen, frontend.listen, 0, 0, false),
	KEY(S_FRONTEND, "tls_listen", set_listen, frontend.listen, 1, 0, false),
	KEY(S_FRONTEND, "tls_cert", set_certs, frontend.tls_cert, 0, 0, false),
	NUMK(S_FRONTEND, "tls_handshake_timeout", frontend.tls_handshake_timeout_ms, CFGV_DUR, 1,
	     HOUR, 0),
	KEY(S_FRONTEND, "mode", set_mode, frontend.mode, 0, 0, false),
	KEY(S_FRONTEND, "via", cfgk_set_bool, frontend.via, 0, 0, false),
	KEY(S_FRONTEND, "xff", cfgk_set_bool, frontend.xff, 0, 0, false),
	NUMK(S_FRONTEND, "maxconn", frontend.maxconn, CFGV_NUM, 1, 1000000, 0),
	NUMK(S_FRONTEND, "header_timeout", frontend.header_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_FRONTEND, "client_timeout", frontend.client_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_FRONTEND, "keepalive_timeout", frontend.keepalive_timeout_ms, CFGV_DUR, 1,
	     24 * HOUR, 0),
	NUMK(S_FRONTEND, "max_header_size", frontend.max_header_size, CFGV_SIZE, 1024, 65536, 0),
	NUMK(S_FRONTEND, "max_uri_size", frontend.max_uri_size, CFGV_SIZE, 64, 65536, 0),
	NUMK(S_FRONTEND, "max_body_size", frontend.max_body_size, CFGV_SIZE, 0, UINT64_MAX, 0),
	NUMK(S_FRONTEND, "grace", frontend.grace_ms, CFGV_DUR, 0, HOUR, 0),
	NUMK(S_FRONTEND, "threads", frontend.threads, CFGV_NUM, 1, CFG_MAX_THREADS, 0),
	KEY(S_FRONTEND, "access_log", set_access_log, frontend.access_log, 0, 0, false),

	NUMK(S_BACKEND, "maxconn", backend.maxconn, CFGV_NUM, 1, 65535, 0),
	NUMK(S_BACKEND, "queue_timeout", backend.queue_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_BACKEND, "connect_timeout", backend.connect_timeout_ms, CFGV_DUR, 1, HOUR, 0),
	NUMK(S_BACKEND, "server_timeout", backend.server_timeout_ms, CFGV_DUR, 1, 24 * HOUR, 0),
	NUMK(S_BACKEND, "retries", backend.retries, CFGV_NUM, 0, 10, 0),
	KEY(S_BACKEND, "health_check", set_http_path, backend.health_check, 0, 0, false),
	KEY(S_BACKEND, "health_host", cfgk_set_host, backend.health_host, 0, 0, false),
	NUMK(S_BACKEND, "health_interval", backend.health_interval_ms, CFGV_DUR, 10, HOUR, 0),
	NUMK(S_BACKEND, "health_timeout", backend.health_timeout_ms, CFGV_DUR, 1, HOUR, 0),
	NUMK(S_BACKEND, "rise", backend.rise, CFGV_NUM, 1, 1000, 0),
	NUMK(S_BACKEND, "fall", backend.fall, CFGV_NUM, 1, 1000, 0),
	NUMK(S_BACKEND, "max_idle", backend.max_idle, CFGV_NUM, 0, 65535, 0),
	NUMK(S_BACKEND, "max_ejection_percent", backend.max_ejection_percent, CFGV_NUM, 0, 100, 0),
	NUMK(S_BACKEND, "panic_threshold", backend.panic_threshold, CFGV_NUM, 0, 100, 0),
	KEY(S_BACKEND, "balance", set_balance, backend.balance, 0, 0, false),
	NUMK(S_BACKEND, "resolve_interval", backend.resolve_interval_ms, CFGV_DUR, 100, 24 * HOUR,
	     0),

	SRVK("address", set_server_address, addr, 0, 0, true),
	SRVK("weight", cfgk_set_num, weight, 1, 256, false),
	SRVK("health_host", cfgk_set_host, health_host, 0, 0, false),
	SRVK("tls", cfgk_set_bool, tls, 0, 0, false),
	SRVK("tls_verify", cfgk_set_bool, tls_verify, 0, 0, false),
	SRVK("tls_ca", cfgk_set_str, tls_ca, 1, 0, false),
	SRVK("tls_sni", set_sni, tls_sni, 0, 0, false),

	KEY(S_HA, "interface", set_ifname, ha.interface, 0, 0, true),
	KEY(S_HA, "vrid", cfgk_set_num, ha.vrid, 1, 255, true),
	KEY(S_HA, "priority", set_priority, ha.priority, 1, 254, true),
	/* RFC 5798 5.2.7: Max Advertise Interval is 12 bits of centiseconds. */
	NUMK(S_HA, "advert_interval", ha.advert_interval_ms, CFGV_DUR, 10, 40950, 10),
	KEY(S_HA, "preempt", cfgk_set_bool, ha.preempt, 0, 0, false),
	NUMK(S_HA, "preempt_delay", ha.preempt_delay_ms, CFGV_DUR, 0, HOUR, 0),
	KEY(S_HA, "vip", set_vips, ha.vips, 0, 0, true),
	KEY(S_HA, "key_file", cfgk_set_str, ha.key_file, 1, 0, true),
	KEY(S_HA, "peers", set_peers, ha.peers, 0, 0, false),
	NUMK(S_HA, "garp_count", ha.garp_count, CFGV_NUM, 1, 100, 0),
	NUMK(S_HA, "garp_interval", ha.garp_interval_ms, CFGV_DUR, 1, 10 * SEC, 0),
	NUMK(S_HA, "garp_refresh", ha.garp_refresh_ms, CFGV_DUR, 0, HOUR, 0),
	KEY(S_HA, "checksum_rfc5798", cfgk_set_bool, ha.checksum_rfc5798, 0, 0, false),
	NUMK(S_HA, "sync_port", ha.sync_port, CFGV_NUM, 1, 65535, 0),
	NUMK(S_HA, "liveness_interval", ha.liveness_interval_ms, CFGV_DUR, 0, 10 * SEC, 0),
	KEY(S_HA, "interop", cfgk_set_bool, ha.interop, 0, 0, false),
	KEY(S_HA, "notify", cfgh_set_script_path, ha.notify, 0, 0, false),
	NUMK(S_HA, "notify_timeout", ha.notify_timeout_ms, CFGV_DUR, 10, HOUR, 0),
	KEY(S_HA, "track_interface", set_track_ifs, ha.track_if, 0, 0, false),

	/* Required ones are checked by cfgvr_check (one [vrrp] after another). */
	VRPK("vrid", cfgvr_set_key, CFGV_NUM, vrid, 1, 255, 0),
	VRPK("priority", set_priority, CFGV_NUM, priority, 1, 254, 0),
	VRPK("advert_interval", cfgvr_set_key, CFGV_DUR, advert_interval_ms, 10, 40950, 10),
	VRPK("preempt", cfgvr_set_key, CFGV_NUM, preempt, 0, 0, 0),
	VRPK("preempt_delay", cfgvr_set_key, CFGV_DUR, preempt_delay_ms, 0, HOUR, 0),
	VRPK("vip", set_vips, CFGV_NUM, vips, 0, 0, 0),

	TRKK("script", cfgh_set_script, CFGV_NUM, script, 0, 0),
	TRKK("interval", cfgk_set_num, CFGV_DUR, interval_ms, 10, HOUR),
	TRKK("timeout", cfgk_set_num, CFGV_DUR, timeout_ms, 10, HOUR),
	TRKK("weight", cfgh_set_weight, CFGV_NUM, weight, 0, 0),
	TRKK("fall", cfgk_set_num, CFGV_NUM, fall, 1, 1000),
	TRKK("rise", cfgk_set_num, CFGV_NUM, rise, 1, 1000),

	KEY(S_REG, "enabled", cfgk_set_bool, registration.enabled, 0, 0, false),
	NUMK(S_REG, "port", registration.port, CFGV_NUM, 1, 65535, 0),
	NUMK(S_REG, "expire", registration.expire_ms, CFGV_DUR, 100, 24 * HOUR, 0),
	KEY(S_REG, "key_file", cfgk_set_str, registration.key_file, 1, 0, false),

	KEY(S_STATS, "listen", set_endpoint, stats.listen, 0, 0, false),
	KEY(S_STATS, "auth_file", cfgk_set_str, stats.auth_file, 1, 0, false),
};

_Static_assert(ARRAY_SIZE(keys) <= CFGK_MAX_KEYS, "the engine's key_line[] holds every key");
_Static_assert(S_COUNT <= CFGK_MAX_SECTS, "the engine's sect_line[] holds every section");

struct ctx {
	struct cfgk e; /* the file and its keys */
	struct config *cfg;
	size_t srv_cap; /* servers allocated */
	/* listen and tls_listen, joined into frontend.listeners at the end
	 * (plain first, whatever the order in the file). */
	struct cfg_endpoint addrs[2][CFG_MAX_LISTEN];
	unsigned naddrs[2];
};

/* RFC 5798 5.2.4: 255 belongs to the address owner and 0 means "master
 * is leaving"; neither may be configured on a balancer. */
static int set_priority(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (strcmp(v, "255") == 0)
		return cfgk_fail(e,
				 "%s: \"%s\" is reserved for the address owner "
				 "(RFC 5798 5.2.4); use 1..254",
				 k->name, v);
	if (strcmp(v, "0") == 0)
		return cfgk_fail(e,
				 "%s: \"%s\" is reserved for a master that is leaving "
				 "(RFC 5798 5.2.4); use 1..254",
				 k->name, v);
	return cfgk_set_num(e, k, v);
}

/* Only the length and the characters the kernel refuses (dev_valid_name):
 * the interface may not exist yet when the file is checked. */
static int set_ifname(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE)
		return cfgk_fail(e, "%s: \"%s\" is not an interface name (1..%d characters)",
				 k->name, v, IF_NAMESIZE - 1);
	if (strpbrk(v, "/: \t") || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return cfgk_fail(e, "%s: \"%s\" is not an interface name (no '/', ':' or blanks)",
				 k->name, v);
	memcpy(cfgk_field(e, k), v, n + 1);
	return 0;
}

/* The health check's request target (RFC 9110 7.1, origin-form). */
static int set_http_path(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (*v && *v != '/')
		return cfgk_fail(e,
				 "%s: \"%s\" must be a path starting with '/' (or empty for "
				 "a TCP connect check)",
				 k->name, v);
	if (cfgf_printable(&e->f, k->name, v) < 0)
		return -1;
	return cfgk_set_str(e, k, v);
}

/* off | journal | stderr | an absolute path (docs/observability.md). */
static int set_access_log(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (strcmp(v, "off") && strcmp(v, "journal") && strcmp(v, "stderr") && v[0] != '/')
		return cfgk_fail(e, "%s: \"%s\": want off, journal, stderr or an absolute path",
				 k->name, v);
	if (strlen(v) >= k->size)
		return cfgk_fail(e, "%s: path too long", k->name);
	memcpy(cfgk_field(e, k), v, strlen(v) + 1);
	return 0;
}

static int set_endpoint(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct cfg_endpoint ep;

	if (config_parse_endpoint(v, &ep) < 0)
		return cfgk_fail(
			e,
			"%s: \"%s\" is not an IPv4 address:port or [IPv6]:port%s with port "
			"1..65535 (e.g. 198.18.0.10:80 or [2001:db8:18::10]:80)",
			k->name, v, k->sect == S_SERVER ? " or name:port" : "");
	if (k->sect == S_SERVER && netaddr_is_any(&ep.sa))
		return cfgk_fail(e, "%s: \"%s\": %s is not a server address", k->name, v,
				 ep.sa.sa_family == AF_INET6 ? "::" : "0.0.0.0");
	memcpy(cfgk_field(e, k), &ep, sizeof(ep));
	return 0;
}

/* [server] address: an address (set_endpoint), or NAME:PORT resolved at
 * run time (core/pool/resolve.h). */
static int set_server_address(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct cfg_server *cs = (struct cfg_server *)((char *)cfgk_field(e, k) -
						      offsetof(struct cfg_server, addr));
	char host[CFG_DNSNAME_MAX];
	uint16_t port;

	if (config_parse_host_port(v, host, &port) < 0)
		return set_endpoint(e, k, v);
	memset(&cs->addr, 0, sizeof(cs->addr));
	cs->addr.sa.sa_family = AF_UNSPEC;
	snprintf(cs->addr.text, sizeof(cs->addr.text), "%.*s", (int)sizeof(cs->addr.text) - 1, v);
	memcpy(cs->host, host, strlen(host) + 1);
	cs->port = port;
	return 0;
}

/* listen (k->min 0) and tls_listen (k->min 1): one or more addresses. */
static int set_listen(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct ctx *c = e->user;
	struct cfg_endpoint *eps = c->addrs[k->min];
	char tok[CFG_ADDR_TEXT_MAX];
	unsigned n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_LISTEN)
			return cfgk_fail(e, "%s: more than %d addresses", k->name, CFG_MAX_LISTEN);
		if (config_parse_endpoint(tok, &eps[n]) < 0)
			return cfgk_fail(e,
					 "%s: \"%s\" is not an IPv4 address:port or [IPv6]:port "
					 "with port 1..65535 (e.g. 198.18.0.10:80 or [::]:80)",
					 k->name, tok);
		for (unsigned i = 0; i < n; i++)
			if (!strcmp(eps[i].text, eps[n].text))
				return cfgk_fail(e, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	if (n == 0)
		return cfgk_fail(e, "%s: must list at least one address:port", k->name);
	c->naddrs[k->min] = n;
	return 0;
}

/* tls_cert: one or more PEM files (chain and key; tls.md). */
static int set_certs(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct config *cfg = ((struct ctx *)e->user)->cfg;
	char tok[PATH_MAX];
	unsigned n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_CERTS)
			return cfgk_fail(e, "%s: more than %d files", k->name, CFG_MAX_CERTS);
		if (!*tok)
			return cfgk_fail(e, "%s: a file name is too long", k->name);
		if (cfgf_text(&e->f, k->name, tok, 1, PATH_MAX) < 0)
			return -1;
		memcpy(cfg->frontend.tls_cert[n++], tok, strlen(tok) + 1);
	}
	if (n == 0)
		return cfgk_fail(e, "%s: must list at least one file", k->name);
	cfg->frontend.ntls_certs = n;
	return 0;
}

static int set_mode(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	enum cfg_mode *mode = cfgk_field(e, k);

	if (strcmp(v, "http") == 0)
		*mode = MODE_HTTP;
	else if (strcmp(v, "tcp") == 0)
		*mode = MODE_TCP;
	else
		return cfgk_fail(e, "%s: \"%s\" is not a mode (http or tcp)", k->name, v);
	return 0;
}

static int set_balance(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	enum cfg_balance *b = cfgk_field(e, k);

	if (strcmp(v, "roundrobin") == 0)
		*b = BALANCE_ROUNDROBIN;
	else if (strcmp(v, "leastconn") == 0)
		*b = BALANCE_LEASTCONN;
	else if (strcmp(v, "source") == 0)
		*b = BALANCE_SOURCE;
	else
		return cfgk_fail(
			e, "%s: \"%s\" is not an algorithm (roundrobin, leastconn or source)",
			k->name, v);
	return 0;
}

static bool vip_listed(const struct cfg_vip *list, size_t n, const struct cfg_vip *v)
{
	for (size_t i = 0; i < n; i++)
		if (v->family == AF_INET ? list[i].addr.s_addr == v->addr.s_addr
					 : IN6_ARE_ADDR_EQUAL(&list[i].addr6, &v->addr6))
			return true;
	return false;
}

/* [ha] vip, and a [vrrp NAME]'s (the fields of the section being read).
 * IPv4 and IPv6 VIPs go to their own lists: each family has its own
 * election (VRRPv3 per address family, docs/vrrp.md#ipv6). */
static int set_vips(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct ctx *c = e->user;
	struct cfg_vrrp *vr = k->sect == S_VRRP ? e->base : NULL;
	struct cfg_vip *vips = cfgk_field(e, k), *vips6 = vr ? vr->vips6 : c->cfg->ha.vips6;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n4 = 0, n6 = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		struct cfg_vip vip;
		bool six;

		if (cfgv_parse_vip(tok, &vip) < 0)
			return cfgk_fail(
				e,
				"%s: \"%s\" is not an IPv4 address/prefix length with "
				"length 1..32 (e.g. 198.18.0.10/24) nor a global IPv6 one "
				"with length 1..128 (e.g. 2001:db8:18::10/64)",
				k->name, tok);
		six = vip.family == AF_INET6;
		if ((six ? n6 : n4) == CFG_MAX_VIPS)
			return cfgk_fail(e, "%s: more than %d IPv%c addresses", k->name,
					 CFG_MAX_VIPS, six ? '6' : '4');
		if (vip_listed(six ? vips6 : vips, six ? n6 : n4, &vip))
			return cfgk_fail(e, "%s: \"%s\" is listed twice", k->name, tok);
		if (six)
			vips6[n6++] = vip;
		else
			vips[n4++] = vip;
	}
	if (n4 + n6 == 0)
		return cfgk_fail(e, "%s: must list at least one address", k->name);
	if (n4 == 0)
		return cfgk_fail(e,
				 "%s: IPv6 VIPs need an IPv4 VIP beside them (the IPv6 family "
				 "rides on the instance's IPv4 election: docs/vrrp.md#ipv6)",
				 k->name);
	*(vr ? &vr->nvips : &c->cfg->ha.nvips) = n4;
	*(vr ? &vr->nvips6 : &c->cfg->ha.nvips6) = n6;
	if (vr)
		vr->vips_line = e->f.lineno;
	return 0;
}

static int set_peers(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct ctx *c = e->user;
	struct in_addr *peers = c->cfg->ha.peers;
	char tok[CFG_ADDR_TEXT_MAX];
	size_t n = 0;

	while ((v = cfgv_next_token(v, tok, sizeof(tok)))) {
		if (n == CFG_MAX_PEERS)
			return cfgk_fail(e, "%s: more than %d addresses", k->name, CFG_MAX_PEERS);
		if (inet_pton(AF_INET, tok, &peers[n]) != 1 ||
		    peers[n].s_addr == htonl(INADDR_ANY))
			return cfgk_fail(e, "%s: \"%s\" is not an IPv4 address", k->name, tok);
		for (size_t i = 0; i < n; i++)
			if (peers[i].s_addr == peers[n].s_addr)
				return cfgk_fail(e, "%s: \"%s\" is listed twice", k->name, tok);
		n++;
	}
	c->cfg->ha.npeers = n;
	return 0;
}

/* A server name for SNI (RFC 6066 3): a host name, no port, no address. */
static int set_sni(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	if (cfgf_host(&e->f, k->name, v) < 0)
		return -1;
	if (strchr(v, ':') || strspn(v, "0123456789.") == strlen(v))
		return cfgk_fail(e,
				 "%s: \"%s\": a host name without a port (SNI carries no address)",
				 k->name, v);
	memcpy(cfgk_field(e, k), v, strlen(v) + 1);
	return 0;
}

static int set_track_ifs(struct cfgk *e, const struct cfg_key *k, const char *v)
{
	struct ctx *c = e->user;

	return cfgh_track_ifs(e, k->name, v, c->cfg);
}

static int server_begin(struct ctx *c, const char *name)
{
	struct config *cfg = c->cfg;
	struct cfg_server *srv;
	char label[sizeof(c->e.label)];

	if (!*name)
		return cfgk_fail(&c->e, "[server] needs a name, e.g. [server web1]");
	if (!cfgv_valid_name(name))
		return cfgk_fail(&c->e,
				 "[server %s]: a server name is 1..%d letters, digits, '.', "
				 "'_' or '-'",
				 name, CFG_NAME_MAX - 1);
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0)
			return cfgk_fail(&c->e,
					 "[server %s]: duplicate server name (first at "
					 "line %d)",
					 name, cfg->servers[i].line);
	if (cfg->nservers == c->srv_cap) {
		size_t ncap = c->srv_cap ? 2 * c->srv_cap : 8;

		srv = reallocarray(cfg->servers, ncap, sizeof(*srv));
		if (!srv)
			return cfgk_fail(&c->e, "[server %s]: out of memory", name);
		cfg->servers = srv;
		c->srv_cap = ncap;
	}
	srv = &cfg->servers[cfg->nservers++];
	memset(srv, 0, sizeof(*srv));
	memcpy(srv->name, name, strlen(name) + 1);
	srv->weight = 1;
	srv->tls_verify = true;
	srv->line = c->e.f.lineno;
	snprintf(label, sizeof(label), "server %s", name);
	cfgk_enter(&c->e, S_SERVER, srv, label);
	return 0;
}

static int section_open(struct ctx *c, const char *type, const char *name)
{
	enum sect s;

	for (s = S_NODE; s < S_COUNT; s++)
		if (strcmp(type, sect_names[s]) == 0)
			break;
	if (s == S_COUNT)
		return cfgk_fail(&c->e,
				 "unknown section [%s] (expected node, frontend, backend, "
				 "server NAME, ha, registration, stats, track NAME or vrrp NAME)",
				 type);
	if (s == S_SERVER)
		return server_begin(c, name);
	if (s == S_TRACK)
		return cfgh_track_begin(&c->e, S_TRACK, c->cfg, name);
	if (s == S_VRRP)
		return cfgvr_begin(&c->e, S_VRRP, c->cfg, name);
	if (*name)
		return cfgk_fail(&c->e, "section [%s] takes no name (got \"%s\")", type, name);
	if (c->e.sect_line[s])
		return cfgk_fail(&c->e, "section [%s] appears twice (first at line %d)", type,
				 c->e.sect_line[s]);
	cfgk_enter(&c->e, s, c->cfg, NULL);
	if (s == S_FRONTEND)
		c->naddrs[0] = c->naddrs[1] = 0;
	if (s == S_HA)
		c->cfg->ha.enabled = true;
	return 0;
}

/* "[type]" or "[type name]", blanks allowed inside, a ';' comment after. */
static int section_begin(void *user, const char *line)
{
	struct cfgk *e = user;
	char inner[128], *name;
	size_t n;

	if (cfgf_header(&e->f, line, &line, &n) < 0)
		return -1;
	if (n >= sizeof(inner))
		return cfgk_fail(e, "section header is too long");
	memcpy(inner, line, n);
	inner[n] = '\0';
	name = inner + strcspn(inner, " \t");
	if (*name)
		*name++ = '\0';
	name += strspn(name, " \t");
	return section_open(e->user, inner, name);
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
	strcpy(cfg->node.control_socket, CONTROL_DEFAULT_SOCKET);
	cfg->node.log_level = LOG_LVL_INFO;
	cfg->frontend = (__typeof__(cfg->frontend)){
		.mode = MODE_HTTP,
		.via = true,
		.xff = true,
		.maxconn = 10000,
		.threads = 1,
		.header_timeout_ms = 10 * SEC,
		.client_timeout_ms = 30 * SEC,
		.keepalive_timeout_ms = 60 * SEC,
		.max_header_size = 8192,
		.max_uri_size = 4096,
		.max_body_size = 0,
		.grace_ms = 5 * SEC,
		.tls_handshake_timeout_ms = 10 * SEC,
		.access_log = "off",
	};
	cfg->backend = (__typeof__(cfg->backend)){
		.maxconn = 32,
		.queue_timeout_ms = 5 * SEC,
		.connect_timeout_ms = 1 * SEC,
		.server_timeout_ms = 10 * SEC,
		.retries = 2,
		.health_interval_ms = 1 * SEC,
		.resolve_interval_ms = 30 * SEC,
		.health_timeout_ms = 1 * SEC,
		.rise = 2,
		.fall = 3,
		.max_idle = 65535,
		.max_ejection_percent = 10,
		.panic_threshold = 50,
		.balance = BALANCE_ROUNDROBIN,
	};
	/* RFC 5798 5.2.7: the default Advertisement Interval is 1 second. */
	cfg->ha.advert_interval_ms = 1 * SEC;
	cfg->ha.preempt = true;
	cfg->ha.garp_count = 5;
	cfg->ha.garp_interval_ms = 100;
	cfg->ha.garp_refresh_ms = 5 * SEC;
	cfg->ha.checksum_rfc5798 = true;
	cfg->ha.sync_port = 7788;
	cfg->ha.liveness_interval_ms = 20;
	cfg->ha.notify_timeout_ms = 10 * SEC;
	cfg->registration.port = 7789;
	cfg->registration.expire_ms = 10 * SEC;
}

static int line_of(const struct ctx *c, enum sect s, const char *name)
{
	return cfgk_line(&c->e, s, name);
}

static int check_required(struct ctx *c)
{
	const struct config *cfg = c->cfg;
	/* Each [server] is checked below, each [track] in cfgh_check();
	 * [ha]'s keys only with an [ha]. */
	unsigned sects = (1u << S_COUNT) - 2 - (1u << S_SERVER) - (1u << S_TRACK) - (1u << S_VRRP);

	if (!cfg->ha.enabled)
		sects &= ~(1u << S_HA);
	if (cfgk_required(&c->e, sects) < 0)
		return -1;
	if (!c->naddrs[0] && !c->naddrs[1])
		return cfgf_fail(&c->e.f, c->e.sect_line[S_FRONTEND],
				 "missing required key \"listen\" in [frontend] (or tls_listen)");
	for (size_t i = 0; i < cfg->nservers; i++)
		if (!cfg->servers[i].addr.text[0])
			return cfgf_fail(&c->e.f, cfg->servers[i].line,
					 "missing required key "
					 "\"address\" in [server %s]",
					 cfg->servers[i].name);
	for (size_t i = 0; i < cfg->nservers; i++)
		if (!cfg->servers[i].tls &&
		    (cfg->servers[i].tls_ca[0] || cfg->servers[i].tls_sni[0]))
			return cfgf_fail(&c->e.f, cfg->servers[i].line,
					 "[server %s]: tls_ca and tls_sni need tls = yes",
					 cfg->servers[i].name);
	if (cfg->nservers == 0 && !cfg->registration.enabled)
		return cfgf_fail(&c->e.f, line_of(c, S_REG, "enabled"),
				 "no [server] section and "
				 "[registration] enabled is not yes: nothing to balance");
	return 0;
}

/* frontend.listeners from listen and tls_listen; TLS needs certificates. */
static int check_listeners(struct ctx *c)
{
	struct config *cfg = c->cfg;
	struct cfgf *f = &c->e.f;
	unsigned n = 0;

	for (unsigned tls = 0; tls < 2; tls++)
		for (unsigned i = 0; i < c->naddrs[tls]; i++) {
			const struct cfg_endpoint *ep = &c->addrs[tls][i];

			for (unsigned j = 0; j < n; j++)
				if (!strcmp(cfg->frontend.listeners[j].ep.text, ep->text))
					return cfgf_fail(f, line_of(c, S_FRONTEND, "tls_listen"),
							 "tls_listen: \"%s\" is also in listen",
							 ep->text);
			cfg->frontend.listeners[n++] = (struct cfg_listener){ *ep, tls != 0 };
		}
	cfg->frontend.nlisteners = n;
	cfg->frontend.listen = cfg->frontend.listeners[0].ep;
	if (c->naddrs[1] && !cfg->frontend.ntls_certs)
		return cfgf_fail(f, line_of(c, S_FRONTEND, "tls_listen"),
				 "tls_listen: needs tls_cert (PEM files with certificate chain "
				 "and key)");
	if (!c->naddrs[1] && cfg->frontend.ntls_certs)
		return cfgf_fail(f, line_of(c, S_FRONTEND, "tls_cert"),
				 "tls_cert: no tls_listen would use it");
	return 0;
}

/* Checks that involve more than one key, run once the whole file is read. */
static int check_cross(struct ctx *c)
{
	struct config *cfg = c->cfg;
	struct cfgf *f = &c->e.f;
	int line;

	if (check_listeners(c) < 0)
		return -1;

	/* An unset health_timeout follows a shorter health_interval instead of
	 * failing on a value the operator never wrote. */
	if (!line_of(c, S_BACKEND, "health_timeout") &&
	    cfg->backend.health_timeout_ms > cfg->backend.health_interval_ms)
		cfg->backend.health_timeout_ms = cfg->backend.health_interval_ms;
	if (cfg->backend.health_timeout_ms > cfg->backend.health_interval_ms) {
		char t[32], i[32];

		cfgv_format(CFGV_DUR, cfg->backend.health_timeout_ms, t, sizeof(t));
		cfgv_format(CFGV_DUR, cfg->backend.health_interval_ms, i, sizeof(i));
		return cfgf_fail(f, line_of(c, S_BACKEND, "health_timeout"),
				 "health_timeout: %s "
				 "must not exceed health_interval (%s)",
				 t, i);
	}
	if (!cfg->registration.key_file[0] && cfg->ha.enabled)
		memcpy(cfg->registration.key_file, cfg->ha.key_file, sizeof(cfg->ha.key_file));
	if (cfg->registration.enabled && !cfg->registration.key_file[0])
		return cfgf_fail(f, line_of(c, S_REG, "enabled"),
				 "enabled: registration needs "
				 "key_file (in [registration], or in [ha])");
	if (cfg->ha.enabled && cfg->registration.enabled &&
	    cfg->ha.sync_port == cfg->registration.port) {
		line = line_of(c, S_REG, "port");
		if (!line)
			line = line_of(c, S_HA, "sync_port");
		return cfgf_fail(f, line, "port %u is both [ha] sync_port and [registration] port",
				 (unsigned)cfg->ha.sync_port);
	}
	if (cfgh_check(&c->e, cfg, line_of(c, S_HA, "track_interface")) < 0)
		return -1;
	if (cfgvr_check(&c->e, cfg, line_of(c, S_HA, "vrid"), line_of(c, S_HA, "vip")) < 0)
		return -1;
	cfg->stats.enabled = cfg->stats.listen.text[0] != '\0';
	if (cfg->stats.auth_file[0] && !cfg->stats.enabled)
		return cfgf_fail(f, line_of(c, S_STATS, "auth_file"),
				 "auth_file: [stats] has no listen address to protect");
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct ctx c = {
		.e = { .f = { .path = path,
			      .err = err,
			      .errlen = errlen,
			      .section = section_begin },
		       .keys = keys,
		       .nkeys = ARRAY_SIZE(keys),
		       .sect_names = sect_names,
		       .outside = "any section" },
		.cfg = cfg,
	};

	c.e.user = &c;
	if (err && errlen)
		err[0] = '\0';
	config_defaults(cfg);
	if (cfgk_read(&c.e, cfg->path, sizeof(cfg->path)) == 0 && check_required(&c) == 0)
		check_cross(&c);
	if (c.e.f.failed) {
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
