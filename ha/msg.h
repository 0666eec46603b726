/* msg.h - the authenticated envelope of every sync and registration
 * message (SPEC "HA module": HMAC-SHA256 over a shared cluster key, with a
 * sequence and a timestamp).  A pure codec: bytes in, struct or a drop
 * cause out.  Layout (network byte order), documented in docs/protocol.md:
 *
 *   0   4  magic "ANDR"
 *   4   1  version (MSG_VERSION)
 *   5   1  type (enum msg_type)
 *   6   2  payload length N (<= MSG_MAX_PAYLOAD)
 *   8   4  sender id (the sender's IPv4 address, or an agent's service address)
 *   12  8  sequence: strictly increasing per sender; starts at the sender's
 *          wall clock in microseconds, so a restarted sender continues upward
 *   20  8  timestamp: sender's wall clock, unix milliseconds
 *   28  N  payload (type-specific, see the codecs of sync and registration)
 *   28+N 32 HMAC-SHA256(key, bytes 0 .. 28+N-1)
 */
#ifndef ANDROMEDA_MSG_H
#define ANDROMEDA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_MAGIC "ANDR"
#define MSG_VERSION 1
#define MSG_HDR_LEN 28
#define MSG_MAC_LEN 32
#define MSG_MAX_PAYLOAD 1400  /* one datagram on a 1500-byte MTU */
#define MSG_MAX_LEN (MSG_HDR_LEN + MSG_MAX_PAYLOAD + MSG_MAC_LEN)
#define MSG_KEY_MIN 32        /* bytes of key material */
#define MSG_KEY_MAX 64

enum msg_type {
	MSG_SNAPSHOT = 1,     /* sync: one chunk of a full snapshot */
	MSG_DELTA = 2,        /* sync: one journal record between snapshots */
	MSG_SNAP_REQUEST = 3, /* sync: a backup asks for a snapshot */
	MSG_ANNOUNCE = 4,     /* agent -> balancers: a server is here */
	MSG_WITHDRAW = 5,     /* agent -> balancers: the server is leaving */
	MSG_ACK = 6,          /* balancer -> agent: announcement accepted */
	MSG_TYPE_MAX = 6,
};

/* Why a message was dropped; counted per cause by every receiver. */
enum msg_drop {
	MSG_OK = 0,
	MSG_DROP_SHORT,      /* shorter than header + MAC, or than its payload length */
	MSG_DROP_OVERSIZE,   /* longer than its payload length says, or payload too big */
	MSG_DROP_MAGIC,      /* not ours */
	MSG_DROP_VERSION,    /* unknown version */
	MSG_DROP_TYPE,       /* unknown type */
	MSG_DROP_MAC,        /* HMAC does not verify: wrong key or tampered */
	MSG_DROP_REPLAY,     /* sequence not above the last one seen from this sender */
	MSG_DROP_STALE,      /* timestamp too far from our clock (first contact only) */
	MSG_DROP_NCAUSES
};

struct msg {
	uint8_t type;
	uint32_t sender;       /* network byte order, as on the wire */
	uint64_t seq;
	uint64_t ts_ms;
	const uint8_t *payload;  /* points into the parsed buffer */
	uint16_t len;
};

struct msg_key {
	uint8_t bytes[MSG_KEY_MAX];
	size_t len;
};

/* Encode header + payload + MAC into out.  Returns the length or -ENOSPC
 * / -EINVAL (payload too big, bad type). */
int msg_encode(const struct msg_key *key, uint8_t type, uint32_t sender, uint64_t seq, uint64_t ts_ms,
	       const void *payload, size_t len, uint8_t *out, size_t cap);
/* Check framing and MAC (not replay: see msg_replay_check).  Fills *m
 * (payload points into buf).  Returns MSG_OK or the drop cause. */
enum msg_drop msg_decode(const struct msg_key *key, const uint8_t *buf, size_t len, struct msg *m);
const char *msg_drop_name(enum msg_drop d);

/* Replay protection: the last sequence accepted per sender. */
#define MSG_MAX_SENDERS 64
struct msg_replay {
	struct {
		uint32_t sender;
		uint64_t last_seq;
		uint64_t last_used;    /* for eviction, caller's clock */
	} s[MSG_MAX_SENDERS];
	unsigned n;
	uint64_t max_age_ms;       /* first contact: |ts - now| must be <= this */
};
/* MSG_OK and records the sequence, or MSG_DROP_REPLAY / MSG_DROP_STALE.
 * now_ms is the receiver's wall clock (unix ms). */
enum msg_drop msg_replay_check(struct msg_replay *r, const struct msg *m, uint64_t now_ms);

/* Key file: hexadecimal text, MSG_KEY_MIN..MSG_KEY_MAX bytes (64..128 hex
 * digits), surrounding whitespace ignored; a regular file that group and
 * others can neither read nor write.  Returns 0, or -errno with the reason
 * in err ("PATH: readable by other users (mode 0644); chmod 600 it"). */
int msg_key_load(const char *path, struct msg_key *key, char *err, size_t errlen);
/* Write a new random key (MSG_KEY_MIN bytes from getrandom, as 64 hex
 * digits and a newline) with mode 0600; refuses to overwrite an existing
 * file.  Returns 0 or -errno. */
int msg_key_generate(const char *path);

/* The next sequence for a sender: max(last + 1, wall clock in us). */
uint64_t msg_next_seq(uint64_t *last);

#endif
