/* regmsg.c - the registration payload codec (layout in regmsg.h).
 *
 * Decoding reads the fields in order through a cursor and validates each
 * one as soon as it is read, so every strict prefix of a valid payload is
 * REGMSG_E_SHORT (never a misleading field error) and a payload is accepted
 * only when its last field ends exactly at the end of the buffer. */
#include "regmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Only the message type numbers (MSG_ANNOUNCE, MSG_WITHDRAW): no link
 * dependency on the envelope code. */
#include "msg.h"
#include "wire.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

struct rd {
	struct wire_r in;
	char *why;
	size_t whylen;
};

__attribute__((format(printf, 3, 4))) static enum regmsg_err
reject(struct rd *r, enum regmsg_err e, const char *fmt, ...)
{
	va_list ap;

	if (r->why && r->whylen) {
		va_start(ap, fmt);
		vsnprintf(r->why, r->whylen, fmt, ap);
		va_end(ap);
	}
	return e;
}

#define NEED(r, var, n, what)                                                          \
	do {                                                                           \
		if (!((var) = wire_r_bytes(&(r)->in, (n))))                            \
			return reject((r), REGMSG_E_SHORT, "truncated in %s", (what)); \
	} while (0)

bool regmsg_name_ok(const char *name)
{
	size_t n = strnlen(name, REGMSG_NAME_MAX);

	return n >= 1 && n < REGMSG_NAME_MAX && strspn(name, NAME_CHARS) == n;
}

bool regmsg_host_ok(const char *host)
{
	size_t n = strnlen(host, REGMSG_HOST_MAX), name = strspn(host, NAME_CHARS);
	unsigned long port = 0;
	size_t digits;

	if (n == 0 || n >= REGMSG_HOST_MAX || name == 0)
		return false;
	if (name == n)
		return true;
	/* ":port", digits only (no sign, no blanks: strtoul would take them). */
	digits = strspn(host + name + 1, "0123456789");
	if (host[name] != ':' || digits == 0 || digits > 5 || name + 1 + digits != n)
		return false;
	for (size_t i = name + 1; i < n; i++)
		port = port * 10 + (unsigned long)(host[i] - '0');
	return port >= 1 && port <= 65535;
}

bool regmsg_addr_ok(uint32_t addr)
{
	uint32_t a = ntohl(addr);

	/* RFC 1122 3.2.1.3 (0/8 "this network", 127/8 loopback); RFC 5771
	 * 224/4 multicast; RFC 1112 240/4 reserved, which holds 255.255.255.255. */
	return (a >> 24) != 0 && (a >> 24) != 127 && (a >> 29) != 7;
}

bool regmsg_addr6_ok(const uint8_t a[16])
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(a, zero, 15) == 0 && a[15] <= 1) /* :: and ::1 */
		return false;
	return a[0] != 0xff && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80) &&
	       memcmp(a, mapped, sizeof(mapped)) != 0;
}

uint32_t regmsg_sender6(const uint8_t a[16])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return htonl(h);
}

/* Length-prefixed name into dst (REGMSG_NAME_MAX bytes). */
static enum regmsg_err read_name(struct rd *r, char *dst, const char *what)
{
	const uint8_t *p;
	size_t n;

	NEED(r, p, 1, what);
	n = p[0];
	if (n == 0 || n >= REGMSG_NAME_MAX)
		return reject(r, REGMSG_E_NAME, "%s length %zu outside 1..%d", what, n,
			      REGMSG_NAME_MAX - 1);
	NEED(r, p, n, what);
	memcpy(dst, p, n);
	dst[n] = '\0';
	if (strspn(dst, NAME_CHARS) != n)
		return reject(r, REGMSG_E_NAME, "%s has a byte outside [A-Za-z0-9._-] at %zu",
			      what, strspn(dst, NAME_CHARS));
	return REGMSG_OK;
}

static enum regmsg_err read_service(struct rd *r, uint32_t *addr, uint16_t *port)
{
	char text[INET_ADDRSTRLEN];
	const uint8_t *p;

	NEED(r, p, 4, "address");
	memcpy(addr, p, 4); /* stays in network byte order */
	/* 0.0.0.0: an IPv6 service, if a flag says so later (service_v6). */
	if (*addr != 0 && !regmsg_addr_ok(*addr)) {
		inet_ntop(AF_INET, addr, text, sizeof(text));
		return reject(r, REGMSG_E_ADDR, "address %s is not a unicast service address",
			      text);
	}
	NEED(r, p, 2, "port");
	*port = wire_get16(p);
	if (*port == 0)
		return reject(r, REGMSG_E_PORT, "port 0");
	return REGMSG_OK;
}

static enum regmsg_err read_end(struct rd *r)
{
	size_t left = wire_r_left(&r->in);

	if (left)
		return reject(r, REGMSG_E_TRAILING, "%zu trailing byte%s", left,
			      left == 1 ? "" : "s");
	return REGMSG_OK;
}

static enum regmsg_err announce_fields(struct rd *r, struct regmsg_announce *a)
{
	const uint8_t *p;

	NEED(r, p, 2, "weight");
	a->weight = wire_get16(p);
	if (a->weight < REGMSG_WEIGHT_MIN || a->weight > REGMSG_WEIGHT_MAX)
		return reject(r, REGMSG_E_WEIGHT, "weight %u outside %d..%d", (unsigned)a->weight,
			      REGMSG_WEIGHT_MIN, REGMSG_WEIGHT_MAX);
	NEED(r, p, 4, "interval");
	a->interval_ms = wire_get32(p);
	if (a->interval_ms < REGMSG_INTERVAL_MIN_MS || a->interval_ms > REGMSG_INTERVAL_MAX_MS)
		return reject(r, REGMSG_E_INTERVAL, "interval %" PRIu32 "ms outside %d..%d ms",
			      a->interval_ms, REGMSG_INTERVAL_MIN_MS, REGMSG_INTERVAL_MAX_MS);
	NEED(r, p, 1, "flags");
	a->flags = p[0];
	if (a->flags & ~REGMSG_F_ALL)
		return reject(r, REGMSG_E_FLAGS, "unknown flags 0x%02x", a->flags & ~REGMSG_F_ALL);
	return REGMSG_OK;
}

/* The optional health host (REGMSG_F_HOST), "" without the flag. */
static enum regmsg_err announce_host(struct rd *r, struct regmsg_announce *a)
{
	const uint8_t *p;
	size_t n;

	a->health_host[0] = '\0';
	if (!(a->flags & REGMSG_F_HOST))
		return REGMSG_OK;
	NEED(r, p, 1, "health host");
	n = p[0];
	if (n == 0 || n >= REGMSG_HOST_MAX)
		return reject(r, REGMSG_E_HOST, "health host length %zu outside 1..%d", n,
			      REGMSG_HOST_MAX - 1);
	NEED(r, p, n, "health host");
	memcpy(a->health_host, p, n);
	a->health_host[n] = '\0';
	if (strlen(a->health_host) != n || !regmsg_host_ok(a->health_host))
		return reject(r, REGMSG_E_HOST,
			      "health host is not a host[:port] of "
			      "[A-Za-z0-9._-]");
	return REGMSG_OK;
}

/* The end of a service's address: 16 bytes of IPv6 (v6), else the IPv4
 * field must have been a service address (read_service let 0 through). */
static enum regmsg_err service_v6(struct rd *r, bool v6, uint32_t addr, uint8_t *addr6)
{
	const uint8_t *p;
	char text[INET6_ADDRSTRLEN];

	if (!v6)
		return addr ? REGMSG_OK
			    : reject(r, REGMSG_E_ADDR,
				     "address 0.0.0.0 is not a unicast service address");
	NEED(r, p, 16, "IPv6 address");
	memcpy(addr6, p, 16);
	if (addr != 0)
		return reject(r, REGMSG_E_ADDR, "an IPv6 service with an IPv4 address too");
	if (!regmsg_addr6_ok(addr6)) {
		inet_ntop(AF_INET6, addr6, text, sizeof(text));
		return reject(r, REGMSG_E_ADDR, "address %s is not a unicast service address",
			      text);
	}
	return REGMSG_OK;
}

enum regmsg_err regmsg_decode_announce(const uint8_t *buf, size_t len, struct regmsg_announce *out,
				       char *why, size_t whylen)
{
	struct rd r = { { .p = buf, .len = len }, why, whylen };
	enum regmsg_err e;

	if ((e = read_name(&r, out->name, "name")) ||
	    (e = read_service(&r, &out->addr, &out->port)) || (e = announce_fields(&r, out)) ||
	    (e = announce_host(&r, out)))
		return e;
	out->v6 = out->flags & REGMSG_F_V6;
	if ((e = service_v6(&r, out->v6, out->addr, out->addr6)))
		return e;
	return read_end(&r);
}

enum regmsg_err regmsg_decode_withdraw(const uint8_t *buf, size_t len, struct regmsg_withdraw *out,
				       char *why, size_t whylen)
{
	struct rd r = { { .p = buf, .len = len }, why, whylen };
	const uint8_t *p;
	enum regmsg_err e;

	if ((e = read_name(&r, out->name, "name")) ||
	    (e = read_service(&r, &out->addr, &out->port)))
		return e;
	NEED(&r, p, 1, "why");
	out->v6 = p[0] & REGMSG_WD_F_V6;
	out->why = p[0] & (uint8_t)~REGMSG_WD_F_V6;
	if (out->why < REGMSG_WD_SHUTDOWN || out->why > REGMSG_WD_MAX)
		return reject(&r, REGMSG_E_FIELD, "unknown withdraw reason %u",
			      (unsigned)out->why);
	if ((e = service_v6(&r, out->v6, out->addr, out->addr6)))
		return e;
	return read_end(&r);
}

static enum regmsg_err ack_flags(struct rd *r, struct regmsg_ack *k)
{
	const uint8_t *p;

	NEED(r, p, 1, "accepted");
	if (p[0] > 1)
		return reject(r, REGMSG_E_FIELD, "accepted is %u, not 0 or 1", (unsigned)p[0]);
	k->accepted = p[0] == 1;
	NEED(r, p, 1, "acknowledged type");
	k->of = p[0];
	if (k->of != MSG_ANNOUNCE && k->of != MSG_WITHDRAW)
		return reject(r, REGMSG_E_FIELD,
			      "acknowledges type %u, not an announce or a "
			      "withdraw",
			      (unsigned)k->of);
	return REGMSG_OK;
}

enum regmsg_err regmsg_decode_ack(const uint8_t *buf, size_t len, struct regmsg_ack *out,
				  char *why, size_t whylen)
{
	struct rd r = { { .p = buf, .len = len }, why, whylen };
	const uint8_t *p;
	enum regmsg_err e;

	if ((e = read_name(&r, out->name, "name")) || (e = ack_flags(&r, out)) ||
	    (e = read_name(&r, out->node, "node name")))
		return e;
	NEED(&r, p, 1, "reason");
	out->reason = p[0];
	if (out->reason > REGMSG_ACK_REASON_MAX)
		return reject(&r, REGMSG_E_FIELD, "unknown reason %u", (unsigned)out->reason);
	if (out->accepted != (out->reason == REGMSG_ACK_OK))
		return reject(&r, REGMSG_E_FIELD, "accepted=%d disagrees with reason \"%s\"",
			      out->accepted, regmsg_ack_reason_name(out->reason));
	return read_end(&r);
}

/* ------------------------------------------------------------ encoding -- */

static void put_name(struct wire_w *w, const char *name)
{
	size_t n = strlen(name);

	wire_w_u8(w, (uint8_t)n);
	wire_w_bytes(w, name, n);
}

int regmsg_encode_announce(const struct regmsg_announce *a, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };
	bool host = a->health_host[0] != '\0';
	uint8_t flags = (uint8_t)((a->flags & ~(REGMSG_F_HOST | REGMSG_F_V6)) |
				  (host ? REGMSG_F_HOST : 0) | (a->v6 ? REGMSG_F_V6 : 0));

	if (!regmsg_name_ok(a->name) ||
	    (a->v6 ? a->addr || !regmsg_addr6_ok(a->addr6) : !regmsg_addr_ok(a->addr)) ||
	    a->port == 0 || a->weight < REGMSG_WEIGHT_MIN || a->weight > REGMSG_WEIGHT_MAX ||
	    a->interval_ms < REGMSG_INTERVAL_MIN_MS || a->interval_ms > REGMSG_INTERVAL_MAX_MS ||
	    (a->flags & ~REGMSG_F_ALL) || (host && !regmsg_host_ok(a->health_host)))
		return -EINVAL;
	put_name(&w, a->name);
	wire_w_bytes(&w, &a->addr, 4);
	wire_w_u16(&w, a->port);
	wire_w_u16(&w, a->weight);
	wire_w_u32(&w, a->interval_ms);
	wire_w_u8(&w, flags);
	if (host) /* only then: without a host the bytes are those of an older agent */
		put_name(&w, a->health_host);
	if (a->v6)
		wire_w_bytes(&w, a->addr6, 16);
	return wire_w_end(&w);
}

int regmsg_encode_withdraw(const struct regmsg_withdraw *wd, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	if (!regmsg_name_ok(wd->name) ||
	    (wd->v6 ? wd->addr || !regmsg_addr6_ok(wd->addr6) : !regmsg_addr_ok(wd->addr)) ||
	    wd->port == 0 || wd->why < REGMSG_WD_SHUTDOWN || wd->why > REGMSG_WD_MAX)
		return -EINVAL;
	put_name(&w, wd->name);
	wire_w_bytes(&w, &wd->addr, 4);
	wire_w_u16(&w, wd->port);
	wire_w_u8(&w, (uint8_t)(wd->why | (wd->v6 ? REGMSG_WD_F_V6 : 0)));
	if (wd->v6)
		wire_w_bytes(&w, wd->addr6, 16);
	return wire_w_end(&w);
}

int regmsg_encode_ack(const struct regmsg_ack *k, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	if (!regmsg_name_ok(k->name) || !regmsg_name_ok(k->node) ||
	    (k->of != MSG_ANNOUNCE && k->of != MSG_WITHDRAW) ||
	    k->reason > REGMSG_ACK_REASON_MAX || k->accepted != (k->reason == REGMSG_ACK_OK))
		return -EINVAL;
	put_name(&w, k->name);
	wire_w_u8(&w, k->accepted ? 1 : 0);
	wire_w_u8(&w, k->of);
	put_name(&w, k->node);
	wire_w_u8(&w, k->reason);
	return wire_w_end(&w);
}

/* ---------------------------------------------------------------- names -- */

const char *regmsg_err_name(enum regmsg_err e)
{
	static const char *const names[REGMSG_E_NCAUSES] = {
		[REGMSG_OK] = "ok",
		[REGMSG_E_SHORT] = "short",
		[REGMSG_E_TRAILING] = "trailing",
		[REGMSG_E_NAME] = "name",
		[REGMSG_E_ADDR] = "address",
		[REGMSG_E_PORT] = "port",
		[REGMSG_E_WEIGHT] = "weight",
		[REGMSG_E_INTERVAL] = "interval",
		[REGMSG_E_FLAGS] = "flags",
		[REGMSG_E_FIELD] = "field",
		[REGMSG_E_HOST] = "host",
	};

	return (unsigned)e < REGMSG_E_NCAUSES ? names[e] : "?";
}

const char *regmsg_withdraw_why_name(uint8_t why)
{
	switch (why) {
	case REGMSG_WD_SHUTDOWN:
		return "agent stopping";
	case REGMSG_WD_UNHEALTHY:
		return "service unhealthy";
	default:
		return "?";
	}
}

const char *regmsg_ack_reason_name(uint8_t reason)
{
	static const char *const names[REGMSG_ACK_REASON_MAX + 1] = {
		[REGMSG_ACK_OK] = "ok",
		[REGMSG_ACK_DISABLED] = "registration disabled",
		[REGMSG_ACK_NAME_TAKEN] = "name taken",
		[REGMSG_ACK_FULL] = "pool full",
		[REGMSG_ACK_NOT_MASTER] = "not the active balancer",
		[REGMSG_ACK_INTERNAL] = "balancer error",
	};

	return reason <= REGMSG_ACK_REASON_MAX ? names[reason] : "?";
}
