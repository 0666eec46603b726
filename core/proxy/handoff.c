/* handoff.c - idle keep-alive clients kept for the next process (see
 * handoff.h). */
#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "proxy_types.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int *kept;
static unsigned nkept, capkept;

bool handoff_client_idle(const struct client *cl)
{
	return cl->fd >= 0 && !cl->ssl && !cl->handshaking && !cl->txn && !cl->out &&
	       !cl->head_started && !cl->read_eof && !cl->lingering &&
	       !(cl->in && buf_len(cl->in));
}

static int keep(int fd)
{
	int err = 0;

	pthread_mutex_lock(&lock);
	if (nkept == capkept) {
		unsigned cap = capkept ? 2 * capkept : 64;
		int *p = realloc(kept, cap * sizeof(*p));

		if (p) {
			kept = p;
			capkept = cap;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err)
		kept[nkept++] = fd;
	pthread_mutex_unlock(&lock);
	return err;
}

void handoff_client(struct client *cl)
{
	/* The copy keeps the connection open when client_close() closes
	 * cl->fd: no FIN, no RST, the client sees nothing. */
	int fd = fcntl(cl->fd, F_DUPFD_CLOEXEC, 3);

	if (fd >= 0 && keep(fd) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_errno(-ENOMEM, "restart: client %s cannot be kept: closed", cl->addr_text);
	/* The copy would keep cl->fd in the epoll set past client_close()
	 * (loop_close_fd): out of it first. */
	loop_del_fd(cl->px->loop, cl->fd);
	client_close(cl);
}

unsigned handoff_take(int *fds, unsigned max)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = nkept < max ? nkept : max;
	if (n) /* kept is NULL while nothing was ever kept */
		memcpy(fds, kept + (nkept - n), n * sizeof(*fds));
	nkept -= n;
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned handoff_count(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = nkept;
	pthread_mutex_unlock(&lock);
	return n;
}
