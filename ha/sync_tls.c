/* sync_tls.c - the TLS session-ticket key ring over sync (issue 13), so a
 * client's ticket decrypts on whichever balancer holds the VIP.
 *
 * The MASTER leads the ring (makes and rotates the keys) and sends it,
 * encrypted under a key derived from the cluster key (tls_keys_export:
 * the envelope authenticates but does not hide): on each BACKUP's session
 * with the snapshot it asks for, and over UDP when it changed and every
 * SYNC_TLS_REPEAT_MS.  A BACKUP follows: it takes each ring it receives
 * and does not rotate; when it becomes MASTER it leads the ring it has,
 * so the tickets its clients hold still decrypt.  docs/protocol.md "MSG_TLS_KEYS". */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "sync_int.h"
#include "tls_keys.h"
#include "vrrp.h"

/* The ring over UDP at least this often (a BACKUP whose session is
 * down still gets it), and at once when it changed. */
#define SYNC_TLS_REPEAT_MS 10000

/* The current key's name, shortened, for log lines: names are not
 * secret (every ticket carries its key's name in clear), and two nodes
 * that log the same one encrypt tickets alike. */
static const char *current_name(struct tls_keys *r, char out[9])
{
	struct tls_key k;

	tls_keys_current(r, &k);
	snprintf(out, 9, "%02x%02x%02x%02x", k.name[0], k.name[1], k.name[2], k.name[3]);
	explicit_bzero(&k, sizeof(k));
	return out;
}

int sync_tls_build(struct sync *s, const struct session *ss, uint8_t *out, size_t cap)
{
	uint8_t payload[TLS_KEYS_WIRE_MAX];
	uint64_t now = loop_clock_ms(); /* the ring's clock: the handshakes' */
	uint64_t gen;
	char name[9];
	int len;

	if (!s->hooks.tls_keys)
		return 0;
	/* Rotation on schedule even while no client asks for a ticket. */
	if (tls_keys_tick(s->hooks.tls_keys, now))
		log_info("sync: TLS ticket keys rotated (current key %s)",
			 current_name(s->hooks.tls_keys, name));
	gen = tls_keys_generation(s->hooks.tls_keys);
	if (!ss) {
		if (gen == s->tls_udp_gen && now - s->tls_udp_ms < SYNC_TLS_REPEAT_MS)
			return 0;
		s->tls_udp_gen = gen;
		s->tls_udp_ms = now;
	}
	len = tls_keys_export(s->hooks.tls_keys, s->key->bytes, s->key->len, now, payload,
			      sizeof(payload));
	return len < 0 ? len : sync_envelope(s, MSG_TLS_KEYS, payload, (size_t)len, out, cap);
}

void sync_tls_rx(struct sync *s, const struct msg *m)
{
	struct in_addr from = { .s_addr = m->sender };
	char name[9];
	int err;

	if (!s->hooks.tls_keys || vrrp_get_state(s->vrrp) == VRRP_MASTER)
		return; /* we lead our own ring */
	err = tls_keys_import(s->hooks.tls_keys, s->key->bytes, s->key->len, loop_clock_ms(),
			      m->payload, m->len);
	if (err < 0)
		s->c.bad_payload++;
	else if (err > 0)
		log_info("sync: TLS ticket keys from %s (current key %s)", inet_ntoa(from),
			 current_name(s->hooks.tls_keys, name));
}

void sync_tls_role(struct sync *s, bool master)
{
	char name[9];

	if (!s->hooks.tls_keys)
		return;
	tls_keys_set_leader(s->hooks.tls_keys, master);
	if (master)
		log_info("sync: leading the TLS ticket keys (current key %s)",
			 current_name(s->hooks.tls_keys, name));
}
