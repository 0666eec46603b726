/* main_agent.c - command line of andromeda-agent (logic in agent.c), and
 * the kernel watch of its interface (netlink/kwatch.c), wired here because
 * andromeda_agent, the library that holds agent.c, links no netlink code. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "config_agent.h"
#include "kwatch.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/andromeda/agent.conf"

struct watch {
	const char *ifname;
	struct agent *agent;
	struct kwatch *kwatch;
};

/* Boot order: the agent may start before its interface is up and has its
 * address; each of these may be what it was waiting for. */
static void watch_link(void *arg, const struct kwatch_link *l)
{
	struct watch *w = arg;

	if (l->carrier)
		agent_recheck(w->agent, "carrier up");
}

static void watch_addr(void *arg, bool added, const struct kwatch_addr *a)
{
	struct watch *w = arg;

	if (added)
		agent_recheck(w->agent, "IPv4 address added");
}

static void watch_resync(void *arg)
{
	struct watch *w = arg;

	agent_recheck(w->agent, "kernel events lost");
}

static int watch_open(void *ctx, struct loop *loop, struct agent *a)
{
	static const struct kwatch_ops ops = { .link = watch_link,
					       .addr = watch_addr,
					       .resync = watch_resync };
	struct watch *w = ctx;
	int err;

	w->agent = a;
	if (!w->ifname[0])
		return -ENODEV; /* unicast balancers only: nothing to watch */
	err = kwatch_open(&w->kwatch, loop, w->ifname, &ops, w);
	if (err < 0)
		log_errno(err, "agent: cannot watch %s; announcing on the interval only",
			  w->ifname);
	return err;
}

static void watch_close(void *ctx)
{
	struct watch *w = ctx;

	kwatch_close(w->kwatch);
	w->kwatch = NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: andromeda-agent [-c FILE] [-d]   announce this backend to the balancers\n"
		"       andromeda-agent -t [-c FILE]     check the configuration and exit\n"
		"       andromeda-agent --help | --version\n"
		"\n"
		"  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
		"  -t, --test          check the configuration: exit 0 if valid, 2 if not\n"
		"  -d, --debug         log debug messages\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n"
		"\n"
		"SIGTERM withdraws the server and exits 0; SIGUSR1 logs the counters.\n");
}

struct args {
	const char *path;
	bool test, debug;
};

/* The command line into a; returns -1 to go on, or main's exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "test", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },        { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { 0 },
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
			printf("andromeda-agent %s\n", ANDROMEDA_VERSION);
			return 0;
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
	struct args a = { .path = DEFAULT_CONFIG };
	struct agent_config cfg;
	struct msg_key key;
	struct watch w = { 0 };
	struct agent_watch aw = { .open = watch_open, .close = watch_close, .ctx = &w };
	char err[512];
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	if (agent_config_load(a.path, &cfg, err, sizeof(err)) < 0) {
		/* FILE:LINE: reason as it is, an error for journald too. */
		fprintf(stderr, "%s%s\n", log_stderr_is_journal() ? "<3>" : "", err);
		return 2;
	}
	if (a.test) {
		printf("configuration file %s is valid\n", a.path);
		return 0;
	}
	log_set_ident("andromeda-agent");
	/* Under systemd, journald adds the time itself, and takes each
	 * line's priority from its "<N>" prefix. */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	log_use_journal(log_stderr_is_journal());
	log_set_level(a.debug ? LOG_LVL_DEBUG : (enum log_level)cfg.log_level);
	if (msg_key_load(cfg.key_file, &key, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	w.ifname = cfg.interface;
	rc = agent_run(&cfg, &key, &aw);
	explicit_bzero(&key, sizeof(key));
	return rc;
}
