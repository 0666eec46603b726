/* journal.h - the on-disk journal (SPEC "HA module", the seed's bitácora).
 *
 * Each node appends every state change - role changes, VIPs, servers
 * registered/withdrawn/expired/up/down/drained/enabled, snapshots, peers -
 * to the append-only file "journal" in cfg->node.state_dir.  A restarted
 * node rebuilds its dynamic pool from it (journal_rebuild) before it
 * advertises, and `andromedactl journal` shows it (journal_read).
 *
 * Record layout (network byte order; docs/journal.md has the rationale):
 *
 *   0   4  magic "ANJR"
 *   4   2  record length L, all of it: header + name + detail + CRC
 *   6   1  version (JOURNAL_VERSION)
 *   7   1  type (enum journal_type)
 *   8   8  sequence number: strictly increasing, survives restarts
 *   16  8  wall-clock time, unix milliseconds
 *   24  4  IPv4 address (as in sin_addr)
 *   28  2  port
 *   30  2  weight
 *   32  4  registration expiry: milliseconds left at `time`, 0 = never
 *   36  1  source (enum server_source)
 *   37  1  health (enum server_health)
 *   38  1  flags: bit 0 = drain, bit 1 = IPv6 address, the others zero
 *   39  1  name length n (0..JOURNAL_NAME_MAX)
 *   40  1  detail length d (0..JOURNAL_DETAIL_MAX)
 *   41  n  name, printable ASCII without blanks
 *   41+n d detail, printable ASCII
 *   41+n+d 16  only with flag bit 1: the IPv6 address (bytes 24..27 are 0)
 *   L-4 4  CRC-32C (Castagnoli, RFC 3720 appendix B.4) of bytes 0..L-5
 *
 * Crash safety: one write(2) per record on an O_APPEND descriptor.  At open
 * the file is read front to back; the first record that is cut short (a
 * torn write), fails its CRC or does not follow its predecessor's sequence
 * ends the journal, and the file is truncated back to the last good record
 * (one log line says how many bytes were dropped).  A corrupt record in the
 * middle therefore loses every record after it: compaction keeps the file
 * short so that little is at stake.
 *
 * Durability: fdatasync after the records that change what a restart
 * rebuilds or an operator audits (journal_type_durable: role, VIP, server
 * registered/withdrawn/expired/drained/enabled/updated, snapshot applied,
 * compaction); health up/down, peer and snapshot-sent records are only
 * written, so a flapping server never waits on the disk.  The journal is
 * called on state changes only, never per request.
 *
 * Bound: when an append takes the file past JOURNAL_COMPACT_BYTES or
 * JOURNAL_COMPACT_RECORDS, it compacts it (a compacted file, at most
 * JOURNAL_STATE_MAX + 1 records, is far below both): the file is rewritten as one
 * JR_COMPACTED record followed by one JR_SERVER_STATE record per server the
 * state source reports (journal_set_state_source), into "journal.tmp",
 * fsynced, renamed over "journal", and the directory fsynced - a crash
 * leaves either the old file or the new one, and a stale "journal.tmp" is
 * removed at the next open.
 *
 * Not thread-safe; one process per state_dir (journal_open takes a lock). */
#ifndef ANDROMEDA_JOURNAL_H
#define ANDROMEDA_JOURNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#define JOURNAL_FILE       "journal"
#define JOURNAL_TMP_FILE   "journal.tmp"
#define JOURNAL_MAGIC      "ANJR"
#define JOURNAL_VERSION    1
#define JOURNAL_NAME_MAX   63  /* characters, as CFG_NAME_MAX - 1 */
#define JOURNAL_DETAIL_MAX 200 /* characters */
#define JOURNAL_HDR_LEN    41
#define JOURNAL_CRC_LEN    4
#define JOURNAL_REC_MIN    (JOURNAL_HDR_LEN + JOURNAL_CRC_LEN)
#define JOURNAL_V6_LEN     16
#define JOURNAL_REC_MAX    (JOURNAL_REC_MIN + JOURNAL_NAME_MAX + JOURNAL_DETAIL_MAX + JOURNAL_V6_LEN)

/* Compaction bounds (see above and docs/journal.md). */
#define JOURNAL_COMPACT_BYTES   (1024 * 1024)
#define JOURNAL_COMPACT_RECORDS 10000
/* Most servers a state source may report at one compaction. */
#define JOURNAL_STATE_MAX       1024

enum journal_type {
	JR_STARTED = 1, /* the daemon started (detail: version, config) */
	JR_STOPPED,     /* clean shutdown */
	JR_ROLE,        /* detail: "BACKUP -> MASTER (reason)" */
	JR_VIP_ADDED,   /* addr = VIP; detail: "198.18.0.10/24 on eth0" */
	JR_VIP_REMOVED,
	JR_SERVER_REGISTERED, /* server records carry the server's full state */
	JR_SERVER_WITHDRAWN,  /* removes it from the rebuilt pool */
	JR_SERVER_EXPIRED,    /* removes it too */
	JR_SERVER_UP,
	JR_SERVER_DOWN,
	JR_SERVER_DRAINED,
	JR_SERVER_ENABLED,
	JR_SERVER_UPDATED, /* weight or address changed */
	JR_SERVER_STATE,   /* compaction: one per server in the state */
	JR_SNAPSHOT_SENT,  /* answering a request, not the periodic ones */
	JR_SNAPSHOT_APPLIED,
	JR_PEER_SEEN, /* name = peer node, addr = its address */
	JR_PEER_LOST,
	JR_COMPACTED, /* first record of a compacted file; resets the rebuild */
	JR_INFLIGHT,  /* at a takeover: requests the old MASTER had at a server
		       * (detail: its address, the server, the request ids) */
	JR_TYPE_MAX = JR_INFLIGHT
};

/* The server fields needed to rebuild the dynamic pool.  Other records
 * may use name/addr too (peer, VIP) or leave them zero. */
struct journal_server {
	char name[JOURNAL_NAME_MAX + 1]; /* NUL-terminated */
	struct in_addr addr;             /* IPv4; 0 when v6 */
	struct in6_addr addr6;           /* IPv6, when v6 */
	bool v6;
	uint16_t port; /* host byte order */
	uint16_t weight;
	enum server_source source;
	enum server_health health;
	bool drain;
	uint32_t expires_in_ms; /* left at the record's time; 0 = never */
};

struct journal_rec {
	uint64_t seq;     /* set by journal_append */
	uint64_t time_ms; /* set by journal_append (unix ms) */
	enum journal_type type;
	struct journal_server srv;
	char detail[JOURNAL_DETAIL_MAX + 1]; /* NUL-terminated, may be empty */
};

struct journal;

/* ---- the pure codec, journal_codec.c (what the unit tests and the fuzzer target) ---- */

/* Encode r into buf.  Returns the record length (JOURNAL_REC_MIN ..
 * JOURNAL_REC_MAX) or -EINVAL (unknown type; name or detail unterminated,
 * too long or with characters outside printable ASCII; a server record
 * without a name; source or health out of range) or -ENOSPC (cap). */
int journal_encode(const struct journal_rec *r, uint8_t *buf, size_t cap);

/* Decode the record at the start of buf into *r; *used = its length.
 * Returns 0, -ENODATA (buf ends inside the record: a torn tail) or
 * -EBADMSG (bad magic, length, CRC, version, type or field).  A decoded
 * record re-encodes to the same bytes. */
int journal_decode(const uint8_t *buf, size_t len, struct journal_rec *r, size_t *used);

/* CRC-32C of len bytes, continuing from crc (start with 0). */
uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len);

/* "role", "vip-added", "server-registered", ...; "unknown" otherwise. */
const char *journal_type_name(enum journal_type t);
/* Whether an append of this type is followed by fdatasync. */
bool journal_type_durable(enum journal_type t);
/* Whether the type describes a server (and so needs srv.name). */
bool journal_type_is_server(enum journal_type t);

/* Fill r: zeroes it, sets type, and copies name and detail (either may be
 * NULL).  Returns 0 or -EINVAL when one is too long. */
int journal_rec_init(struct journal_rec *r, enum journal_type type, const char *name,
		     const char *detail);
/* Copy a pool server's state into js.  now_mono_ms: the monotonic clock
 * srv->expires_ms is measured on (loop time).  Returns 0 or -EINVAL when
 * the name does not fit. */
int journal_server_from(struct journal_server *js, const struct server *srv, uint64_t now_mono_ms);

/* ---- the file, journal.c ---- */

/* Open (creating it, mode 0600) DIR/journal, validate it front to back,
 * truncate a torn or corrupt tail, remove a stale DIR/journal.tmp and lock
 * the directory against a second process.  dir must exist.  Returns 0 and
 * *out, or -errno: -EBUSY when another process holds the lock, -ENAMETOOLONG,
 * or what open/read/ftruncate said (one log line each). */
int journal_open(struct journal **out, const char *dir);
/* Close and free; NULL is a no-op.  Appends nothing (the caller journals
 * JR_STOPPED first if it wants one). */
void journal_close(struct journal *j);

/* Append one record.  Sets r->seq (last + 1) and r->time_ms (wall clock),
 * so the caller may forward the record (a sync delta).  Returns 0 or
 * -EINVAL (see journal_encode: nothing written, no sequence used), -EIO
 * (the journal is unusable after an earlier failed rollback), -EOVERFLOW
 * (the last sequence is UINT64_MAX: only a forged file) or the write
 * error (a short write is rolled back).  If fdatasync fails, the record is
 * in the file and r->seq is used, but its durability is unknown: the
 * fdatasync error is returned.  May compact (see above); a failed
 * compaction is logged and does not fail the append. */
int journal_append(struct journal *j, struct journal_rec *r);

/* Where compaction takes the current state from: fn fills at most cap
 * servers into out and returns how many, or -errno to skip this
 * compaction.  Without a source, appends never compact by themselves
 * (see journal_needs_compact). */
typedef int (*journal_state_fn)(struct journal_server *out, size_t cap, void *arg);
void journal_set_state_source(struct journal *j, journal_state_fn fn, void *arg);

/* Rewrite the journal as JR_COMPACTED + one JR_SERVER_STATE per state[i]
 * (new sequence numbers, continuing), atomically (see above).  Returns 0,
 * -EINVAL (a server does not encode), -E2BIG (n > JOURNAL_STATE_MAX),
 * -EBUSY (called from a journal_replay callback) or the I/O error; on
 * failure the old file is kept as it was.  A successful compaction also
 * re-enables appends after an -EIO. */
int journal_compact(struct journal *j, const struct journal_server *state, size_t n);
bool journal_needs_compact(const struct journal *j);

/* Call fn for every record, oldest first.  fn returns 0 to go on; any
 * other value stops the walk and is returned.  Returns 0, fn's value, or
 * -errno (-EBADMSG if the file changed under us since open). */
typedef int (*journal_fn)(const struct journal_rec *r, void *arg);
int journal_replay(struct journal *j, journal_fn fn, void *arg);

/* The records with seq > since, oldest first: the NEWEST `max` of them go
 * to out[0..*n-1]; *skipped (may be NULL) counts the older ones that did
 * not fit.  Returns 0 or -errno. */
int journal_read(struct journal *j, uint64_t since, struct journal_rec *out, size_t max, size_t *n,
		 uint64_t *skipped);

/* Fold the journal into the server set a restart rebuilds: every server
 * record replaces the entry of that name (the last one wins), withdrawn
 * and expired remove it, JR_COMPACTED empties the set.  A server whose
 * registration expiry has passed by now_ms (wall clock, unix ms) is left
 * out; the others get expires_in_ms recomputed from now_ms.  Entries keep
 * their source: the daemon re-adds the registered ones and may apply the
 * drain flag of a static one still in its configuration.  Fills out[0..*n-1]
 * in order of first appearance.  Returns 0, -ENOSPC (more than max
 * servers) or -errno. */
int journal_rebuild(struct journal *j, uint64_t now_ms, struct journal_server *out, size_t max,
		    size_t *n);

uint64_t journal_last_seq(const struct journal *j);
uint64_t journal_size(const struct journal *j);  /* bytes */
uint64_t journal_count(const struct journal *j); /* records */
/* Wall clock, unix milliseconds (what records are stamped with). */
uint64_t journal_now_ms(void);

#endif
