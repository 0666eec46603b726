/* regmsg.h - payloads of the registration messages (SPEC "Backend
 * registration"): MSG_ANNOUNCE and MSG_WITHDRAW from andromeda-agent to the
 * balancers, MSG_ACK back.  A pure codec: the bytes here travel inside the
 * authenticated envelope of core/lib/msg.h (msg_encode / msg_decode),
 * which adds the sender, sequence, timestamp and HMAC; this file knows
 * nothing of keys, sockets or time.  Byte layout (network byte order), also in
 * docs/protocol.md and docs/agent.md:
 *
 * ANNOUNCE (14 + L bytes)           WITHDRAW (8 + L bytes)
 *   0    1  name length L (1..63)     0    1  name length L
 *   1    L  name [A-Za-z0-9._-]       1    L  name
 *   1+L  4  service IPv4 address      1+L  4  service IPv4 address
 *   5+L  2  service port (1..65535)   5+L  2  service port
 *   7+L  2  weight (1..256)           7+L  1  why (enum regmsg_withdraw_why)
 *   9+L  4  announce interval, ms
 *  13+L  1  flags (REGMSG_F_*)
 *  14+L  1  with REGMSG_F_HOST only: health host length H (1..63),
 *  15+L  H  then the host ([A-Za-z0-9._-], optional ":port")
 *  end  16  with REGMSG_F_V6 only: the service's IPv6 address (the IPv4
 *           field is then 0.0.0.0)
 *
 * WITHDRAW of an IPv6 service: bit 7 of why (REGMSG_WD_F_V6) set, the IPv4
 * field 0.0.0.0, and the 16-byte address after why.
 *
 * ACK (5 + L + M bytes)
 *   0    1  server name length L, then the name (as announced)
 *   1+L  1  accepted (0 or 1)
 *   2+L  1  what is acknowledged: MSG_ANNOUNCE or MSG_WITHDRAW
 *   3+L  1  balancer node name length M (1..63), then the name
 *   4+L+M 1 reason (enum regmsg_ack_reason): REGMSG_ACK_OK iff accepted
 *
 * Decoding validates every field and rejects trailing bytes, so a payload
 * that decodes is exactly what an encoder of this version produces; a
 * newer, longer layout needs a new MSG_VERSION, or, as for the health
 * host, a flag bit announcing an optional trailing field: a payload without
 * the bit is byte for byte what an older agent sends, and an older receiver
 * rejects the bit (REGMSG_E_FLAGS) rather than misread the field.  A
 * receiver expires an
 * announced server after REGMSG_EXPIRE_INTERVALS of its own interval
 * without a new announcement (regmsg_expire_ms). */
#ifndef ANDROMEDA_REGMSG_H
#define ANDROMEDA_REGMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGMSG_NAME_MAX         64 /* name buffer: 1..63 characters + NUL */
#define REGMSG_HOST_MAX         64 /* health host buffer: 1..63 characters + NUL */
#define REGMSG_WEIGHT_MIN       1
#define REGMSG_WEIGHT_MAX       256
#define REGMSG_INTERVAL_MIN_MS  100
#define REGMSG_INTERVAL_MAX_MS  600000 /* 10 minutes */
#define REGMSG_EXPIRE_INTERVALS 3      /* missed announcements before expiry */
#define REGMSG_DEFAULT_PORT     7789   /* UDP, balancer side */
/* IPv6 agents announce to this link-local group (RFC 4291 2.7: scope 2;
 * group ID 0x114 is IANA's "any private experiment" one) on their
 * interface; the balancers join it.  IPv4 agents broadcast. */
#define REGMSG_GROUP6           "ff02::114"

/* Largest payloads, for buffers. */
#define REGMSG_ANNOUNCE_MAX (14 + REGMSG_NAME_MAX - 1 + 1 + REGMSG_HOST_MAX - 1 + 16)
#define REGMSG_WITHDRAW_MAX (8 + REGMSG_NAME_MAX - 1 + 16)
#define REGMSG_ACK_MAX      (5 + 2 * (REGMSG_NAME_MAX - 1))
#define REGMSG_MAX          (REGMSG_ANNOUNCE_MAX > REGMSG_ACK_MAX ? REGMSG_ANNOUNCE_MAX : REGMSG_ACK_MAX)

/* ANNOUNCE flags; any other bit is rejected. */
#define REGMSG_F_HELLO                                            \
	0x01 /* first announcement since the agent started or its \
	      * service became healthy again: check it now */
#define REGMSG_F_HOST                                           \
	0x02 /* a health host follows the flags (health_host in \
	      * agent.conf): the Host of the balancers' checks */
#define REGMSG_F_V6                                                \
	0x04 /* an IPv6 service: its address ends the payload (set \
	      * from v6 when encoding) */
#define REGMSG_F_ALL   (REGMSG_F_HELLO | REGMSG_F_HOST | REGMSG_F_V6)
#define REGMSG_WD_F_V6 0x80 /* WITHDRAW why: an IPv6 address follows it */

struct regmsg_announce {
	char name[REGMSG_NAME_MAX];
	uint32_t addr;        /* network byte order, as in struct in_addr; 0 when v6 */
	bool v6;              /* the service is addr6 */
	uint8_t addr6[16];    /* network byte order */
	uint16_t port;        /* host byte order */
	uint16_t weight;      /* 1..256 */
	uint32_t interval_ms; /* REGMSG_INTERVAL_MIN_MS..REGMSG_INTERVAL_MAX_MS */
	uint8_t flags;        /* REGMSG_F_HOST is derived from health_host when encoding */
	char health_host[REGMSG_HOST_MAX]; /* "" = none (the balancer's default) */
};

enum regmsg_withdraw_why {
	REGMSG_WD_SHUTDOWN = 1,  /* the agent is stopping (SIGTERM) */
	REGMSG_WD_UNHEALTHY = 2, /* the agent's check of its service failed */
	REGMSG_WD_MAX = 2,
};

struct regmsg_withdraw {
	char name[REGMSG_NAME_MAX];
	uint32_t addr; /* network byte order; 0 when v6 */
	bool v6;
	uint8_t addr6[16];
	uint16_t port; /* host byte order */
	uint8_t why;   /* enum regmsg_withdraw_why (REGMSG_WD_F_V6 is v6's, on the wire) */
};

enum regmsg_ack_reason {
	REGMSG_ACK_OK = 0,         /* accepted */
	REGMSG_ACK_DISABLED = 1,   /* [registration] is not enabled on this balancer */
	REGMSG_ACK_NAME_TAKEN = 2, /* a static server, or another address, has this name */
	REGMSG_ACK_FULL = 3,       /* no room for another server */
	REGMSG_ACK_NOT_MASTER = 4, /* only the active balancer registers servers */
	REGMSG_ACK_INTERNAL = 5,   /* the balancer failed (memory, ...) */
	REGMSG_ACK_REASON_MAX = 5,
};

struct regmsg_ack {
	char name[REGMSG_NAME_MAX]; /* the server acknowledged */
	bool accepted;
	uint8_t of;                 /* MSG_ANNOUNCE or MSG_WITHDRAW */
	char node[REGMSG_NAME_MAX]; /* the balancer that answers */
	uint8_t reason;             /* enum regmsg_ack_reason */
};

/* Why a payload was rejected; receivers count them per cause. */
enum regmsg_err {
	REGMSG_OK = 0,
	REGMSG_E_SHORT,    /* truncated: ends inside a field */
	REGMSG_E_TRAILING, /* bytes after the last field */
	REGMSG_E_NAME,     /* length 0 or > 63, or a character outside [A-Za-z0-9._-] */
	REGMSG_E_ADDR,     /* not a unicast service address (0/8, 127/8, 224/3) */
	REGMSG_E_PORT,     /* port 0 */
	REGMSG_E_WEIGHT,   /* outside 1..256 */
	REGMSG_E_INTERVAL, /* outside REGMSG_INTERVAL_MIN_MS..MAX_MS */
	REGMSG_E_FLAGS,    /* unknown flag bit */
	REGMSG_E_FIELD,    /* an enumerated field has an unknown value
			    * (withdraw why, ack accepted/of/reason, or they disagree) */
	REGMSG_E_HOST,     /* health host length 0 or > 63, a bad character or port */
	REGMSG_E_NCAUSES
};

/* Encoders check the struct as the decoder would (so we never send what a
 * receiver drops) and write the payload into out.  Return the length, or
 * -EINVAL (a field is invalid) / -ENOSPC (cap too small). */
int regmsg_encode_announce(const struct regmsg_announce *a, uint8_t *out, size_t cap);
int regmsg_encode_withdraw(const struct regmsg_withdraw *w, uint8_t *out, size_t cap);
int regmsg_encode_ack(const struct regmsg_ack *k, uint8_t *out, size_t cap);

/* Decoders: payload bytes (msg.payload, msg.len) in, *out filled on
 * REGMSG_OK (names NUL-terminated).  On failure *out is unspecified and,
 * when why is not NULL, a one-line detail ("weight 0 outside 1..256") is
 * written to why (whylen bytes). */
enum regmsg_err regmsg_decode_announce(const uint8_t *buf, size_t len, struct regmsg_announce *out,
				       char *why, size_t whylen);
enum regmsg_err regmsg_decode_withdraw(const uint8_t *buf, size_t len, struct regmsg_withdraw *out,
				       char *why, size_t whylen);
enum regmsg_err regmsg_decode_ack(const uint8_t *buf, size_t len, struct regmsg_ack *out,
				  char *why, size_t whylen);

/* Short names for counters and logs: "short", "trailing", "name", ... */
const char *regmsg_err_name(enum regmsg_err e);
/* "agent stopping" / "service unhealthy"; "?" for an unknown value. */
const char *regmsg_withdraw_why_name(uint8_t why);
/* "ok", "registration disabled", "name taken", ...; "?" when unknown. */
const char *regmsg_ack_reason_name(uint8_t reason);

/* A name as announced: 1..63 of [A-Za-z0-9._-] (same rule as server names
 * in the configuration). */
bool regmsg_name_ok(const char *name);
/* A health host (the Host header of a check, RFC 9110 7.2): 1..63
 * characters, a name or IPv4 address of [A-Za-z0-9._-] and an optional
 * ":port" (1..65535, digits only).  The rule of health_host in
 * andromeda.conf and agent.conf too. */
bool regmsg_host_ok(const char *host);
/* addr (network byte order) can be a service: not 0.0.0.0/8, 127.0.0.0/8,
 * or 224.0.0.0/3 (multicast, reserved, limited broadcast). */
bool regmsg_addr_ok(uint32_t addr);
/* An IPv6 service address: global or unique-local unicast; not ::, ::1,
 * multicast (ff00::/8), link-local (fe80::/10: no zone on the wire) or
 * IPv4-mapped. */
bool regmsg_addr6_ok(const uint8_t addr[16]);
/* The envelope's 32-bit sender id of an IPv6 agent (msg.h): FNV-1a of its
 * service address, network byte order; the replay window is per sender. */
uint32_t regmsg_sender6(const uint8_t addr[16]);

/* How long a receiver keeps an announced server without a new
 * announcement: REGMSG_EXPIRE_INTERVALS x its interval. */
static inline uint64_t regmsg_expire_ms(const struct regmsg_announce *a)
{
	return (uint64_t)REGMSG_EXPIRE_INTERVALS * a->interval_ms;
}

#endif
