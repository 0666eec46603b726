/* txn.h - one request (mode http) or connection (mode tcp) through its
 * server: dispatch, the per-server queue, retries, re-dispatch, and what
 * a request's outcome tells the pool (txn.c).  Also the interface of the
 * protocols that drive a txn (struct txn_ops).
 *
 * txn.c knows no protocol by name: it reports to the one of the client
 * through cl->ops, and to the other proxy threads through px->msgs. */
#ifndef ANDROMEDA_TXN_H
#define ANDROMEDA_TXN_H

#include <stdbool.h>

#include "proxy_types.h"

/* A protocol over a client connection, as HAProxy's mux_ops: the entry
 * points the layers below call upward.  cl->ops points to one of two
 * tables: txn_http_ops (txn_http.h) or tunnel_ops (tunnel.h).  A client
 * starts with the mode's table; an accepted Upgrade (101) swaps HTTP's for
 * the tunnel's (tunnel_start). */
struct txn_ops {
	/* A new client connection (proxy.c). */
	void (*start)(struct client *cl);
	/* The client's socket is ready (client.c): LOOP_READ and/or LOOP_WRITE. */
	void (*client_io)(struct client *cl, unsigned events);
	/* The client's timer fired (client.c): header, keep-alive, inactivity. */
	void (*client_timeout)(struct client *cl);
	/* cl->txn failed before its response started (txn.c): answer status,
	 * or close where there is nothing to answer with.  Frees cl->txn. */
	void (*fail)(struct client *cl, unsigned status);
	/* t's backend connection is up, new or reused (txn.c): start sending. */
	void (*backend_connected)(struct txn *t);
	/* t's backend connection is ready (bconn.c, through txn.c). */
	void (*backend_io)(struct txn *t, unsigned events);
	/* t->timer fired in a state of the protocol's own (any but QUEUED,
	 * which txn.c handles); NULL when the protocol arms none. */
	void (*timeout)(struct txn *t);
	/* The txn may take an idle keep-alive backend connection. */
	bool reuse_backend;
};

/* A new txn for cl (cl->txn), or NULL (out of memory). */
struct txn *txn_new(struct client *cl);
void txn_free(struct txn *t);
/* Free the txn free list (at destroy). */
void txn_reap_all(struct proxy *px);
const char *txn_state_name(enum txn_state s);

/* Choose a server and queue or connect.  exclude: a server not to use
 * unless it is the only one left. */
void txn_dispatch(struct txn *t, struct server *exclude);
/* The backend failed this txn; retry elsewhere if safe, else answer. */
void txn_backend_failed(struct txn *t, enum server_fail why, bool count_failure);
/* Release the server slot and the backend connection. */
void txn_release_server(struct txn *t, bool reuse_conn);
/* Fail the txn towards the client with status (through cl->ops->fail),
 * or just free it when it no longer has its client. */
void txn_fail(struct txn *t, unsigned status);

/* A slot of srv handed to this thread: start the head of its queue
 * (workers.c, on a message from another thread). */
void txn_slot_received(struct proxy *px, struct server *srv);
/* The pool's observer (pool.h): a server went down, was removed or
 * drains; moves or fails what is queued or in flight on it. */
void txn_pool_event(struct pool *pool, struct server *srv, enum pool_event ev, void *arg);

/* Outcomes for the pool, which only the main thread changes: a direct
 * call on thread 0, a message (px->msgs) from the others. */
void txn_report_failed(struct proxy *px, struct server *srv, enum server_fail why);
void txn_report_ok(struct proxy *px, struct server *srv);

#endif
