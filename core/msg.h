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
/* Suggested msg_replay.max_age_ms: wide enough for clocks kept by NTP,
 * narrow enough to bound replays after a receiver restart. */
#define MSG_MAX_AGE_MS_DEFAULT 30000

enum msg_type {
	MSG_SNAPSHOT = 1,     /* sync: one chunk of a full snapshot */
	MSG_DELTA = 2,        /* sync: one journal record between snapshots */
	MSG_SNAP_REQUEST = 3, /* sync: a backup asks for a snapshot */
	MSG_ANNOUNCE = 4,     /* agent -> balancers: a server is here */
	MSG_WITHDRAW = 5,     /* agent -> balancers: the server is leaving */
	MSG_ACK = 6,          /* balancer -> agent: announcement accepted */
	MSG_ALIVE = 7,        /* sync: a BACKUP, on its session, every advert interval */
	MSG_TYPE_MAX = 7,
};

/* Why a message was dropped; counted per cause by every receiver.
 * msg_decode() checks in this order and returns the first failure:
 * SHORT (< 4 bytes), MAGIC, OVERSIZE (> MSG_MAX_LEN), SHORT (< header +
 * MAC), VERSION, TYPE, OVERSIZE (length field), SHORT / OVERSIZE (datagram
 * against length field), MAC. */
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

/* Encode header + payload + MAC into out.  sender is in network byte
 * order.  The payload may already sit at out + MSG_HDR_LEN (built in
 * place).  Returns the length, -ENOSPC (cap too small), -EINVAL (payload
 * too big, bad type, key length outside MSG_KEY_MIN..MSG_KEY_MAX) or -EIO
 * (libcrypto failed). */
int msg_encode(const struct msg_key *key, uint8_t type, uint32_t sender, uint64_t seq, uint64_t ts_ms,
	       const void *payload, size_t len, uint8_t *out, size_t cap);
/* Check framing and MAC (not replay: see msg_replay_check).  Reads no
 * byte at or past buf[len].  On MSG_OK fills *m (payload points into buf);
 * on a drop *m is zeroed, since nothing in it can be trusted.  A NULL or
 * invalid key fails closed (MSG_DROP_MAC).  Returns MSG_OK or the cause. */
enum msg_drop msg_decode(const struct msg_key *key, const uint8_t *buf, size_t len, struct msg *m);
/* Stable snake_case name of a cause ("bad_mac", "replay", ...), for log
 * lines and counter keys; "unknown" outside the enum. */
const char *msg_drop_name(enum msg_drop d);

/* Replay protection: the last sequence accepted per sender.  Zero it and
 * set max_age_ms before use.  When full, a new sender evicts the least
 * recently accepted one, which is then treated as first contact again. */
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
/* Call after msg_decode() returned MSG_OK.  A known sender passes only
 * with a sequence above its last one (else MSG_DROP_REPLAY); its
 * timestamp is not looked at.  An unknown sender passes only when
 * |ts_ms - now_ms| <= max_age_ms (else MSG_DROP_STALE, nothing recorded).
 * On MSG_OK the sequence is recorded.  now_ms is the receiver's wall clock
 * (unix ms). */
enum msg_drop msg_replay_check(struct msg_replay *r, const struct msg *m, uint64_t now_ms);

/* Key file: hexadecimal text, MSG_KEY_MIN..MSG_KEY_MAX bytes (64..128 hex
 * digits), surrounding whitespace ignored; a regular file (not a symlink)
 * that group and others can neither read nor write.  Returns 0, or -errno
 * with "PATH: reason" in err (err may be NULL): the open(2) error
 * (-ENOENT, -EACCES, ...), -ELOOP (symlink), -EPERM (group/other
 * readable or writable: "PATH: readable by group or other users (mode
 * 0644); chmod 600 it"), -EINVAL (not a regular file, empty, not hex, odd
 * digit count, too short, too long).  Does not log: the caller does. */
int msg_key_load(const char *path, struct msg_key *key, char *err, size_t errlen);
/* Write a new random key (MSG_KEY_MIN bytes from getrandom, as 64 hex
 * digits and a newline) with mode 0600 whatever the umask, fsync'd;
 * refuses to overwrite an existing file or follow a symlink (-EEXIST).
 * Returns 0 or -errno, logging one line on failure.  (andromeda --gen-key) */
int msg_key_generate(const char *path);

/* The next sequence for a sender: max(last + 1, wall clock in us), also
 * stored in *last.  Start with *last = 0 (or the last sequence sent before
 * a restart); one counter per sender for every type it sends. */
uint64_t msg_next_seq(uint64_t *last);
/* The same with the clock given (now_us, unix microseconds): pure, so a
 * test can drive it with a clock it controls. */
uint64_t msg_next_seq_at(uint64_t *last, uint64_t now_us);

#endif
