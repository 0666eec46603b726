/* restart.c - `systemctl restart` without a failover: the marker, the
 * role, the command and the new process's side (restart.h). */
#include "restart.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "daemon_sd.h"
#include "fdpass.h"
#include "log.h"

#define MARK_NAME  "restart.hold"
#define MARK_MAX_S 60 /* older: a restart that never completed */
#define STATE_MAX  64 /* "master=1 at=MS\n" */

static void mark_path(const char *state_dir, char *out, size_t len)
{
	snprintf(out, len, "%s/" MARK_NAME, state_dir);
}

int restart_mark(const char *state_dir)
{
	char path[4096];
	int fd;

	mark_path(state_dir, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	dprintf(fd, "%ld\n", (long)getpid());
	close(fd);
	return 0;
}

bool restart_mark_take(const char *state_dir)
{
	char path[4096];
	struct stat st;
	bool fresh;

	mark_path(state_dir, path, sizeof(path));
	if (stat(path, &st) < 0)
		return false;
	fresh = time(NULL) - st.st_mtime <= MARK_MAX_S;
	unlink(path); /* once: a start that fails after it releases the VIP */
	return fresh;
}

/* CLOCK_BOOTTIME: both processes read the same clock, whatever NTP does. */
static uint64_t boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int restart_state_fd(bool master)
{
	char text[STATE_MAX];
	int p[2];
	int n = snprintf(text, sizeof(text), "master=%d at=%llu\n", master ? 1 : 0,
			 (unsigned long long)boot_ms());

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* A few bytes into an empty pipe: all or an error, never a part. */
	if (write(p[1], text, (size_t)n) != n) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	close(p[1]);
	return p[0];
}

struct stop_cmd {
	int (*begin)(void *arg, char *why, size_t len);
	void *arg;
};

static json_t *cmd_stop(int argc, char **argv, void *arg)
{
	struct stop_cmd *sc = arg;
	char why[256] = "";

	if (argc != 2 || strcmp(argv[1], "restart"))
		return control_error("usage: stop restart");
	if (sc->begin(sc->arg, why, sizeof(why)) < 0)
		return control_error("stop restart: %s", why);
	return json_pack("{s:s,s:I}", "stop", "restart", "pid", (json_int_t)getpid());
}

int ctl_restart_register(struct control *c, int (*begin)(void *arg, char *why, size_t len),
			 void *arg)
{
	/* One daemon a process; the command lives as long as the socket. */
	static struct stop_cmd sc;

	sc = (struct stop_cmd){ begin, arg };
	return control_register(c, "stop",
				"stop restart - a restart follows: hand the node to the next "
				"process through systemd's fd store (ExecStop=andromeda --stop)",
				cmd_stop, &sc);
}

/* ---- the new process ---- */

static void read_state(int fd, struct restart_inherited *ri)
{
	char text[STATE_MAX];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	unsigned long long at;
	char *end;

	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	/* "master=M at=MS\n", as restart_state_fd() wrote it */
	if (strncmp(text, "master=", 7) || (text[7] != '0' && text[7] != '1') ||
	    strncmp(text + 8, " at=", 4))
		return;
	errno = 0;
	at = strtoull(text + 12, &end, 10);
	if (errno || end == text + 12 || *end != '\n')
		return;
	ri->restarted = true;
	ri->master = text[7] == '1';
	ri->age_ms = boot_ms() >= at ? boot_ms() - at : UINT64_MAX; /* another boot */
}

int restart_inherit(struct restart_inherited *ri)
{
	int listeners[FDPASS_MAX];
	char **names = NULL;
	int *fds = NULL;
	int n = sdstore_received(&fds, &names);

	*ri = (struct restart_inherited){ 0 };
	if (n > 0 && !(ri->clients = malloc((size_t)n * sizeof(int))))
		n = -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *name = names && names[i] ? names[i] : "";

		if (!strcmp(name, RESTART_FD_LISTEN) && ri->nlisten < FDPASS_MAX)
			listeners[ri->nlisten++] = fds[i];
		else if (!strcmp(name, RESTART_FD_CLIENT))
			ri->clients[ri->nclients++] = fds[i];
		else if (!strcmp(name, RESTART_FD_STATE))
			read_state(fds[i], ri);
		else
			close(fds[i]); /* not ours to use */
	}
	if (ri->nlisten)
		fdpass_inherit(listeners, ri->nlisten);
	for (int i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	free(fds);
	if (n > 0)
		log_info("restart: %u listening socket(s), %u client(s) from systemd's store; "
			 "the node was %s",
			 ri->nlisten, ri->nclients, ri->master ? "MASTER" : "not MASTER");
	return n < 0 ? n : 0;
}

void restart_inherit_done(struct restart_inherited *ri)
{
	if (!ri->store_cleared && (ri->restarted || ri->nlisten || ri->nclients)) {
		ri->store_cleared = true;
		sdstore_remove(RESTART_FD_LISTEN);
		sdstore_remove(RESTART_FD_CLIENT);
		sdstore_remove(RESTART_FD_STATE);
	}
	ri->nlisten = 0;
	free(ri->clients);
	ri->clients = NULL;
	ri->nclients = 0;
}
