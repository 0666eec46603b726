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
 *   12  8  sequence: strictly increasing per sender, whatever its clock:
 *          high 32 bits the sender's boot epoch (msg_epoch_next, kept in
 *          its state directory), low 32 bits a counter within that boot
 *   20  8  timestamp: sender's wall clock, unix milliseconds; for logs
 *          only, never used to accept or drop (a Pi may have no RTC)
 *   28  N  payload (type-specific, see the codecs of sync and registration)
 *   28+N 32 HMAC-SHA256(key, bytes 0 .. 28+N-1)
 */
#ifndef ANDROMEDA_MSG_H
#define ANDROMEDA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_MAGIC       "ANDR"
#define MSG_VERSION     1
#define MSG_HDR_LEN     28
#define MSG_MAC_LEN     32
#define MSG_MAX_PAYLOAD 1400 /* one datagram on a 1500-byte MTU */
#define MSG_MAX_LEN     (MSG_HDR_LEN + MSG_MAX_PAYLOAD + MSG_MAC_LEN)
#define MSG_KEY_MIN     32 /* bytes of key material */
#define MSG_KEY_MAX     64

enum msg_type {
	MSG_SNAPSHOT = 1,     /* sync: one chunk of a full snapshot */
	MSG_DELTA = 2,        /* sync: one journal record between snapshots */
	MSG_SNAP_REQUEST = 3, /* sync: a backup asks for a snapshot */
	MSG_ANNOUNCE = 4,     /* agent -> balancers: a server is here */
	MSG_WITHDRAW = 5,     /* agent -> balancers: the server is leaving */
	MSG_ACK = 6,          /* balancer -> agent: announcement accepted */
	MSG_HELLO = 7,        /* sync session: freshness challenge and its answer */
	MSG_BYE = 8,          /* sync session: why the sender closes it on purpose */
	MSG_ALIVE = 9,        /* sync: a BACKUP, on its session, every advert interval */
	MSG_TLS_KEYS = 10,    /* sync: the TLS ticket key ring, encrypted (tls_keys.h) */
	MSG_SUCCESSOR = 11,   /* sync: the MASTER, on a session: who takes over on its crash */
	MSG_INFLIGHT = 12,    /* sync: the MASTER's requests in flight, by id and server */
	MSG_LIVENESS = 13,    /* sync, UDP: fast liveness every liveness_interval (liveness.h) */
	MSG_TYPE_MAX = 13,
};

/* Why a message was dropped; counted per cause by every receiver.
 * msg_decode() checks in this order and returns the first failure:
 * SHORT (< 4 bytes), MAGIC, OVERSIZE (> MSG_MAX_LEN), SHORT (< header +
 * MAC), VERSION, TYPE, OVERSIZE (length field), SHORT / OVERSIZE (datagram
 * against length field), MAC. */
enum msg_drop {
	MSG_OK = 0,
	MSG_DROP_SHORT,    /* shorter than header + MAC, or than its payload length */
	MSG_DROP_OVERSIZE, /* longer than its payload length says, or payload too big */
	MSG_DROP_MAGIC,    /* not ours */
	MSG_DROP_VERSION,  /* unknown version */
	MSG_DROP_TYPE,     /* unknown type */
	MSG_DROP_MAC,      /* HMAC does not verify: wrong key or tampered */
	MSG_DROP_REPLAY,   /* sequence not above the last one seen from this sender */
	MSG_DROP_STALE,    /* first contact not proven fresh (unknown sender, sync) */
	MSG_DROP_NCAUSES
};

struct msg {
	uint8_t type;
	uint32_t sender; /* network byte order, as on the wire */
	uint64_t seq;
	uint64_t ts_ms;
	const uint8_t *payload; /* points into the parsed buffer */
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
int msg_encode(const struct msg_key *key, uint8_t type, uint32_t sender, uint64_t seq,
	       uint64_t ts_ms, const void *payload, size_t len, uint8_t *out, size_t cap);
/* Check framing and MAC (not replay: see msg_replay_check).  Reads no
 * byte at or past buf[len].  On MSG_OK fills *m (payload points into buf);
 * on a drop *m is zeroed, since nothing in it can be trusted.  A NULL or
 * invalid key fails closed (MSG_DROP_MAC).  Returns MSG_OK or the cause. */
enum msg_drop msg_decode(const struct msg_key *key, const uint8_t *buf, size_t len, struct msg *m);
/* Stable snake_case name of a cause ("bad_mac", "replay", ...), for log
 * lines and counter keys; "unknown" outside the enum. */
const char *msg_drop_name(enum msg_drop d);

/* Replay protection: the last sequence accepted per sender.  Zero it
 * (and set trust_first if wanted) before use.  When full, a new sender
 * evicts the least recently accepted one, which is then first contact
 * again.  No wall clock anywhere: see docs/protocol.md "Anti-replay". */
#define MSG_MAX_SENDERS 64
struct msg_replay {
	struct {
		uint32_t sender;
		uint64_t last_seq;
		uint64_t last_used; /* for eviction, caller's monotonic clock */
		uint64_t proof_seq; /* msg_replay_learn()'s last seq, 0 = none */
		uint64_t proof_ms;  /* ... and when */
	} s[MSG_MAX_SENDERS];
	unsigned n;
	/* Unknown sender: true = accept its first message and record it
	 * (registration: a capture can be replayed once after this receiver
	 * restarted, with an effect bounded by one announce interval);
	 * false = MSG_DROP_STALE until msg_replay_learn() is told a sequence
	 * the sender proved fresh (sync: the session's HELLO exchange). */
	bool trust_first;
};
/* Call after msg_decode() returned MSG_OK.  A known sender passes only
 * with a sequence above its last one (else MSG_DROP_REPLAY).  An unknown
 * one: see trust_first.  On MSG_OK the sequence is recorded.  now_ms is
 * the receiver's monotonic clock, used only to pick whom to evict. */
enum msg_drop msg_replay_check(struct msg_replay *r, const struct msg *m, uint64_t now_ms);
/* seq from sender was proven fresh (it answered our nonce): everything
 * after it is fresh too.  Records max(known, seq), so a proof never lowers
 * what a known sender must exceed. */
void msg_replay_learn(struct msg_replay *r, uint32_t sender, uint64_t seq, uint64_t now_ms);
/* m, refused by msg_replay_check() as a replay, was sent just before the
 * proof msg_replay_learn() was last told for its sender (at most
 * MSG_PROOF_GRACE_SEQ messages before it, within MSG_PROOF_GRACE_MS):
 * in flight on this channel while the proof came on the other one (sync:
 * a datagram overtaken by the session's HELLO).  Still refused, but the
 * caller need not count it as an attack. */
#define MSG_PROOF_GRACE_SEQ 64
#define MSG_PROOF_GRACE_MS  1000
bool msg_replay_in_flight_at_proof(const struct msg_replay *r, const struct msg *m,
				   uint64_t now_ms);

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

/* Boot epoch: the number in the file at path plus one, at least now_s
 * (the wall clock in seconds, which only matters when the file is lost:
 * with a right clock the epoch still exceeds every earlier one), at most
 * UINT32_MAX.  Written back (temporary file, fsync, rename, fsync of the
 * directory) before it is used.  A missing file is a first start; an
 * unreadable or corrupt one is logged and counts as missing.  *epoch is
 * always set; returns 0, or -errno when it could not be stored (logged:
 * the epoch is then still good for this run, the next start may reuse
 * it and be dropped as a replay until it counts past this run). */
int msg_epoch_next(const char *path, uint64_t now_s, uint32_t *epoch);
/* msg_epoch_next with the wall clock, into a sequence counter: *last =
 * epoch << 32.  One call per process start and counter. */
int msg_seq_init(uint64_t *last, const char *path);
/* The next sequence: *last + 1, also stored in *last.  The low 32 bits
 * carry into the epoch after 4 billion messages of one boot. */
uint64_t msg_next_seq(uint64_t *last);

#endif
