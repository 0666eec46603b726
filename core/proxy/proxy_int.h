/* proxy_int.h - types shared by the proxy's files (not a public header).
 *
 *   proxy.c     listener, client connections, timeouts, shutdown, stats
 *   txn.c       one request/connection through its server: dispatch,
 *               queue, retry, re-dispatch when a server fails
 *   txn_http.c  HTTP request and response processing of a txn
 *   bconn.c     backend connections and the idle keep-alive pool
 *   tunnel.c    byte relay for mode tcp and upgraded HTTP connections
 *   workers.c   the proxy threads and the messages between them
 *
 * Ownership: a client owns at most one txn at a time (pipelined requests
 * wait in client->in).  A txn holds a reference on its server and owns its
 * backend connection while it uses it.  Timers live in the object that
 * arms them and are cancelled before the object is freed.
 *
 * Threads: everything here belongs to one proxy thread (px->tid) and is
 * touched only by it; what it shares is the pool (pool.h) and the messages
 * of workers.c. */
#ifndef ANDROMEDA_PROXY_INT_H
#define ANDROMEDA_PROXY_INT_H

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
#include "pool.h"
#include "proxy.h"

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

struct txn {
	uint64_t id;
	char id_text[68];
	struct proxy *px;
	struct client *cl;
	enum txn_state state;
	uint64_t start_ms;

	struct server *srv;        /* assigned server (referenced), or NULL */
	struct server *failed_on;  /* last server that failed this txn (referenced) */
	struct bconn *bc;          /* backend connection while attached */
	unsigned retries_left;
	bool counted_inflight;     /* holds one of srv->inflight */

	/* Request side. */
	struct http_msg req;
	struct buf *rq;            /* bytes for the backend: rewritten head + body */
	uint32_t rq_sent;          /* of rq, from rq->head, already written */
	bool rq_replayable;        /* rq still holds the request from byte 0 */
	bool req_done;             /* whole request read from the client */
	bool idempotent;

	/* Response side. */
	struct http_msg rsp;
	struct buf *rs;            /* bytes from the backend */
	uint32_t rs_ready;         /* of rs, validated and ready for the client */
	struct buf *rh;            /* rewritten response head not yet sent */
	bool rsp_head_done;
	bool rsp_started;          /* bytes already went to the client */
	bool rsp_done;
	bool bc_reusable;          /* backend connection can go back to the pool */

	/* Tunnel (mode tcp / Upgrade). */
	bool cl_eof, srv_eof, cl_shut, srv_shut;

	struct loop_timer timer;   /* queue_timeout, server_timeout */
	uint64_t queued_ms;        /* when it joined the queue */
	struct list qlink;         /* in srv->th[tid].queue while TXN_QUEUED */
	struct list link;          /* in px->txns: the routing table */
	struct txn *next_free;
};

struct client {
	int fd;
	struct proxy *px;
	struct sockaddr_in peer;
	char ip[INET_ADDRSTRLEN];
	char addr_text[INET_ADDRSTRLEN + 8];
	struct buf *in;            /* bytes from the client */
	struct txn *txn;
	struct buf *out;           /* our own error response being written */
	struct loop_timer timer;   /* header / keep-alive / inactivity */
	unsigned nrequests;
	bool close_after;          /* close once the current response is out */
	bool head_started;         /* bytes of a new request head arrived */
	bool read_eof;             /* the client half-closed */
	bool lingering;            /* error sent: draining input before close */
	uint32_t lingered;         /* bytes discarded while lingering */
	struct list link;          /* in px->clients */
};

struct bconn {
	int fd;
	struct proxy *px;
	struct server *srv;        /* referenced */
	struct txn *txn;           /* NULL while idle */
	bool connected;
	bool reused;               /* taken from the idle pool */
	bool dead;                 /* closed; freed after this iteration */
	struct loop_timer timer;   /* connect_timeout; idle expiry */
	struct list idle_link;     /* in srv->th[tid].idle_conns while idle */
};

struct proxy {
	unsigned tid;              /* proxy thread: 0 = the main thread */
	struct workers *workers;   /* NULL when alone (one thread, unit tests) */
	unsigned maxconn;          /* client connections on this thread */
	struct loop *loop;
	struct pool *pool;
	const struct config *cfg;
	struct buf_pool bufs;
	int listen_fd;
	struct acceptor acceptor;  /* on listen_fd, once proxy_start() ran */
	bool stopping;
	void (*drained)(void *arg);
	void *drained_arg;
	struct list clients;
	struct list reap;          /* closed clients, freed after this iteration */
	struct list reap_bconns;   /* closed backend connections, likewise */
	struct loop_timer reap_timer;
	struct list txns;
	struct txn *free_txns;
	unsigned nfree_txns;
	uint64_t next_txn_id;
	uint32_t id_prefix;
	struct http_limits limits;
	struct proxy_stats stats;
};

/* proxy.c */
void client_close(struct client *cl);
void client_want(struct client *cl, unsigned mask);
/* Write our own error response and close (status 4xx/5xx). */
void client_send_error(struct client *cl, unsigned status);
/* The txn is finished with the client (response complete or failed). */
void client_txn_done(struct client *cl, bool keep_alive);
void client_arm_timeout(struct client *cl, uint32_t ms);
void proxy_check_drained(struct proxy *px);
/* Free closed objects once the current loop iteration is over. */
void proxy_reap_later(struct proxy *px);

/* txn.c */
struct txn *txn_new(struct client *cl);
void txn_free(struct txn *t);
/* Free the txn free list (at destroy). */
void txn_reap_all(struct proxy *px);
/* Choose a server and queue or connect.  exclude: a server not to use
 * unless it is the only one left. */
void txn_dispatch(struct txn *t, struct server *exclude);
/* The backend failed this txn; retry elsewhere if safe, else answer. */
void txn_backend_failed(struct txn *t, enum server_fail why, bool count_failure);
/* Release the server slot and the backend connection. */
void txn_release_server(struct txn *t, bool reuse_conn);
/* Fail the txn towards the client with status (or abort if the response
 * already started). */
void txn_fail(struct txn *t, unsigned status);
void txn_pool_event(struct pool *pool, struct server *srv, enum pool_event ev, void *arg);
const char *txn_state_name(enum txn_state s);

/* txn_http.c */
void http_client_readable(struct client *cl);
/* Parse what is buffered in cl->in (pipelined requests). */
void http_client_process(struct client *cl);
void http_txn_connected(struct txn *t);
void http_txn_backend_io(struct txn *t, unsigned events);
void http_client_writable(struct client *cl);

/* txn.c: the backend is connected (or was reused): start sending. */
void txn_connected(struct txn *t);
/* This thread holds one of srv's maxconn slots and no longer needs it:
 * give it to the request that has waited longest on any thread (here, or
 * by message), or free it. */
void txn_slot_handoff(struct proxy *px, struct server *srv);
/* A slot of srv handed to this thread: start the head of its queue. */
void txn_slot_received(struct proxy *px, struct server *srv);

/* bconn.c */
/* Free closed backend connections (from the reap timer). */
void bconn_reap(struct proxy *px);
/* Attach a backend connection (idle or new) to t.  Returns 1 when it is
 * usable at once (reused), 0 when a connect is in progress, or -errno. */
int bconn_attach(struct txn *t);
/* Detach from its txn: back to the idle pool if reusable, else closed. */
void bconn_release(struct bconn *bc, bool reusable);
void bconn_close_idle(struct proxy *px, struct server *srv);
void bconn_want(struct bconn *bc, unsigned mask);

/* workers.c: outcomes for the pool, which only the main thread changes
 * (direct calls on thread 0, a message from the others). */
void px_report_failed(struct proxy *px, struct server *srv, enum server_fail why);
void px_report_ok(struct proxy *px, struct server *srv);
/* Hand one slot of srv to thread tid (not px's own). */
void px_post_slot(struct proxy *px, unsigned tid, struct server *srv);

/* tunnel.c */
void tunnel_start(struct txn *t);
void tunnel_client_io(struct txn *t, unsigned events);
void tunnel_backend_io(struct txn *t, unsigned events);

#endif
