/* main_andromeda.c - command line of the andromeda daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_load.h"
#include "daemon.h"
#include "ha.h"
#include "workers.h"
#include "msg.h"
#include "log.h"
#include "restart.h"
#include "tls_backend.h"

#define DEFAULT_CONFIG "/etc/andromeda/andromeda.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: andromeda [-c FILE] [-d]      run the balancer (foreground)\n"
		"       andromeda -t [-c FILE]        check the configuration and exit\n"
		"       andromeda --release [-c FILE] remove the VIPs from the interface and exit\n"
		"       andromeda --stop [-c FILE]    systemd's ExecStop: a restart without failover\n"
		"       andromeda --gen-key FILE      write a new cluster key (mode 0600)\n"
		"       andromeda --help | --version\n"
		"\n"
		"  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
		"  -t, --test          check the configuration: exit 0 if valid, 2 if not\n"
		"  -d, --debug         log debug messages\n"
		"      --release       remove this node's VIPs (after a crash; systemd ExecStopPost=)\n"
		"      --stop          (ExecStop=) when systemd restarts the unit, ask the daemon\n"
		"                      to hand the node to the next process; else nothing\n"
		"      --job TYPE      with --stop: the job type, instead of asking systemd\n"
		"      --takeover FD   (internal) replace the process at the other end of FD:\n"
		"                      hitless upgrade, started by SIGUSR2 / andromedactl upgrade\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

static int gen_key(const char *path)
{
	int err = msg_key_generate(path);

	if (err < 0) {
		fprintf(stderr, "andromeda: cannot write a key to %s: %s\n", path, strerror(-err));
		return 1;
	}
	printf("wrote a new cluster key to %s (mode 0600); copy it to every balancer and agent\n",
	       path);
	return 0;
}

struct args {
	const char *path;
	bool test, debug, release, stop;
	const char *job;
	int takeover_fd;
};

/* The command line into a; returns -1 to go on, or main's exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "release", no_argument, NULL, 'R' },
		{ "gen-key", required_argument, NULL, 'K' },
		{ "takeover", required_argument, NULL, 'X' },
		{ "stop", no_argument, NULL, 'S' },
		{ "job", required_argument, NULL, 'J' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:tdhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->path = optarg;
			break;
		case 't':
			a->test = true;
			break;
		case 'd':
			a->debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("andromeda %s\n", ANDROMEDA_VERSION);
			return 0;
		case 'R':
			a->release = true;
			break;
		case 'K':
			return gen_key(optarg);
		case 'S':
			a->stop = true;
			break;
		case 'J':
			a->job = optarg;
			break;
		case 'X': {
			char *end;
			long fd = strtol(optarg, &end, 10);

			a->takeover_fd = *end || fd < 3 || fd > 65535 ? -1 : (int)fd;
			if (a->takeover_fd < 0) {
				usage(stderr);
				return 2;
			}
			break;
		}
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct args a = { .path = DEFAULT_CONFIG, .takeover_fd = -1 };
	struct daemon_opts opts;
	struct config cfg;
	char err[512];
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	/* Under systemd, journald adds the time itself, and takes each
	 * line's priority from its "<N>" prefix. */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	log_use_journal(log_stderr_is_journal());
	if (config_load(a.path, &cfg, err, sizeof(err)) < 0) {
		/* FILE:LINE: reason as it is, an error for journald too. */
		fprintf(stderr, "%s%s\n", log_stderr_is_journal() ? "<3>" : "", err);
		return 2;
	}
	if (a.stop) {
		/* Within TimeoutStopSec (20 s), which also covers the grace. */
		rc = restart_stop_main(cfg.node.control_socket, a.job, 18000);
		config_free(&cfg);
		return rc;
	}
	if (a.release) {
		/* The stop of a restart left the VIP to the next process. */
		if (restart_mark_take(cfg.node.state_dir)) {
			log_info("restart: the VIP stays for the next process");
			config_free(&cfg);
			return 0;
		}
		rc = cfg.ha.enabled ? ha_release_vips(&cfg) : 0;
		config_free(&cfg);
		return rc < 0 ? 1 : 0;
	}
	if ((a.test && tls_backend_configure(&cfg, err, sizeof(err)) < 0) ||
	    workers_check_tls(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 2;
	}
	if (a.test) {
		tls_backend_clear();
		printf("configuration file %s is valid\n", a.path);
		config_free(&cfg);
		return 0;
	}
	log_set_level(a.debug ? LOG_LVL_DEBUG : (enum log_level)cfg.node.log_level);
	opts = (struct daemon_opts){ .config_path = a.path,
				     .debug = a.debug,
				     .takeover_fd = a.takeover_fd };
	rc = daemon_run(&cfg, &opts);
	config_free(&cfg);
	return rc;
}
