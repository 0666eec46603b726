/* upgrade_ring.c - the ticket key ring across a hitless upgrade
 * (upgrade_ring.h). */
#include "upgrade_ring.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "loop.h"
#include "tls_keys.h"

_Static_assert(sizeof(" tls=") - 1 + 2 * TLS_KEYS_WIRE_MAX < UPGRADE_RING_TEXT_MAX,
	       "TAKE has room for the ring");

static void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The hex word after tag in text into out (at most cap bytes): its
 * length, 0 if text has no tag, -EBADMSG if the word is not hex. */
static int hex_field(const char *text, const char *tag, uint8_t *out, size_t cap)
{
	const char *p = strstr(text, tag);
	size_t n = 0;

	if (!p)
		return 0;
	for (p += strlen(tag); *p && *p != ' '; p += 2) {
		int hi = hex_value(p[0]), lo = hi < 0 ? -1 : hex_value(p[1]);

		if (lo < 0 || n == cap)
			return -EBADMSG;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

int upgrade_ring_key(uint8_t key[UPGRADE_RING_KEY_LEN], char *text, size_t cap)
{
	char hex[2 * UPGRADE_RING_KEY_LEN + 1];

	if (getrandom(key, UPGRADE_RING_KEY_LEN, 0) != UPGRADE_RING_KEY_LEN)
		return -EIO;
	hex_encode(key, UPGRADE_RING_KEY_LEN, hex);
	return snprintf(text, cap, " key=%s", hex) < (int)cap ? 0 : -ENOSPC;
}

int upgrade_ring_append(const char *hello, char *msg, size_t cap)
{
	uint8_t key[UPGRADE_RING_KEY_LEN], ring[TLS_KEYS_WIRE_MAX];
	char hex[2 * TLS_KEYS_WIRE_MAX + 1];
	struct tls_keys *r = tls_keys_process();
	size_t used = strlen(msg);
	int len = hex_field(hello, " key=", key, sizeof(key));

	if (len == 0)
		return 0; /* an older binary: it makes its own ring */
	if (len != UPGRADE_RING_KEY_LEN || !r)
		len = len < 0 ? len : -EINVAL;
	else
		len = tls_keys_export(r, key, sizeof(key), loop_clock_ms(), ring, sizeof(ring));
	if (len >= 0) {
		hex_encode(ring, (size_t)len, hex);
		if (snprintf(msg + used, cap - used, " tls=%s", hex) >= (int)(cap - used))
			len = -ENOSPC;
	}
	if (len < 0) {
		msg[used] = '\0';
		log_errno(len, "upgrade: cannot hand over the TLS ticket keys (the new process "
			       "starts a ring of its own)");
		return len;
	}
	return 1;
}

int upgrade_ring_take(const char *take, const uint8_t key[UPGRADE_RING_KEY_LEN])
{
	uint8_t ring[TLS_KEYS_WIRE_MAX];
	struct tls_keys *r = tls_keys_process();
	int len = hex_field(take, " tls=", ring, sizeof(ring)), err = len;

	if (len == 0)
		return 0;
	if (len > 0)
		err = r ? tls_keys_import(r, key, UPGRADE_RING_KEY_LEN, loop_clock_ms(), ring,
					  (size_t)len)
			: -ENOMEM;
	if (err < 0) {
		log_errno(err, "upgrade: the TLS ticket keys handed over do not import (a ring "
			       "of our own: clients make one full handshake)");
		return err;
	}
	log_info("upgrade: took the TLS ticket key ring over (sessions resume)");
	return 1;
}
