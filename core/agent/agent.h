/* agent.h - andromeda-agent: announces one backend server to the balancers
 * (SPEC "Backend registration").
 *
 * Every announce_interval the agent checks its local service (health_url,
 * agent_check.h) and, if the check passes, sends an authenticated
 * MSG_ANNOUNCE (regmsg.h inside the core/lib/msg.h envelope) to the LAN
 * broadcast address of its interface and to each unicast balancer, UDP
 * port cfg->port.  A service that fails its check is withdrawn (MSG_WITHDRAW)
 * and not announced again until a check passes.  SIGTERM sends the
 * withdraw twice, 50 ms apart, and ends the loop.  Acknowledgements from
 * the balancers are verified (MAC, replay, payload); the first from each
 * balancer and every change in its answer are logged; anything that does
 * not verify is dropped and counted per cause.
 *
 * Every message carries a new sequence (msg_next_seq), also when the same
 * announcement goes to several destinations, so a balancer that hears it
 * both by broadcast and by unicast never counts a replay.  The envelope's
 * sender id is the service's IPv4 address. */
#ifndef ANDROMEDA_AGENT_H
#define ANDROMEDA_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "config_agent.h"
#include "regmsg.h"

struct loop;
struct agent;

#define AGENT_WITHDRAW_GAP_MS 50 /* between the two withdraws on SIGTERM */
#define AGENT_MAX_SEEN        16 /* balancers whose answers are remembered */

struct agent_stats {
	uint64_t checks, checks_failed;
	uint64_t announces, withdraws; /* datagrams sent */
	uint64_t send_errors;
	uint64_t acks;                           /* verified acknowledgements */
	uint64_t drop_msg[MSG_DROP_NCAUSES];     /* envelope: MAC, replay, stale, ... */
	uint64_t drop_payload[REGMSG_E_NCAUSES]; /* an ack whose payload is malformed */
	uint64_t drop_type;                      /* verified, but not a MSG_ACK */
	uint64_t drop_foreign;                   /* an ack for another server name */
};

/* Open the UDP socket and the checker; nothing is sent until
 * agent_start().  The message sequence starts at the next boot epoch kept
 * in cfg->state_file (its directory is created if missing; a failure to
 * store it is logged and not fatal).  cfg and loop must outlive the agent; key is copied.
 * Returns 0 and *out, or -errno (logged). */
int agent_create(struct agent **out, struct loop *loop, const struct agent_config *cfg,
		 const struct msg_key *key);
/* First check at the next loop iteration, then one every interval. */
void agent_start(struct agent *a);
/* Graceful stop: cancel checks, send the withdraw now and again after
 * AGENT_WITHDRAW_GAP_MS, then loop_stop().  A second call is a no-op. */
void agent_stop(struct agent *a, const char *why);
void agent_destroy(struct agent *a);

/* One received datagram from IPv4 address from (network byte order; for
 * logs only: the balancer is identified by the envelope's sender id), as
 * the socket handler passes it; tests call it directly.  now_ms is the
 * loop's monotonic clock (which balancer to forget first).  Returns 0 for a verified ack of ours,
 * or -EBADMSG when it was dropped (and counted). */
int agent_input(struct agent *a, const uint8_t *buf, size_t len, uint32_t from, uint64_t now_ms);
/* Build the datagram the agent would send (encoded envelope) for an
 * announce (withdraw == false) or a withdraw with reason why.  Returns its
 * length or -errno.  Used by agent.c and the tests. */
int agent_build(struct agent *a, bool withdraw, uint8_t why, uint8_t *out, size_t cap);
void agent_get_stats(const struct agent *a, struct agent_stats *out);
/* The balancer's last answer as remembered (by envelope sender id, network
 * byte order).  Returns 0 or -ENOENT. */
int agent_last_ack(const struct agent *a, uint32_t sender, struct regmsg_ack *out);

/* The interface got an address or its carrier back: check and announce
 * at the next loop iteration instead of at the next tick, so that an agent
 * started before its interface was configured (boot order) registers as
 * soon as it can.  why is for the log.  No-op before agent_start() and
 * after agent_stop(). */
void agent_recheck(struct agent *a, const char *why);

/* How the program watches the agent's interface (main_agent.c, through
 * netlink/kwatch.c: this room's library links no netlink code).  open runs once
 * the agent exists, before the loop: it calls agent_recheck() on changes;
 * 0 or -errno (the agent then runs on its ticks alone).  close runs after
 * the loop. */
struct agent_watch {
	int (*open)(void *ctx, struct loop *loop, struct agent *a);
	void (*close)(void *ctx);
	void *ctx;
};

/* The program: block signals, run the loop until SIGTERM or SIGINT (and
 * the second withdraw).  Under systemd (NOTIFY_SOCKET, Type=notify) it
 * sends READY=1 once running, WATCHDOG=1 every WATCHDOG_USEC / 2 from the
 * loop, STOPPING=1 on SIGTERM (daemon_sd.h).  key is the loaded key_file
 * (main loads it, so a bad key file is reported like a bad configuration).
 * watch may be NULL.  Returns the process exit status (0 after a clean
 * stop). */
int agent_run(const struct agent_config *cfg, const struct msg_key *key,
	      const struct agent_watch *watch);

#endif
