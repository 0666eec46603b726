/* sync_codec.h - payloads of the state-replication messages (a pure codec;
 * the envelope around them is msg.h).  Byte layouts in docs/protocol.md.
 *
 *   MSG_SNAPSHOT      one chunk of the MASTER's full state: header + servers
 *   MSG_DELTA         one change between snapshots: op + one server
 *   MSG_SNAP_REQUEST  a BACKUP asks for a snapshot (gap, or just joined)
 *   MSG_HELLO         session: our nonce, and the peer's nonce echoed
 *   MSG_BYE           session: the sender closes it on purpose, and why
 *
 * Every state change on the MASTER increments its state sequence; a
 * snapshot says which sequence it reflects; a delta carries the sequence
 * it produces, so a BACKUP applies deltas only in order and asks for a
 * snapshot on a gap. */
#ifndef ANDROMEDA_SYNC_CODEC_H
#define ANDROMEDA_SYNC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_NAME_MAX            64  /* including the NUL */
#define SYNC_HOST_MAX            64  /* health_host, including the NUL */
#define SYNC_SERVER_BASE_MAX_LEN 110 /* encoded size of one server without a health host */
#define SYNC_SERVER_V6_LEN       16  /* more for an IPv6 address */
#define SYNC_SERVER_MAX_LEN      (SYNC_SERVER_BASE_MAX_LEN + SYNC_HOST_MAX + SYNC_SERVER_V6_LEN)
#define SYNC_SNAP_HDR_MAX_LEN    (8 + 4 + 2 + 2 + 2 + 1 + SYNC_NAME_MAX)

enum sync_source {
	SYNC_SRC_STATIC = 0,
	SYNC_SRC_REGISTERED = 1
};

/* One server as replicated. */
struct sync_server {
	char name[SYNC_NAME_MAX];
	uint32_t addr;     /* IPv4, network byte order; 0 when v6 */
	uint8_t addr6[16]; /* IPv6, network byte order, when v6 */
	bool v6;           /* the address is addr6 (flag bit 3 on the wire) */
	uint16_t port;     /* host byte order */
	uint16_t weight;   /* 1..256 */
	uint8_t source;    /* enum sync_source */
	bool up;
	bool drain;
	uint32_t expires_in_ms; /* registered: time left before expiry, 0 = never */
	uint64_t requests;
	uint64_t failures;
	uint32_t inflight; /* routing-table summary: requests in flight */
	uint32_t queued;
	int64_t lb_current;              /* round-robin position (smooth WRR score) */
	char health_host[SYNC_HOST_MAX]; /* the server's own Host for checks, "" = none
					  * (an agent's health_host: a new MASTER keeps it) */
};

struct sync_snap_hdr {
	uint64_t state_seq;         /* the state this snapshot reflects */
	uint32_t snap_id;           /* same for every chunk of one snapshot */
	uint16_t chunk;             /* 0..nchunks-1 */
	uint16_t nchunks;           /* 1..SYNC_MAX_CHUNKS */
	uint16_t nservers;          /* servers in this chunk */
	char master[SYNC_NAME_MAX]; /* node name of the sender */
};
#define SYNC_MAX_CHUNKS 64

enum sync_op {
	SYNC_OP_UPSERT = 1,
	SYNC_OP_REMOVE = 2
};

struct sync_delta {
	uint64_t state_seq;
	uint8_t op;             /* enum sync_op */
	struct sync_server srv; /* REMOVE: only name is meaningful */
};

struct sync_request {
	uint64_t have_seq; /* the requester's state sequence (0: nothing) */
	uint8_t priority;  /* the requester's VRRP priority (backups are silent) */
	char node[SYNC_NAME_MAX];
};

/* HELLO (16 bytes): each end of a sync session sends one at once with a
 * fresh random nonce and echo 0, and answers (once) a HELLO that does not
 * echo its own nonce with one that echoes the peer's.  A HELLO echoing
 * our nonce was sent after we chose it: its sequence is fresh, and so is
 * everything above it from that sender (msg_replay_learn). */
struct sync_hello {
	uint64_t nonce; /* never 0 */
	uint64_t echo;  /* the peer's nonce, 0 if none yet */
};

/* BYE (1 byte): why a live node closes a session on purpose.  The peer
 * does not read the end of such a session as its process dying (only
 * SHUTDOWN still means "this node is leaving"). */
enum sync_bye {
	SYNC_BYE_SLOW_READER = 1, /* the peer did not read what we queued */
	SYNC_BYE_PROTOCOL = 2,    /* the peer sent a frame we cannot accept */
	SYNC_BYE_EVICTED = 3,     /* we needed the slot; understood, not sent (docs/protocol.md) */
	SYNC_BYE_SHUTDOWN = 4,    /* this node is stopping */
	SYNC_BYE_RESTART = 5,     /* this process is replaced (upgrade): the node stays */
	SYNC_BYE_MAX = 5,
};

/* Encoders return the length written or -ENOSPC / -EINVAL.  Decoders
 * return 0 or -EBADMSG (truncated, trailing bytes, bad field). */
int sync_snap_encode(const struct sync_snap_hdr *h, const struct sync_server *srv, size_t n,
		     uint8_t *out, size_t cap);
/* Decodes the header; then call sync_snap_server() nservers times. */
int sync_snap_decode(const uint8_t *buf, size_t len, struct sync_snap_hdr *h, size_t *off);
int sync_snap_server(const uint8_t *buf, size_t len, size_t *off, struct sync_server *srv);
/* Servers that fit in one chunk of cap payload bytes (worst case of a
 * server without a health host). */
size_t sync_snap_per_chunk(size_t cap);
/* The same for these n servers: the worst case of the longest of them
 * (a health host adds 1 + its length, an IPv6 address 16). */
size_t sync_snap_per_chunk_for(size_t cap, const struct sync_server *srv, size_t n);

int sync_delta_encode(const struct sync_delta *d, uint8_t *out, size_t cap);
int sync_delta_decode(const uint8_t *buf, size_t len, struct sync_delta *d);

int sync_request_encode(const struct sync_request *q, uint8_t *out, size_t cap);
int sync_request_decode(const uint8_t *buf, size_t len, struct sync_request *q);

int sync_hello_encode(const struct sync_hello *h, uint8_t *out, size_t cap);
/* -EBADMSG also for a zero nonce. */
int sync_hello_decode(const uint8_t *buf, size_t len, struct sync_hello *h);
/* -EINVAL for a reason outside enum sync_bye. */
int sync_bye_encode(uint8_t reason, uint8_t *out, size_t cap);
int sync_bye_decode(const uint8_t *buf, size_t len, uint8_t *reason);
/* "slow_reader", "protocol_error", "evicted", "shutdown"; "unknown". */
const char *sync_bye_name(uint8_t reason);

#endif
