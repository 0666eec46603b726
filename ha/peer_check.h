/* peer_check.h - is a balancer's process gone?  For the VRRP instances
 * other than the first (ha.h "Instances"): a MASTER of the first
 * instance holds no session to its peers, only their sessions to it, and
 * such a session also ends when its BACKUP closes it on purpose.  So when
 * one ends by the peer's kernel (EOF or reset, no BYE), this connects to
 * the peer's sync port once: a refusal, or a reset before any byte (the
 * listener of a dying process), means its kernel answers and nobody
 * listens - the process is gone.  Its HELLO (alive), an EOF, or no answer
 * within the timeout change nothing: the RFC timers run on.  The same
 * test as the named successor's (successor_confirm.h). */
#ifndef ANDROMEDA_PEER_CHECK_H
#define ANDROMEDA_PEER_CHECK_H

#include <netinet/in.h>
#include <stdint.h>

struct loop;
struct peer_check;

#define PEER_CHECK_MAX 4 /* checks at a time; a fifth replaces the oldest */

/* dead(arg, peer): the peer's process is gone (called from the loop). */
typedef void (*peer_check_dead_fn)(void *arg, struct in_addr peer);

/* port: the peers' sync port (host order); timeout_ms: how
 * long to wait for an answer.  0 or -ENOMEM. */
int peer_check_create(struct peer_check **out, struct loop *loop, uint16_t port,
		      uint32_t timeout_ms, peer_check_dead_fn dead, void *arg);
/* Stop every running check and free.  NULL is a no-op. */
void peer_check_destroy(struct peer_check *pc);
/* Check peer (a check of it already running goes on). */
void peer_check_start(struct peer_check *pc, struct in_addr peer);

#endif
