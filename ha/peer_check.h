/* peer_check.h - is a balancer's process gone?  Asked when a sync
 * session ends by the peer's kernel (EOF or reset, no BYE): by the named
 * successor before it takes over at once (sync_session.c, successor.h),
 * and for the VRRP instances other than the first (ha.h "Instances"),
 * whose MASTER holds no session to us of its own.
 *
 * A reset also comes from a network device or a blip while the peer
 * lives, so this connects to the peer's sync port once: a refusal, or a
 * reset of the connection before any byte (the listener of a dying
 * process, closed after our SYN was queued, resets what it had not
 * accepted; the reset may arrive before or after we saw the connect
 * complete) means its kernel answers and nobody listens: the process is
 * gone.  Its HELLO (alive), an EOF, an error, or no answer within the
 * timeout say it may live: the RFC timers run on.  One or two round
 * trips on a LAN. */
#ifndef ANDROMEDA_PEER_CHECK_H
#define ANDROMEDA_PEER_CHECK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;
struct peer_check;

#define PEER_CHECK_MAX 4 /* checks at a time; a fifth replaces the oldest */

/* The verdict on peer (called from the loop, once per check): gone is
 * true when its process is gone; how says what its kernel did, for the
 * log ("refuses its sync port", "still answers on its sync port", "could
 * not be checked: <errno text>", ...). */
typedef void (*peer_check_fn)(void *arg, struct in_addr peer, bool gone, const char *how);

/* port: the peers' sync port (host order).  0 or -ENOMEM. */
int peer_check_create(struct peer_check **out, struct loop *loop, uint16_t port,
		      peer_check_fn verdict, void *arg);
/* Stop every running check (no verdict) and free.  NULL is a no-op. */
void peer_check_destroy(struct peer_check *pc);
/* Check peer, waiting up to timeout_ms for an answer (a check of it
 * already running goes on). */
void peer_check_start(struct peer_check *pc, struct in_addr peer, uint32_t timeout_ms);
/* Stop every running check, no verdict. */
void peer_check_cancel(struct peer_check *pc);

#endif
