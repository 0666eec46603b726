/* restart_stop.c - `andromeda --stop`, the unit's ExecStop= (restart.h):
 * tell a restart from a stop by the type of the unit's job (libsystemd's
 * sd-bus: this file is its one user), and ask the daemon to hand over. */
#include "restart.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define SD_DEST "org.freedesktop.systemd1"

bool restart_job_is_restart(const char *job_type)
{
	/* try-restart is collapsed into restart when the job is installed;
	 * both are listed in case a systemd shows the type as asked. */
	return job_type && (!strcmp(job_type, "restart") || !strcmp(job_type, "try-restart"));
}

static int job_of_unit(sd_bus *bus, const char *unit, char *out, size_t len, sd_bus_error *e)
{
	sd_bus_message *m = NULL;
	const char *job = NULL;
	char *type = NULL;
	uint32_t id = 0;
	int r = sd_bus_get_property(bus, SD_DEST, unit, SD_DEST ".Unit", "Job", e, &m, "(uo)");

	if (r >= 0)
		r = sd_bus_message_read(m, "(uo)", &id, &job);
	if (r >= 0 && id == 0)
		out[0] = '\0'; /* no job: not a stop systemd runs */
	else if (r >= 0 && (r = sd_bus_get_property_string(bus, SD_DEST, job, SD_DEST ".Job",
							   "JobType", e, &type)) >= 0)
		snprintf(out, len, "%s", type);
	free(type);
	sd_bus_message_unref(m);
	return r;
}

int restart_job_type(char *out, size_t len, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	sd_bus *bus = NULL;
	const char *unit = NULL;
	int r = sd_bus_open_system(&bus);

	/* ExecStop runs in the unit's control group: our own pid names it. */
	if (r >= 0)
		r = sd_bus_call_method(bus, SD_DEST, "/org/freedesktop/systemd1",
				       SD_DEST ".Manager", "GetUnitByPID", &e, &m, "u",
				       (uint32_t)getpid());
	if (r >= 0)
		r = sd_bus_message_read(m, "o", &unit);
	if (r >= 0)
		r = job_of_unit(bus, unit, out, len, &e);
	if (r < 0)
		snprintf(err, errlen, "%s", e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}

/* One request line, one reply (the control protocol). */
static int control_request(const char *path, const char *line, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		int err = -errno;

		close(fd);
		return err;
	}
	while (got + 1 < len && (n = read(fd, reply + got, len - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(reply, '\n', got))
			break;
	}
	reply[got] = '\0';
	close(fd);
	return got ? 0 : -ECONNRESET;
}

static void wait_exit(pid_t pid, unsigned timeout_ms)
{
	struct timespec tick = { .tv_nsec = 10 * 1000000 };

	for (unsigned t = 0; t < timeout_ms && kill(pid, 0) == 0; t += 10)
		nanosleep(&tick, NULL);
}

int restart_stop_main(const char *control_socket, const char *job_type, unsigned timeout_ms)
{
	char type[64], why[256], reply[512];
	const char *mainpid = getenv("MAINPID");
	int err;

	if (!job_type) {
		if (restart_job_type(type, sizeof(type), why, sizeof(why)) < 0) {
			fprintf(stderr,
				"andromeda --stop: cannot ask systemd for the job: %s: "
				"a plain stop\n",
				why);
			return 0;
		}
		job_type = type;
	}
	if (!restart_job_is_restart(job_type))
		return 0; /* systemd's SIGTERM: a stop as ever */
	err = control_request(control_socket, "stop restart\n", reply, sizeof(reply));
	if (err < 0 || strstr(reply, "\"error\"")) {
		fprintf(stderr,
			"andromeda --stop: the daemon did not take the restart (%s): "
			"a plain stop\n",
			err < 0 ? strerror(-err) : reply);
		return 0;
	}
	if (mainpid) {
		char *end;
		long pid = strtol(mainpid, &end, 10);

		if (!*end && pid > 0)
			wait_exit((pid_t)pid, timeout_ms);
	}
	return 0;
}
