/* client.h - client connections (client.c): accepted sockets, their
 * timer, the lingering close after our own last bytes, and the count that
 * pauses accepting at maxconn.  What a client's bytes mean is its
 * protocol's (cl->ops, txn.h): client.c passes every event up through it. */
#ifndef ANDROMEDA_CLIENT_H
#define ANDROMEDA_CLIENT_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "proxy_types.h"

/* A client on accepted socket fd, speaking ops; watched for reading.
 * With tls (a TLS listener's certificates), the handshake comes first:
 * cl->handshaking is set, and client.c calls ops->start once it is done
 * (within tls_handshake_timeout); without, the caller calls ops->start.
 * Pauses accepting when this thread reaches its share of maxconn.
 * Returns NULL when out of memory (fd is left to the caller). */
struct client *client_new(struct proxy *px, int fd, const struct sockaddr_storage *peer,
			  const struct txn_ops *ops, struct tls_ctx *tls);
/* TLS: try the handshake at once, without waiting for the loop: the
 * ClientHello has usually arrived with the connection (one epoll round
 * less per handshake).  May close cl. */
void client_tls_begin(struct client *cl);
/* Close now and free cl->txn; the memory goes after this iteration. */
void client_close(struct client *cl);
/* The events to watch (LOOP_READ, LOOP_WRITE); nothing once closed. */
void client_want(struct client *cl, unsigned mask);
/* The transport: recv(), send() and sendmsg() with their return values
 * and errno (EAGAIN: wait for the event client_want() asked for), through
 * TLS on a TLS listener.  client_shutdown: no more bytes from us (TLS:
 * close_notify first). */
ssize_t client_recv(struct client *cl, void *buf, size_t len);
ssize_t client_send(struct client *cl, const void *buf, size_t len);
ssize_t client_sendv(struct client *cl, const struct iovec *iov, int cnt);
void client_shutdown(struct client *cl);
/* Our last bytes are out and nothing more is to be read: close_notify
 * (TLS), then client_close(). */
void client_finish(struct client *cl);
/* (Re)arm the client timer (cl->ops->client_timeout); 0 cancels it. */
void client_arm_timeout(struct client *cl, uint32_t ms);
/* Send cl->out (our own last bytes: an error response), half-close, read
 * and discard what the client still sends until it closes (a lingering
 * close), then close; all within 2 s.  cl->txn must be gone. */
void client_send_and_close(struct client *cl);
/* Free closed clients (from the reaper, proxy.c). */
void client_reap(struct proxy *px);

#endif
