/* bconn.h - connections to backend servers and the per-server pool of idle
 * keep-alive connections (bconn.c).  The lowest layer of the proxy: it
 * knows the txn it serves only as data, and reports to it through the
 * callbacks its caller (txn.c) gives bconn_attach. */
#ifndef ANDROMEDA_BCONN_H
#define ANDROMEDA_BCONN_H

#include <stdbool.h>
#include <sys/types.h>

#include "proxy_types.h"

/* What a backend connection reports to the txn it is attached to. */
struct bconn_cb {
	/* The connect completed (not called for a reused connection:
	 * bconn_attach's 1 says that at once). */
	void (*connected)(struct txn *t);
	/* The connect failed or timed out (FAIL_CONNECT, FAIL_CONNECT_TMO), or
	 * its TLS handshake failed (FAIL_TLS): nothing was sent. */
	void (*failed)(struct txn *t, enum server_fail why);
	/* Connected and ready: events is LOOP_READ and/or LOOP_WRITE. */
	void (*io)(struct txn *t, unsigned events);
};

/* Attach a backend connection to t, for t->srv: an idle one if reuse_idle
 * and there is one, else a new one.  Returns 1 when it is usable at once
 * (reused), 0 when a connect is in progress (cb->connected or cb->failed
 * follows), or -errno.  t->bc is set unless -errno. */
int bconn_attach(struct txn *t, bool reuse_idle, const struct bconn_cb *cb);
/* Detach from its txn: back to the idle pool if reusable, else closed. */
void bconn_release(struct bconn *bc, bool reusable);
/* Close srv's idle connections of this thread. */
void bconn_close_idle(struct proxy *px, struct server *srv);
/* The events to watch (LOOP_READ, LOOP_WRITE); nothing once closed. */
void bconn_want(struct bconn *bc, unsigned mask);
/* Free closed backend connections (from the reaper, proxy.c). */
void bconn_reap(struct proxy *px);

/* I/O on a connected backend connection, plain or TLS alike, with the
 * contract of recv(2) and send(2) (errno EAGAIN: wait for bconn_want's
 * events).  Every byte to and from a server goes through these. */
ssize_t bconn_recv(struct bconn *bc, void *buf, size_t len);
ssize_t bconn_send(struct bconn *bc, const void *buf, size_t len);
/* No more bytes to the server (a tunnel's half-close): shutdown(SHUT_WR),
 * or TLS's close_notify. */
void bconn_shutdown_write(struct bconn *bc);

#endif
