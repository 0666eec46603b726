/* daemon_sd.c - systemd notification and privilege dropping. */
#include "daemon_sd.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

struct sdnotify {
	struct loop *loop;
	struct loop_timer watchdog;
	uint64_t watchdog_ms;
	bool ready;
};

static void watchdog_fired(struct loop *loop, struct loop_timer *t)
{
	struct sdnotify *sd = t->arg;

	/* Sent from the loop itself: a stuck loop stops the pings and
	 * systemd restarts us (WatchdogSec=). */
	sd_notify(0, "WATCHDOG=1");
	loop_timer_arm(loop, t, sd->watchdog_ms);
}

struct sdnotify *sdnotify_open(struct loop *loop)
{
	struct sdnotify *sd = calloc(1, sizeof(*sd));
	uint64_t usec = 0;

	if (!sd)
		return NULL;
	sd->loop = loop;
	loop_timer_init(&sd->watchdog, watchdog_fired, sd);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		sd->watchdog_ms = usec / 2000; /* half the period, in ms */
		log_info("systemd watchdog: pinging every %llu ms",
			 (unsigned long long)sd->watchdog_ms);
		loop_timer_arm(loop, &sd->watchdog, 0);
	}
	return sd;
}

void sdnotify_close(struct sdnotify *sd)
{
	if (!sd)
		return;
	loop_timer_cancel(sd->loop, &sd->watchdog);
	free(sd);
}

void sdnotify_status(struct sdnotify *sd, const char *status)
{
	if (sd)
		sd_notifyf(0, "STATUS=%s", status);
}

void sdnotify_ready(struct sdnotify *sd, const char *status)
{
	if (!sd)
		return;
	if (!sd->ready) {
		sd->ready = true;
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
		return;
	}
	sdnotify_status(sd, status);
}

void sdnotify_stopping(struct sdnotify *sd)
{
	if (sd)
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void sdnotify_reloading(struct sdnotify *sd, bool done)
{
	if (sd)
		sd_notify(0, done ? "READY=1" : "RELOADING=1");
}

void sdnotify_mainpid(struct sdnotify *sd, pid_t pid)
{
	if (sd)
		sd_notifyf(0, "MAINPID=%ld\nSTATUS=upgraded: pid %ld serves", (long)pid,
			   (long)pid);
}

/* ---- the file descriptor store (systemctl restart) ---- */

int sdstore_put(const char *name, const int *fds, unsigned n, bool poll)
{
	char msg[64 + SDSTORE_NAME_MAX];
	int err;

	/* systemd drops a stored descriptor on POLLHUP or POLLERR (a client
	 * gone meanwhile: good) unless FDPOLL=0 (a pipe whose writer closed). */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s%s", name, poll ? "" : "\nFDPOLL=0");
	/* SCM_RIGHTS carries at most 253 descriptors a message. */
	for (unsigned off = 0; off < n; off += 250) {
		unsigned k = n - off < 250 ? n - off : 250;

		err = sd_pid_notify_with_fds(0, 0, msg, fds + off, k);
		if (err <= 0)
			return err < 0 ? err : -ENOTCONN;
	}
	return 0;
}

int sdstore_sync(void)
{
	/* The descriptors must be in the store before we exit: the
	 * barrier returns once systemd has read everything sent before. */
	int err = sd_notify_barrier(0, 5 * 1000000ull);

	return err < 0 ? err : 0;
}

void sdstore_remove(const char *name) { sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name); }

int sdstore_received(int **fds, char ***names)
{
	int n = sd_listen_fds_with_names(1, names);

	*fds = NULL;
	if (n <= 0)
		return n;
	if (!(*fds = malloc((size_t)n * sizeof(**fds))))
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		(*fds)[i] = SD_LISTEN_FDS_START + i;
	return n;
}

/* ---- privileges ---- */

#define NET_CAPS ((1ull << CAP_NET_ADMIN) | (1ull << CAP_NET_RAW) | (1ull << CAP_NET_BIND_SERVICE))

/* While still root: nothing but the three network capabilities can ever
 * come back (bounding set). */
static int drop_bounding_set(void)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(NET_CAPS & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	return 0;
}

/* After setuid (with PR_SET_KEEPCAPS): make them effective again. */
static int keep_net_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)NET_CAPS;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	/* Ambient as well: the program a hitless upgrade executes keeps them
	 * (systemd's AmbientCapabilities= does the same under the unit). */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if ((NET_CAPS & (1ull << c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return -errno;
	return 0;
}

int privdrop(const char *user)
{
	struct passwd *pw;
	int err;

	if (!user || !*user || getuid() != 0 || getenv("NOTIFY_SOCKET"))
		return 0; /* nothing asked, not root, or systemd already did it */
	if (!(pw = getpwnam(user))) {
		log_err("user %s: no such user (set [node] user, or create it)", user);
		return -ENOENT;
	}
	if ((err = drop_bounding_set()) < 0) {
		log_errno(err, "cannot drop capabilities before switching to %s", user);
		return err;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		err = -errno;
		log_errno(err, "cannot switch to user %s", user);
		return err;
	}
	if ((err = keep_net_caps()) < 0) {
		log_errno(err, "user %s: cannot keep the network capabilities", user);
		return err;
	}
	log_info("running as %s with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE only", user);
	return 0;
}
