/* sync_session.h - the TCP side of state replication (sync_session.c),
 * for ha/sync.c only.
 *
 * Each BACKUP keeps one session to the sync port of the MASTER it hears
 * (reconnecting every SYNC_RECONNECT_MS); the MASTER accepts up to
 * SYNC_MAX_SESSIONS.  A session starts with the HELLO nonce exchange
 * (docs/protocol.md "Anti-replay without a clock"), then carries snapshot
 * requests and their answers.  A node that ends a session on purpose sends
 * a BYE first.  The BACKUP's crash detector: its session ending without a
 * BYE (or with BYE "shutdown") while it follows that MASTER calls
 * vrrp_master_lost().
 *
 * Sessions are freed only by their own event handler or the poll timer,
 * never under a caller: the functions below may mark a session dead.
 * Single-threaded (the daemon's event loop). */
#ifndef ANDROMEDA_SYNC_SESSION_H
#define ANDROMEDA_SYNC_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "sync_int.h"

/* Set up the session fields of s (no session, no listener).  Cannot fail;
 * call before sync_sessions_open() and before any sync_sessions_close(). */
void sync_sessions_init(struct sync *s);
/* Listen on the sync port (TCP) and start the poll timer that keeps a
 * BACKUP's session to its MASTER.  Returns 0 or -errno. */
int sync_sessions_open(struct sync *s);
/* Close every session (accepted ones get a BYE "shutdown" first, best
 * effort), the listener and the timer.  Never fires the crash detector. */
void sync_sessions_close(struct sync *s);
/* Close our session to the MASTER, if any (a role change): not a crash. */
void sync_session_close_up(struct sync *s);

/* Queue one message (an envelope) on ss, framed; a peer that leaves more
 * than 256 KiB unread gets a BYE "slow_reader" instead. */
void sync_session_send(struct session *ss, const uint8_t *buf, size_t len);
/* ss sent a message that verified under the key: it is kept past the
 * authentication timeout. */
void sync_session_authed(struct session *ss);
/* A HELLO (verified, not replay-checked) / a BYE (verified and fresh)
 * received on ss. */
void sync_session_rx_hello(struct session *ss, const struct msg *m);
void sync_session_rx_bye(struct session *ss, const struct msg *m);

/* Issue 15 (successor.h).  MASTER: ss was sent our snapshot (it may be
 * named).  BACKUP: MSG_SUCCESSOR (verified and fresh) received on ss.
 * The successor named by us (MASTER) or by our MASTER, 0.0.0.0 if none. */
void sync_session_served(struct session *ss);
void sync_session_rx_successor(struct session *ss, const struct msg *m);
struct in_addr sync_session_successor(const struct sync *s);

/* ss (may be NULL) is connected and its peer proved its sequence fresh. */
bool sync_session_ready(const struct session *ss);
/* ss (not NULL) proved the key under its own address (its peer's VRRP
 * adverts count: vrrp_source_proven). */
bool sync_session_addr_proven(const struct session *ss);
/* ss (may be NULL) is connected. */
bool sync_session_established(const struct session *ss);
/* The address at the other end of ss (not NULL). */
struct in_addr sync_session_peer(const struct session *ss);

#endif
