/* config_value.c - the value syntax of the configuration file: pure
 * functions from text to numbers and addresses, shared by the loader
 * (config.c) and its tests.  The public ones (config_parse_duration and
 * friends) are declared in config.h; config_value.h declares the helpers
 * the loader also needs for its checks and error messages. */
#include "config_value.h"
#include "netaddr.h"
#include "macros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool cfgv_all_digits(const char *s) { return *s && strspn(s, "0123456789") == strlen(s); }

/* Digits only: no sign, no blanks, no hex.  0, -EINVAL or -ERANGE. */
int cfgv_parse_uint(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (!cfgv_all_digits(s))
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are stored as uint32_t");

void cfgv_store_uint(void *field, size_t size, uint64_t n)
{
	if (size == sizeof(uint16_t)) {
		uint16_t v = (uint16_t)n;
		memcpy(field, &v, sizeof(v));
	} else if (size == sizeof(uint32_t)) {
		uint32_t v = (uint32_t)n;
		memcpy(field, &v, sizeof(v));
	} else {
		memcpy(field, &n, sizeof(n));
	}
}

/* Suffixes a number may carry, with their multipliers; NULL-terminated. */
struct unit {
	const char *suffix;
	uint64_t mult;
};

/* Digits, then one of units[] (an empty suffix only if listed).  The
 * suffix is checked first so that bad syntax is -EINVAL even when the
 * digits alone would overflow. */
static int parse_with_unit(const char *s, const struct unit *units, uint64_t *out)
{
	size_t nd = strspn(s, "0123456789");
	uint64_t n = 0;

	if (nd == 0)
		return -EINVAL;
	while (units->suffix && strcmp(s + nd, units->suffix) != 0)
		units++;
	if (!units->suffix)
		return -EINVAL;
	for (size_t i = 0; i < nd; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	if (n > UINT64_MAX / units->mult)
		return -ERANGE;
	*out = n * units->mult;
	return 0;
}

int config_parse_duration(const char *s, uint64_t *ms)
{
	static const struct unit units[] = {
		{ "ms", 1 }, { "s", CFGV_SEC }, { "m", CFGV_MIN }, { "h", CFGV_HOUR }, { NULL, 0 },
	};
	uint64_t n;
	int r;

	if (!s)
		return -EINVAL;
	/* A bare number is refused so "100" is never read as seconds when
	 * the operator meant milliseconds; only 0 is the same in any unit. */
	if (cfgv_all_digits(s)) {
		r = cfgv_parse_uint(s, &n);
		if (r < 0)
			return r;
		if (n != 0)
			return -EINVAL;
		*ms = 0;
		return 0;
	}
	return parse_with_unit(s, units, ms);
}

int config_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
		{ "", 1 },           { "k", 1ULL << 10 }, { "K", 1ULL << 10 }, { "M", 1ULL << 20 },
		{ "m", 1ULL << 20 }, { "G", 1ULL << 30 }, { "g", 1ULL << 30 }, { NULL, 0 },
	};

	if (!s)
		return -EINVAL;
	return parse_with_unit(s, units, bytes);
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* The address part of an endpoint: "a.b.c.d" or "[v6]". */
static int parse_endpoint_addr(const char *s, size_t n, struct cfg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, s + 1, n - 2);
		addr[n - 2] = '\0';
		ep->sin6.sin6_family = AF_INET6;
		return inet_pton(AF_INET6, addr, &ep->sin6.sin6_addr) == 1 ? 0 : -EINVAL;
	}
	if (n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	ep->sin.sin_family = AF_INET;
	/* inet_pton() takes only the four-part dotted quad, unlike inet_aton()
	 * which would read "10.1" or "0x7f.1" as addresses. */
	return inet_pton(AF_INET, addr, &ep->sin.sin_addr) == 1 ? 0 : -EINVAL;
}

void cfg_endpoint_set(struct cfg_endpoint *ep, int family, const void *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	if (family == AF_INET6) {
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_port = htons(port);
		memcpy(&ep->sin6.sin6_addr, addr, 16);
	} else {
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_port = htons(port);
		memcpy(&ep->sin.sin_addr, addr, 4);
	}
	netaddr_text(&ep->sa, ep->text, sizeof(ep->text));
}

int config_parse_endpoint(const char *s, struct cfg_endpoint *ep)
{
	struct cfg_endpoint e;
	const char *colon;
	uint64_t port;

	if (!s)
		return -EINVAL;
	colon = strrchr(s, ':');
	memset(&e, 0, sizeof(e));
	if (!colon || parse_endpoint_addr(s, (size_t)(colon - s), &e) < 0)
		return -EINVAL;
	if (cfgv_parse_uint(colon + 1, &port) < 0 || port < 1 || port > 65535)
		return -EINVAL;
	if (e.sa.sa_family == AF_INET6)
		e.sin6.sin6_port = htons((uint16_t)port);
	else
		e.sin.sin_port = htons((uint16_t)port);
	netaddr_text(&e.sa, e.text, sizeof(e.text));
	*ep = e;
	return 0;
}

/* RFC 1123 2.1: labels of 1..63 letters, digits and hyphens, not at
 * either end; a name of digits and dots alone is a bad address instead. */
static bool dns_name_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n >= CFG_DNSNAME_MAX || strspn(s, "0123456789.") >= n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)) ||
		    ++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

int config_parse_host_port(const char *s, char *host, uint16_t *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	uint64_t p;

	if (!colon || !dns_name_ok(s, (size_t)(colon - s)))
		return -EINVAL;
	if (cfgv_parse_uint(colon + 1, &p) < 0 || p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* A value as the operator would write it: "1s" rather than "1000ms". */
void cfgv_format(enum cfgv_kind kind, uint64_t n, char *buf, size_t len)
{
	static const struct unit dur[] = {
		{ "h", CFGV_HOUR },
		{ "m", CFGV_MIN },
		{ "s", CFGV_SEC },
		{ NULL, 0 },
	};
	static const struct unit size[] = {
		{ "G", 1ULL << 30 },
		{ "M", 1ULL << 20 },
		{ "k", 1ULL << 10 },
		{ NULL, 0 },
	};
	const struct unit *u = kind == CFGV_DUR ? dur : kind == CFGV_SIZE ? size : NULL;

	for (; u && u->suffix && n; u++) {
		if (n % u->mult == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(n / u->mult), u->suffix);
			return;
		}
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)n, kind == CFGV_DUR && n ? "ms" : "");
}

/* Node and server names end up in Via headers and in andromedactl's
 * tables: keep them to an HTTP token's safe subset (RFC 9110 5.6.2). */
bool cfgv_valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < CFG_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Split a list on blanks and commas into tok; returns the next position,
 * or NULL at the end.  A token too long for tok is returned truncated to
 * an empty string so the caller reports it. */
const char *cfgv_next_token(const char *s, char *tok, size_t len)
{
	size_t n;

	s += strspn(s, " \t,");
	if (!*s)
		return NULL;
	n = strcspn(s, " \t,");
	if (n >= len)
		n = 0;
	memcpy(tok, s, n);
	tok[n] = '\0';
	return s + strcspn(s, " \t,");
}

/* An IPv6 VIP: a unicast address (not ::, not multicast, not link-local:
 * the interface's own link-local is the adverts' source, docs/vrrp.md). */
static bool vip6_ok(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a) &&
	       !IN6_IS_ADDR_LINKLOCAL(a) && !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

int cfgv_parse_vip(const char *tok, struct cfg_vip *vip)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(tok, '/');
	uint64_t len, max = 32;

	if (!slash || (size_t)(slash - tok) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, tok, (size_t)(slash - tok));
	addr[slash - tok] = '\0';
	memset(vip, 0, sizeof(*vip));
	if (strchr(addr, ':')) {
		if (inet_pton(AF_INET6, addr, &vip->addr6) != 1 || !vip6_ok(&vip->addr6))
			return -EINVAL;
		vip->family = AF_INET6;
		max = 128;
		inet_ntop(AF_INET6, &vip->addr6, addr, sizeof(addr)); /* canonical text */
	} else {
		if (inet_pton(AF_INET, addr, &vip->addr) != 1 ||
		    vip->addr.s_addr == htonl(INADDR_ANY))
			return -EINVAL;
		vip->family = AF_INET;
	}
	if (cfgv_parse_uint(slash + 1, &len) < 0 || len < 1 || len > max)
		return -EINVAL;
	vip->prefixlen = (uint8_t)len;
	snprintf(vip->text, sizeof(vip->text), "%s/%u", addr, (unsigned)len);
	return 0;
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
size_t cfgv_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}
