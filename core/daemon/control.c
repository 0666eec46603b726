/* control.c - the control socket: a unix SOCK_STREAM server on the event
 * loop.  One request line in, one JSON document out, then close (see
 * control.h for the protocol).  Each client is a small state machine:
 * READING (until "\n", EOF or the line limit) -> WRITING (until the reply
 * is sent) -> closed; one timer bounds each phase. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "acceptor.h"
#include "list.h"
#include "log.h"
#include "loop.h"

#define CONTROL_CMD_MAX    32 /* command word length, NUL included */
#define CONTROL_MAX_STATUS 16
#define CONTROL_DRAIN_MAX  65536 /* unread input discarded before close */

struct control_cmd {
	char name[CONTROL_CMD_MAX];
	const char *help;
	control_fn fn;
	void *arg;
	struct list link;
};

struct control_status {
	control_status_fn fn;
	void *arg;
};

struct control {
	struct loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* identity of our socket file, so that */
	ino_t ino; /* close never unlinks someone else's */
	struct list cmds;
	struct list clients;
	unsigned nclients;
	struct control_status status[CONTROL_MAX_STATUS];
	unsigned nstatus;
	struct acceptor acceptor;
	struct log_limit full_limit;
};

struct ctl_client {
	struct control *ctl;
	int fd;
	bool writing;
	size_t inlen;
	char in[CONTROL_LINE_MAX + 1]; /* +1 for the NUL after the line */
	char *out;
	size_t outlen, outoff;
	struct loop_timer timer;
	struct list link;
};

static json_t *cmd_help(int argc, char **argv, void *arg);
static json_t *cmd_status(int argc, char **argv, void *arg);

/* ---- socket file ---- */

/* mkdir -p of path's parent directory. */
static int make_parent_dirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (!saved)
			return 0;
	}
}

static void fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strlen(path)); /* length checked by control_open */
}

/* A socket file left by a crashed daemon refuses connections: remove it.
 * One that still accepts belongs to a running daemon; anything that is not
 * a socket is not ours to delete. */
static int remove_stale(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live daemon with a full backlog answers EAGAIN
	 * instead of making us wait. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	fill_addr(&sun, path);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || rc == EAGAIN)
		return -EADDRINUSE;
	log_info("control: removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int bind_socket(struct control *c)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	fill_addr(&sun, c->path);
	/* The umask closes the window between bind() and chmod() in which
	 * others could connect; chmod() then sets exactly 0660. */
	old_mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc < 0 || chmod(c->path, 0660) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    stat(c->path, &st) < 0) {
		rc = -errno;
		if (rc != -EADDRINUSE)
			unlink(c->path);
		close(fd);
		return rc;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return fd;
}

/* ---- clients ---- */

static void client_free(struct ctl_client *cl)
{
	struct control *c = cl->ctl;

	loop_timer_cancel(c->loop, &cl->timer);
	loop_del_fd(c->loop, cl->fd);
	close(cl->fd);
	list_del(&cl->link);
	c->nclients--;
	free(cl->out);
	free(cl);
	acceptor_kick(&c->acceptor); /* a descriptor is free again */
}

/* Discard input the client sent beyond its line, so that closing does not
 * turn into ECONNRESET on its side before it reads the reply. */
static void client_drain_input(struct ctl_client *cl)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < CONTROL_DRAIN_MAX && (n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

static void client_finish(struct ctl_client *cl)
{
	client_drain_input(cl);
	client_free(cl);
}

/* Send what is pending; free the client when done or on error. */
static void client_flush(struct ctl_client *cl)
{
	while (cl->outoff < cl->outlen) {
		ssize_t n =
			send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_set_mask(cl->ctl->loop, cl->fd, LOOP_WRITE);
			return;
		}
		if (n < 0) {
			log_debug("control: client went away before its reply: %s",
				  strerror(errno));
			client_free(cl);
			return;
		}
		cl->outoff += (size_t)n;
		/* Progress: a slow reader keeps its connection, a stuck one doesn't. */
		loop_timer_arm(cl->ctl->loop, &cl->timer, CONTROL_TIMEOUT_MS);
	}
	client_finish(cl);
}

static char *encode(json_t *reply)
{
	return json_dumps(reply, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

/* Serialise reply (consumed) and start sending it. */
static void client_reply(struct ctl_client *cl, json_t *reply, const char *cmd)
{
	char *text = reply ? encode(reply) : NULL;

	json_decref(reply);
	if (!text) {
		log_warnx("control: command %s: no reply (out of memory or not encodable)", cmd);
		reply = control_error("%s: internal error", cmd);
		text = reply ? encode(reply) : NULL;
		json_decref(reply);
	}
	cl->writing = true;
	loop_set_mask(cl->ctl->loop, cl->fd, 0); /* no more reading */
	if (!text) {
		client_free(cl);
		return;
	}
	/* The "\n" replaces the NUL: out is a byte buffer, not a string. */
	cl->out = text;
	cl->outlen = strlen(text);
	cl->out[cl->outlen++] = '\n';
	loop_timer_arm(cl->ctl->loop, &cl->timer, CONTROL_TIMEOUT_MS);
	client_flush(cl);
}

static struct control_cmd *find_cmd(struct control *c, const char *name)
{
	struct list *pos;

	list_for_each (pos, &c->cmds) {
		struct control_cmd *cmd = list_entry(pos, struct control_cmd, link);

		if (!strcmp(cmd->name, name))
			return cmd;
	}
	return NULL;
}

json_t *control_call(struct control *c, int argc, char **argv)
{
	struct control_cmd *cmd = argc > 0 ? find_cmd(c, argv[0]) : NULL;

	if (!cmd)
		return control_error("unknown command: %s", argc > 0 ? argv[0] : "");
	return cmd->fn(argc, argv, cmd->arg);
}

char *control_encode(json_t *reply) { return encode(reply); }

/* Split line in place on spaces/tabs into at most max words.  Returns
 * argc, or -E2BIG. */
static int split_args(char *line, char **argv, int max)
{
	int argc = 0;
	char *save = NULL;

	for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (argc == max)
			return -E2BIG;
		argv[argc++] = tok;
	}
	return argc;
}

/* Printable ASCII and tabs; a NUL inside the line is refused too. */
static bool line_printable(const char *line, size_t len)
{
	for (const unsigned char *p = (const unsigned char *)line;
	     p < (const unsigned char *)line + len; p++)
		if ((*p < 0x20 && *p != '\t') || *p > 0x7e)
			return false;
	return true;
}

int control_parse_line(char *line, size_t len, char **argv, int max)
{
	int argc;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!line_printable(line, len))
		return -EILSEQ;
	argc = split_args(line, argv, max);
	return argc == 0 ? -ENODATA : argc;
}

/* Parse the line (NUL-terminated in cl->in, without its "\n") and answer. */
static json_t *client_run(struct ctl_client *cl, const char **name)
{
	char *argv[CONTROL_MAX_ARGS];
	struct control_cmd *cmd;
	int argc;

	*name = "?";
	argc = control_parse_line(cl->in, cl->inlen, argv, CONTROL_MAX_ARGS);
	if (argc == -EILSEQ)
		return control_error("request contains non-printable characters");
	if (argc == -ENODATA)
		return control_error("empty request");
	if (argc < 0)
		return control_error("too many arguments (max %d)", CONTROL_MAX_ARGS - 1);
	cmd = find_cmd(cl->ctl, argv[0]);
	if (!cmd)
		return control_error("unknown command: %s (try \"help\")", argv[0]);
	*name = cmd->name;
	log_debug("control: command %s (%d argument%s)", cmd->name, argc - 1,
		  argc == 2 ? "" : "s");
	return cmd->fn(argc, argv, cmd->arg);
}

static void client_dispatch(struct ctl_client *cl)
{
	const char *name;
	json_t *reply = client_run(cl, &name);

	client_reply(cl, reply, name);
}

static void client_read(struct ctl_client *cl)
{
	ssize_t n = recv(cl->fd, cl->in + cl->inlen, CONTROL_LINE_MAX - cl->inlen, 0);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0 || (n == 0 && cl->inlen == 0)) {
		client_free(cl); /* gone, or closed without asking anything */
		return;
	}
	if (n > 0) {
		nl = memchr(cl->in + cl->inlen, '\n', (size_t)n);
		cl->inlen += (size_t)n;
		if (!nl && cl->inlen == CONTROL_LINE_MAX) {
			client_reply(cl,
				     control_error("request line too long (max %d bytes)",
						   CONTROL_LINE_MAX),
				     "?");
			return;
		}
		if (!nl)
			return; /* wait for the rest of the line */
		cl->inlen = (size_t)(nl - cl->in);
	}
	/* else: EOF (shutdown(SHUT_WR)) after an unterminated line - take it. */
	cl->in[cl->inlen] = '\0';
	client_dispatch(cl);
}

static void on_client_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct ctl_client *cl = arg;

	if (cl->writing)
		client_flush(cl);
	else if (events & LOOP_READ)
		client_read(cl);
}

static void on_client_timeout(struct loop *loop, struct loop_timer *t)
{
	struct ctl_client *cl = t->arg;
	static const char msg[] = "{\"error\":\"timeout waiting for the request line\"}\n";

	if (!cl->writing) /* best effort: a human on socat learns why */
		(void)!send(cl->fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	log_debug("control: client timed out while %s",
		  cl->writing ? "reading its reply" : "sending");
	client_free(cl);
}

static void refuse_client(struct control *c, int fd)
{
	static const char msg[] = "{\"error\":\"too many control clients, try again\"}\n";
	uint64_t more;

	(void)!send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	if (log_limit_ok(&c->full_limit, loop_now_ms(c->loop), LOG_LIMIT_SHORT_MS, &more))
		log_warnx("control: %u clients connected, refusing more (%llu more refused)",
			  c->nclients, (unsigned long long)more);
}

static int client_new(struct control *c, int fd)
{
	struct ctl_client *cl = calloc(1, sizeof(*cl));
	int err;

	if (!cl)
		return -ENOMEM;
	cl->ctl = c;
	cl->fd = fd;
	loop_timer_init(&cl->timer, on_client_timeout, cl);
	err = loop_add_fd(c->loop, fd, LOOP_READ, on_client_io, cl);
	if (err < 0) {
		free(cl);
		return err;
	}
	list_add_tail(&c->clients, &cl->link);
	c->nclients++;
	loop_timer_arm(c->loop, &cl->timer, CONTROL_TIMEOUT_MS);
	return 0;
}

/* ---- listener ---- */

/* The acceptor's callback (acceptor.h): a failure pauses accepting. */
static int on_accept(void *arg, int fd, const struct sockaddr_storage *peer)
{
	struct control *c = arg;
	int err;

	if (c->nclients >= CONTROL_MAX_CLIENTS) {
		refuse_client(c, fd);
		return 0;
	}
	if ((err = client_new(c, fd)) < 0)
		close(fd);
	return err;
}

/* ---- public API ---- */

/* Create, bind and watch the socket.  Returns 0, or -errno with *what
 * saying which step failed. */
static int control_listen(struct control *c, const char **what)
{
	char name[sizeof(c->path) + 16];
	int err;

	*what = "cannot create its directory";
	if ((err = make_parent_dirs(c->path)) < 0)
		return err;
	err = remove_stale(c->path);
	*what = err == -EADDRINUSE ? "a running daemon is listening on it"
		: err == -EEXIST   ? "a file that is not a socket is in the way (not removed)"
				   : "cannot remove the stale socket";
	if (err < 0)
		return err;
	*what = "cannot bind or listen";
	if ((err = c->fd = bind_socket(c)) < 0)
		return err;
	*what = "cannot watch it";
	snprintf(name, sizeof(name), "control %s", c->path);
	if ((err = acceptor_start(&c->acceptor, c->loop, c->fd, name, LOOP_IO_BATCH, on_accept,
				  c)) < 0) {
		close(c->fd);
		unlink(c->path);
	}
	return err;
}

int control_open(struct control **out, struct loop *loop, const char *path)
{
	struct control *c;
	const char *what;
	int err;

	if (!path || !*path || strlen(path) >= sizeof(c->path)) {
		log_warnx("control: socket path \"%s\" is empty or longer than %zu bytes",
			  path ? path : "", sizeof(c->path) - 1);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	snprintf(c->path, sizeof(c->path), "%s", path);
	list_init(&c->cmds);
	list_init(&c->clients);
	if ((err = control_listen(c, &what)) < 0) {
		log_errno(err, "control: cannot open socket %s: %s", path, what);
		free(c);
		return err;
	}
	if ((err = control_register(c, "help", "help - list the commands", cmd_help, c)) < 0 ||
	    (err = control_register(c, "status", "status - node, role, VIPs, peers, servers, sync",
				    cmd_status, c)) < 0) {
		control_close(c);
		return err;
	}
	log_info("control: listening on %s", path);
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	struct list *pos, *tmp;
	struct stat st;

	if (!c)
		return;
	list_for_each_safe (pos, tmp, &c->clients)
		client_free(list_entry(pos, struct ctl_client, link));
	list_for_each_safe (pos, tmp, &c->cmds) {
		list_del(pos);
		free(list_entry(pos, struct control_cmd, link));
	}
	acceptor_stop(&c->acceptor);
	close(c->fd);
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c);
}

int control_chown(struct control *c, uid_t uid, gid_t gid)
{
	if (chown(c->path, uid, gid) < 0) {
		int err = -errno;

		log_errno(err, "control: cannot chown %s to %d:%d", c->path, (int)uid, (int)gid);
		return err;
	}
	return 0;
}

int control_register(struct control *c, const char *cmd, const char *help, control_fn fn,
		     void *arg)
{
	struct control_cmd *e;

	if (!*cmd || strlen(cmd) >= CONTROL_CMD_MAX || strpbrk(cmd, " \t\r\n"))
		return -EINVAL;
	if (find_cmd(c, cmd))
		return -EEXIST;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	snprintf(e->name, sizeof(e->name), "%s", cmd);
	e->help = help ? help : "";
	e->fn = fn;
	e->arg = arg;
	list_add_tail(&c->cmds, &e->link);
	return 0;
}

int control_status_add(struct control *c, control_status_fn fn, void *arg)
{
	if (c->nstatus == CONTROL_MAX_STATUS)
		return -ENOSPC;
	c->status[c->nstatus++] = (struct control_status){ fn, arg };
	return 0;
}

json_t *control_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", msg);
}

const char *control_path(const struct control *c) { return c->path; }
unsigned control_nclients(const struct control *c) { return c->nclients; }

/* ---- built-in commands ---- */

static json_t *cmd_help(int argc, char **argv, void *arg)
{
	struct control *c = arg;
	json_t *list = json_array();
	struct list *pos;

	if (!list)
		return NULL;
	list_for_each (pos, &c->cmds) {
		struct control_cmd *cmd = list_entry(pos, struct control_cmd, link);

		if (json_array_append_new(list, json_pack("{s:s, s:s}", "command", cmd->name,
							  "help", cmd->help)) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static json_t *cmd_status(int argc, char **argv, void *arg)
{
	struct control *c = arg;
	json_t *status;

	if (argc > 1)
		return control_error("usage: status");
	status = json_object();
	if (!status)
		return NULL;
	for (unsigned i = 0; i < c->nstatus; i++) {
		int err = c->status[i].fn(status, c->status[i].arg);

		if (err < 0) {
			json_decref(status);
			return control_error("status: %s", strerror(-err));
		}
	}
	return status;
}
