/* journal_codec.c - the journal's record codec, pure (bytes in, a record
 * or a reason out): CRC-32C, record types, encode and decode, record
 * helpers.  The file the records live in is journal.c; layout in
 * journal.h and docs/journal.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "journal.h"
#include "netaddr.h"
#include "wire.h"

#define FLAG_DRAIN 0x01
#define FLAG_V6    0x02 /* 16 bytes of IPv6 address follow the detail */

/* ---- CRC-32C --------------------------------------------------------- */

/* Reflected Castagnoli polynomial 0x82F63B78 (RFC 3720 B.4), four bits at
 * a time: entry i is the CRC of nibble i.  Small enough to be a constant. */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
	0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
	}
	return ~crc;
}

/* ---- types ------------------------------------------------------------ */

/* Indexed by enum journal_type (JR_STARTED = 1). */
static const char *const type_names[JR_TYPE_MAX + 1] = {
	NULL,
	"started",
	"stopped",
	"role",
	"vip-added",
	"vip-removed",
	"server-registered",
	"server-withdrawn",
	"server-expired",
	"server-up",
	"server-down",
	"server-drained",
	"server-enabled",
	"server-updated",
	"server-state",
	"snapshot-sent",
	"snapshot-applied",
	"peer-seen",
	"peer-lost",
	"compacted",
	"inflight",
};
_Static_assert(JR_INFLIGHT == 20, "type_names follows enum journal_type");

static bool type_valid(unsigned t) { return t >= JR_STARTED && t <= JR_TYPE_MAX; }

const char *journal_type_name(enum journal_type t)
{
	return type_valid((unsigned)t) ? type_names[t] : "unknown";
}

bool journal_type_is_server(enum journal_type t)
{
	return t >= JR_SERVER_REGISTERED && t <= JR_SERVER_STATE;
}

bool journal_type_durable(enum journal_type t)
{
	switch (t) {
	case JR_SERVER_UP: /* health may flap: never wait on the disk for it */
	case JR_SERVER_DOWN:
	case JR_SNAPSHOT_SENT:
	case JR_PEER_SEEN:
	case JR_PEER_LOST:
	case JR_INFLIGHT:     /* written as the node takes over: no wait on the disk */
	case JR_SERVER_STATE: /* written by compaction, which syncs the whole file */
		return false;
	default:
		return true;
	}
}

/* ---- codec ------------------------------------------------------------ */

/* Printable ASCII from lo (0x21: names have no blanks; 0x20: details). */
static bool text_ok(const uint8_t *s, size_t len, uint8_t lo)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < lo || s[i] > 0x7e)
			return false;
	return true;
}

/* The lengths of name and detail, or -EINVAL if r cannot be encoded. */
static int rec_check(const struct journal_rec *r, size_t *nlen, size_t *dlen)
{
	*nlen = strnlen(r->srv.name, sizeof(r->srv.name));
	*dlen = strnlen(r->detail, sizeof(r->detail));
	if (!type_valid((unsigned)r->type) || *nlen > JOURNAL_NAME_MAX ||
	    *dlen > JOURNAL_DETAIL_MAX)
		return -EINVAL;
	if (!text_ok((const uint8_t *)r->srv.name, *nlen, 0x21) ||
	    !text_ok((const uint8_t *)r->detail, *dlen, 0x20))
		return -EINVAL;
	if (journal_type_is_server(r->type) && *nlen == 0)
		return -EINVAL;
	if ((unsigned)r->srv.source > SRV_REGISTERED || (unsigned)r->srv.health > SRV_DOWN)
		return -EINVAL;
	if (r->srv.v6 && r->srv.addr.s_addr)
		return -EINVAL;
	return 0;
}

int journal_encode(const struct journal_rec *r, uint8_t *buf, size_t cap)
{
	size_t nlen, dlen, len;

	if (rec_check(r, &nlen, &dlen) < 0)
		return -EINVAL;
	len = JOURNAL_REC_MIN + nlen + dlen + (r->srv.v6 ? JOURNAL_V6_LEN : 0);
	if (cap < len)
		return -ENOSPC;
	/* The 4-byte record magic, without the literal's NUL. */
	memcpy(buf, JOURNAL_MAGIC, 4); /* NOLINT(bugprone-not-null-terminated-result) */
	wire_put16(buf + 4, (uint16_t)len);
	buf[6] = JOURNAL_VERSION;
	buf[7] = (uint8_t)r->type;
	wire_put64(buf + 8, r->seq);
	wire_put64(buf + 16, r->time_ms);
	memcpy(buf + 24, &r->srv.addr.s_addr, 4); /* already network order */
	wire_put16(buf + 28, r->srv.port);
	wire_put16(buf + 30, r->srv.weight);
	wire_put32(buf + 32, r->srv.expires_in_ms);
	buf[36] = (uint8_t)r->srv.source;
	buf[37] = (uint8_t)r->srv.health;
	buf[38] = (r->srv.drain ? FLAG_DRAIN : 0) | (r->srv.v6 ? FLAG_V6 : 0);
	buf[39] = (uint8_t)nlen;
	buf[40] = (uint8_t)dlen;
	memcpy(buf + JOURNAL_HDR_LEN, r->srv.name, nlen);
	memcpy(buf + JOURNAL_HDR_LEN + nlen, r->detail, dlen);
	if (r->srv.v6)
		memcpy(buf + JOURNAL_HDR_LEN + nlen + dlen, &r->srv.addr6, JOURNAL_V6_LEN);
	wire_put32(buf + len - 4, journal_crc32c(0, buf, len - 4));
	return (int)len;
}

/* The fields of a record whose framing and CRC are good.  Anything
 * encode would not produce is refused, so decode(encode(r)) is exact and
 * encode(decode(b)) == b. */
static int decode_fields(const uint8_t *buf, size_t len, struct journal_rec *r)
{
	size_t nlen = buf[39], dlen = buf[40];
	size_t v6len = buf[38] & FLAG_V6 ? JOURNAL_V6_LEN : 0;

	if (buf[6] != JOURNAL_VERSION || !type_valid(buf[7]) || nlen > JOURNAL_NAME_MAX ||
	    dlen > JOURNAL_DETAIL_MAX || JOURNAL_REC_MIN + nlen + dlen + v6len != len)
		return -EBADMSG;
	if (buf[36] > SRV_REGISTERED || buf[37] > SRV_DOWN ||
	    (buf[38] & ~(FLAG_DRAIN | FLAG_V6)) != 0 || (v6len && wire_get32(buf + 24) != 0))
		return -EBADMSG;
	if (!text_ok(buf + JOURNAL_HDR_LEN, nlen, 0x21) ||
	    !text_ok(buf + JOURNAL_HDR_LEN + nlen, dlen, 0x20))
		return -EBADMSG;
	if (journal_type_is_server(buf[7]) && nlen == 0)
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	r->type = buf[7];
	r->seq = wire_get64(buf + 8);
	r->time_ms = wire_get64(buf + 16);
	memcpy(&r->srv.addr.s_addr, buf + 24, 4);
	r->srv.port = wire_get16(buf + 28);
	r->srv.weight = wire_get16(buf + 30);
	r->srv.expires_in_ms = wire_get32(buf + 32);
	r->srv.source = buf[36];
	r->srv.health = buf[37];
	r->srv.drain = buf[38] & FLAG_DRAIN;
	memcpy(r->srv.name, buf + JOURNAL_HDR_LEN, nlen);
	memcpy(r->detail, buf + JOURNAL_HDR_LEN + nlen, dlen);
	if ((r->srv.v6 = v6len != 0))
		memcpy(&r->srv.addr6, buf + JOURNAL_HDR_LEN + nlen + dlen, JOURNAL_V6_LEN);
	return 0;
}

int journal_decode(const uint8_t *buf, size_t len, struct journal_rec *r, size_t *used)
{
	size_t rlen;

	/* Too short to hold the length: torn if what is there starts right. */
	if (len < 6)
		return memcmp(buf, JOURNAL_MAGIC, len < 4 ? len : 4) ? -EBADMSG : -ENODATA;
	if (memcmp(buf, JOURNAL_MAGIC, 4) != 0)
		return -EBADMSG;
	rlen = wire_get16(buf + 4);
	if (rlen < JOURNAL_REC_MIN || rlen > JOURNAL_REC_MAX)
		return -EBADMSG;
	if (len < rlen)
		return -ENODATA;
	if (journal_crc32c(0, buf, rlen - 4) != wire_get32(buf + rlen - 4))
		return -EBADMSG;
	if (decode_fields(buf, rlen, r) < 0)
		return -EBADMSG;
	*used = rlen;
	return 0;
}

/* ---- record helpers --------------------------------------------------- */

static int copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		return -EINVAL;
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int journal_rec_init(struct journal_rec *r, enum journal_type type, const char *name,
		     const char *detail)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	if (copy_text(r->srv.name, sizeof(r->srv.name), name) < 0 ||
	    copy_text(r->detail, sizeof(r->detail), detail) < 0)
		return -EINVAL;
	return 0;
}

int journal_server_from(struct journal_server *js, const struct server *srv, uint64_t now_mono_ms)
{
	memset(js, 0, sizeof(*js));
	if (copy_text(js->name, sizeof(js->name), srv->name) < 0)
		return -EINVAL;
	if ((js->v6 = srv->addr.sa.sa_family == AF_INET6))
		js->addr6 = srv->addr.sin6.sin6_addr;
	else
		js->addr = srv->addr.sin.sin_addr;
	js->port = (uint16_t)netaddr_port(&srv->addr.sa);
	js->weight = srv->weight > UINT16_MAX ? UINT16_MAX : (uint16_t)srv->weight;
	js->source = srv->source;
	js->health = srv->health;
	js->drain = srv->drain;
	if (srv->expires_ms == 0)
		js->expires_in_ms = 0;
	else if (srv->expires_ms <= now_mono_ms)
		js->expires_in_ms = 1; /* due now: a rebuild drops it */
	else if (srv->expires_ms - now_mono_ms > UINT32_MAX)
		js->expires_in_ms = UINT32_MAX;
	else
		js->expires_in_ms = (uint32_t)(srv->expires_ms - now_mono_ms);
	return 0;
}
