/* proxy_types.h - the types the proxy's files share (not a public header).
 * Types only, and the one inline both connection files use: each file's
 * own header declares the functions it offers (bconn.h, txn.h, client.h,
 * tunnel.h, txn_http.h, proxy.h, workers.h), so that the #include lines
 * of the room state its arrows (README.md).
 *
 * Ownership: a client owns at most one txn at a time (pipelined requests
 * wait in client->in).  A txn holds a reference on its server and owns its
 * backend connection while it uses it.  Timers live in the object that
 * arms them and are cancelled before the object is freed.
 *
 * Threads: everything here belongs to one proxy thread (px->tid) and is
 * touched only by it; what it shares is the pool (pool.h) and the messages
 * of workers.c. */
#ifndef ANDROMEDA_PROXY_TYPES_H
#define ANDROMEDA_PROXY_TYPES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "acceptor.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"
#include "pool.h"
#include "proxy_stats.h"

struct tls_server;
struct ssl_st;

#define TXN_LOG_PATH_MAX 128 /* = ALOG_PATH_MAX (alog.h) */

enum txn_state {
	TXN_READING,    /* request head not complete */
	TXN_QUEUED,     /* waiting for a slot on txn->srv */
	TXN_CONNECTING, /* backend connect in progress */
	TXN_SENDING,    /* request going to the backend */
	TXN_WAITING,    /* request sent, no response byte yet */
	TXN_RESPONDING, /* response head received, streaming */
	TXN_TUNNEL,     /* bytes relayed both ways (tcp mode, Upgrade) */
};

struct proxy;
struct client;
struct bconn;
struct txn_ops;  /* txn.h: the protocol of a client connection */
struct bconn_cb; /* bconn.h: what a backend connection reports */
struct tls_ctx;  /* tls_ctx.h: certificates of the TLS listeners */
struct ssl_st;   /* OpenSSL's SSL: tls_conn.c's alone */
struct alog;     /* alog.h: the access log */

/* What a proxy thread of a group sends to the other threads: workers.c
 * implements it (proxy_create_thread), so that the proxy calls nothing of
 * workers.c by name.  Each returns false when the message could not be
 * sent (logged). */
struct proxy_msgs {
	/* To the main thread, which alone changes the pool: a request on
	 * srv failed (why), or succeeded. */
	bool (*failed)(void *arg, struct server *srv, enum server_fail why);
	bool (*ok)(void *arg, struct server *srv);
	/* To thread tid: one of srv's maxconn slots, for its queue. */
	bool (*slot)(void *arg, unsigned tid, struct server *srv);
};

struct txn {
	uint64_t id;
	char id_text[68];
	struct proxy *px;
	struct client *cl;
	enum txn_state state;
	uint64_t start_ms;

	struct server *srv;       /* assigned server (referenced), or NULL */
	struct server *failed_on; /* last server that failed this txn (referenced) */
	struct bconn *bc;         /* backend connection while attached */
	unsigned retries_left;
	bool counted_inflight; /* holds one of srv->inflight */

	/* Request side. */
	struct http_msg req;
	struct buf *rq;     /* bytes for the backend: rewritten head + body */
	uint32_t rq_sent;   /* of rq, from rq->head, already written */
	bool rq_replayable; /* rq still holds the request from byte 0 */
	bool req_done;      /* whole request read from the client */
	bool idempotent;

	/* Response side. */
	struct http_msg rsp;
	struct buf *rs;    /* bytes from the backend */
	uint32_t rs_ready; /* of rs, validated and ready for the client */
	struct buf *rh;    /* rewritten response head not yet sent */
	bool rsp_head_done;
	bool rsp_started; /* bytes already went to the client */
	bool rsp_done;
	bool bc_reusable; /* backend connection can go back to the pool */

	/* Tunnel (mode tcp / Upgrade). */
	bool cl_eof, srv_eof, cl_shut, srv_shut;

	struct loop_timer timer; /* queue_timeout, server_timeout */
	uint64_t queued_ms;      /* when it joined the queue */
	uint64_t wait_since_ms;  /* when it first waited in px->waiting, 0 = never */
	struct list qlink;       /* in srv->th[tid].queue while TXN_QUEUED, or in
				  * px->waiting (srv NULL) */
	struct list link;        /* in px->txns: the routing table */
	struct txn *next_free;

	/* For the access log (txn_log.c): times on the loop clock, 0 = not
	 * reached; server, method and path only while px->alog is set. */
	struct txn_log {
		uint64_t connect_start_ms; /* the last connect attempt began */
		uint64_t connected_ms;     /* a backend connection was ready */
		uint64_t first_byte_ms;    /* the first response byte from the server */
		uint64_t queue_ms;         /* time queued, every attempt */
		uint64_t bytes_in;         /* request bytes from the client */
		uint64_t bytes_out;        /* response bytes to the client */
		unsigned status;           /* our own answer (0: the server's, if any) */
		unsigned redispatches;     /* moved off a server that left rotation */
		char who, phase;           /* termination (txn_ended), 0 = derived */
		bool done;                 /* response (or tunnel) completed */
		bool dispatched;
		char server[CFG_NAME_MAX];
		char method[16];
		char path[TXN_LOG_PATH_MAX];
		bool path_cut;
	} log;
};

struct client {
	int fd;
	struct proxy *px;
	const struct txn_ops *ops; /* its protocol: HTTP, or a tunnel (mode tcp,
				    * and after an accepted Upgrade) */
	/* IPv4 or IPv6; ip for X-Forwarded-For, addr_text "[v6]:port" */
	struct sockaddr_storage peer;
	char ip[INET6_ADDRSTRLEN];
	char addr_text[NETADDR_TEXT_MAX];
	struct buf *in; /* bytes from the client */
	struct txn *txn;
	struct buf *out;         /* our own error response being written */
	struct loop_timer timer; /* handshake / header / keep-alive / inactivity */
	/* The transport (client.c): plain, or TLS through tls_conn.c. */
	struct ssl_st *ssl;     /* TLS listener: the session; NULL: plain */
	unsigned mask;          /* what the protocol watches (client_want) */
	uint8_t rd_want;        /* TLS: what the last blocked read waits for */
	uint8_t wr_want;        /* TLS: what the last blocked write waits for */
	bool handshaking;       /* TLS: the protocol has not started yet */
	struct loop_timer kick; /* TLS: decrypted bytes wait in the session */
	unsigned nrequests;
	bool close_after;  /* close once the current response is out */
	bool head_started; /* bytes of a new request head arrived */
	bool read_eof;     /* the client half-closed */
	bool lingering;    /* error sent: draining input before close */
	uint32_t lingered; /* bytes discarded while lingering */
	struct list link;  /* in px->clients */
};

struct bconn {
	int fd;
	struct proxy *px;
	struct server *srv;        /* referenced */
	struct txn *txn;           /* NULL while idle */
	const struct bconn_cb *cb; /* where events go while attached */
	bool connected;
	bool reused;             /* taken from the idle pool */
	bool dead;               /* closed; freed after this iteration */
	struct loop_timer timer; /* connect_timeout; idle expiry */
	struct list idle_link;   /* in srv->th[tid].idle_conns while idle */
	/* HTTPS to the server (tls = yes, tls_backend.h); NULL: plain. */
	struct tls_server *tls;
	struct ssl_st *ssl;     /* once TCP connected; connected = handshake done */
	unsigned mask;          /* what the txn asked for (bconn_want) */
	struct loop_timer kick; /* bytes decrypted and waiting: read without an event */
};

/* One listening socket of the frontend (listen, tls_listen). */
struct listener {
	struct proxy *px;
	int fd;
	bool tls;
	struct acceptor acceptor; /* on fd, once proxy_start() ran */
};

struct proxy {
	unsigned tid;                  /* proxy thread: 0 = the main thread */
	const struct proxy_msgs *msgs; /* to the other threads; NULL when alone */
	void *msgs_arg;
	struct loop *loop;
	struct pool *pool;
	const struct config *cfg;
	struct buf_pool bufs;
	struct listener listeners[2 * CFG_MAX_LISTEN];
	unsigned nlisteners;
	/* The certificates new TLS clients get: workers.c's, swapped at
	 * reload while this thread is parked; a client holds its own
	 * reference through its session. */
	struct tls_ctx *tls;
	struct log_limit tls_log[TLS_FAIL_COUNT]; /* one line per cause */
	bool stopping;
	bool handoff; /* systemctl restart: idle plain clients go to handoff.h */
	void (*drained)(void *arg);
	void *drained_arg;
	struct list clients;
	struct list reap;        /* closed clients, freed after this iteration */
	struct list reap_bconns; /* closed backend connections, likewise */
	struct loop_timer reap_timer;
	struct list txns;
	struct list waiting; /* txns with no server to go to (none eligible):
			      * TXN_QUEUED, srv NULL, linked by qlink */
	struct txn *free_txns;
	unsigned nfree_txns;
	uint64_t next_txn_id;
	uint32_t id_prefix;
	struct http_limits limits;
	struct proxy_stats stats;
	struct alog *alog; /* [frontend] access_log; NULL = off */
};

/* Who ended t, and in which phase (0: from t's state), for the access
 * log's termination state (docs/observability.md): the first cause set
 * is kept.  Inline: every layer that ends a txn sets it. */
static inline void txn_ended(struct txn *t, char who, char phase)
{
	if (t && !t->log.who) {
		t->log.who = who;
		t->log.phase = phase;
	}
}

/* Free closed clients and backend connections once the current loop
 * iteration is over (proxy.c's reaper: a zero-delay timer runs after the
 * batch of fd events), so that callbacks further down the same batch never
 * see freed memory.  Inline: both connection files need it, and it is no
 * function of either. */
static inline void proxy_reap_later(struct proxy *px)
{
	if (!loop_timer_armed(&px->reap_timer))
		loop_timer_arm(px->loop, &px->reap_timer, 0);
}

/* Accepting on every listener: off at maxconn or while draining (client.c
 * counts, proxy.c drains).  Inline for the same reason. */
static inline void proxy_accept_enable(struct proxy *px, bool on)
{
	for (unsigned i = 0; i < px->nlisteners; i++)
		acceptor_enable(&px->listeners[i].acceptor, on);
}

/* A descriptor was freed: a listener paused for want of one tries again. */
static inline void proxy_accept_kick(struct proxy *px)
{
	for (unsigned i = 0; i < px->nlisteners; i++)
		acceptor_kick(&px->listeners[i].acceptor);
}

#endif
