/* tls_keys.h - the TLS session-ticket key ring (issue 13): the keys that
 * encrypt the session tickets of every TLS listener, rotated on a
 * schedule, shared by the proxy threads, and the same on every balancer
 * (the MASTER's ring is replicated over sync), so a client resumes its
 * session on whichever node holds the VIP.  docs/tls-keys.md.
 *
 * Pure key management on libcrypto: no SSL_CTX here (the proxy's
 * tls_ticket.c installs the ring into one).  The ring holds at most
 * TLS_KEYS_MAX keys, newest first:
 *
 *   [0] next      made one period ahead, replicated, not used yet
 *   [1] current   encrypts new tickets
 *   [2] previous  decrypts (the ticket is renewed under current)
 *   [3] previous  decrypts, then falls off at the next rotation
 *
 * So a ticket stays valid for two to three periods after it was issued,
 * and a key encrypts tickets only after it reached the passives: a
 * failover one second after a rotation still resumes.
 *
 * Threads: the ticket callback reads the ring on proxy threads
 * (tls_keys_find, tls_keys_current) while the main thread rotates or
 * imports it; a read-write lock guards the keys, readers copy what they
 * need out of it. */
#ifndef ANDROMEDA_TLS_KEYS_H
#define ANDROMEDA_TLS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_KEYS_MAX       4
#define TLS_KEY_NAME_LEN   16              /* what OpenSSL's ticket callback names a key by */
#define TLS_KEY_AES_LEN    32              /* AES-256-CBC, the ticket cipher */
#define TLS_KEY_HMAC_LEN   32              /* HMAC-SHA256, the ticket MAC */
#define TLS_KEYS_PERIOD_MS (3600u * 1000u) /* rotation period: 1 hour */

struct tls_key {
	uint8_t name[TLS_KEY_NAME_LEN];
	uint8_t aes[TLS_KEY_AES_LEN];
	uint8_t hmac[TLS_KEY_HMAC_LEN];
};

struct tls_keys;

/* A ring with a fresh next and current key (random), rotating every
 * period_ms; now_ms is the caller's monotonic clock.  NULL on failure
 * (memory, no randomness). */
struct tls_keys *tls_keys_create(uint32_t period_ms, uint64_t now_ms);
void tls_keys_free(struct tls_keys *r);

/* The process's ring, which every TLS listener of the daemon encrypts
 * tickets with and sync replicates: created on first use (period
 * TLS_KEYS_PERIOD_MS, loop_clock_ms), never freed.  NULL only if that
 * creation failed.  Any thread. */
struct tls_keys *tls_keys_process(void);

/* Leader: this node makes the keys (a MASTER, or a node without [ha]);
 * it rotates when a period is over.  A follower (a BACKUP) does not
 * rotate: it takes the leader's ring (tls_keys_import) and keeps it when
 * it becomes leader, so its clients' tickets still decrypt.  A new ring
 * is a leader. */
void tls_keys_set_leader(struct tls_keys *r, bool leader);

/* A leader whose current key is at least a period old rotates: the
 * oldest key goes, next becomes current, a new next is made.  Returns
 * true if it rotated.  now_ms: same clock as at creation.  Any thread. */
bool tls_keys_tick(struct tls_keys *r, uint64_t now_ms);
/* Rotate now (tests, and tls_keys_tick).  0 or -EIO (no randomness: the
 * ring is left as it was). */
int tls_keys_rotate(struct tls_keys *r, uint64_t now_ms);

/* The key that encrypts new tickets, copied out.  Any thread. */
void tls_keys_current(struct tls_keys *r, struct tls_key *out);
/* The key named name, copied out: 1 if it is current, 2 if it is another
 * key of the ring (the ticket decrypts and should be renewed), 0 if no
 * key has that name.  Any thread. */
int tls_keys_find(struct tls_keys *r, const uint8_t name[TLS_KEY_NAME_LEN], struct tls_key *out);
/* How many keys, and the names newest first (tests, status). */
size_t tls_keys_names(struct tls_keys *r, uint8_t names[][TLS_KEY_NAME_LEN], size_t max);
/* Times the ring changed (rotation or import): a follower's "have I got
 * this one" and a status figure. */
uint64_t tls_keys_generation(struct tls_keys *r);

/* ---- replication: the ring encrypted under the cluster key ----
 *
 * The sync envelope authenticates but does not hide its payload; these
 * keys are secret, so they travel encrypted (docs/protocol.md
 * "MSG_TLS_KEYS"): AES-256-GCM under a key derived from the cluster key
 * by HKDF-SHA256 (info "andromeda tls-ticket-keys v1"), a random 96-bit
 * nonce per message, the clear header as associated data. */
#define TLS_KEYS_WIRE_VERSION 1
#define TLS_KEYS_WIRE_HDR     16 /* version, count, reserved, nonce */
#define TLS_KEYS_WIRE_TAG     16
#define TLS_KEYS_WIRE_MAX                                                         \
	(TLS_KEYS_WIRE_HDR + 8 +                                                  \
	 TLS_KEYS_MAX * (TLS_KEY_NAME_LEN + TLS_KEY_AES_LEN + TLS_KEY_HMAC_LEN) + \
	 TLS_KEYS_WIRE_TAG)

/* Encode r's keys and the age of its current key into out, encrypted
 * under cluster (key_len bytes).  Returns the length, -ENOSPC or -EIO. */
int tls_keys_export(struct tls_keys *r, const uint8_t *cluster, size_t key_len, uint64_t now_ms,
		    uint8_t *out, size_t cap);
/* Decrypt and check a payload of tls_keys_export and make it r's keys
 * (the age of the current key carries over, so the schedule goes on).
 * Returns 1 if r changed, 0 if it already had exactly these keys,
 * -EBADMSG (tampered, truncated, wrong cluster key, bad layout) or -EIO;
 * on an error r is untouched.  Leader or not: the caller decides whom
 * to accept a ring from. */
int tls_keys_import(struct tls_keys *r, const uint8_t *cluster, size_t key_len, uint64_t now_ms,
		    const uint8_t *in, size_t len);

#endif
