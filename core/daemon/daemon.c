/* daemon.c - wires the modules together around the main event loop.
 *
 *   signals (signalfd) --+
 *   control socket ------+--> loop <-- proxy (frontend + backends)
 *   health checks -------+              ^
 *                                        pool (servers, round-robin)
 *
 * With [frontend] threads = N, proxy threads 1..N-1 run loops of their own
 * (workers.c); everything else stays on this loop.
 * SIGTERM / SIGINT: stop accepting, let requests in flight finish for at
 * most frontend.grace, then exit 0.  SIGHUP reloads the file
 * (daemon_reload.h: the reloadable keys apply in place; a change of a
 * start-up key, or a replaced program file, starts a new process the
 * SIGUSR2 way; an invalid file changes nothing).  SIGUSR2 (or `andromedactl
 * upgrade`) starts the program file again and hands it the node without a
 * failover (upgrade.h); started with --takeover FD, this process is that
 * new one. */
#include "daemon.h"
#include "daemon_inflight.h"
#include "daemon_journal.h"
#include "daemon_reload.h"
#include "daemon_sd.h"

#include "ha.h"
#include "msg.h"
#include "sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "config.h"
#include "control.h"
#include "ctl_ha.h"
#include "ctl_journal.h"
#include "ctl_pool.h"
#include "ctl_proxy.h"
#include "ctl_registry.h"
#include "ctl_resolve.h"
#include "ctl_runtime.h"
#include "ctl_upgrade.h"
#include "fdpass.h"
#include "handoff.h"
#include "health.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "proxy.h"
#include "registry.h"
#include "resolve.h"
#include "restart.h"
#include "sigfd.h"
#include "stats.h"
#include "tls_backend.h"
#include "tls_keys.h"
#include "upgrade.h"
#include "workers.h"

struct daemon {
	struct config *cfg; /* SIGHUP may change the reloadable keys */
	struct loop *loop;
	struct pool *pool;
	struct workers *workers; /* the proxy threads */
	struct health *health;
	struct control *control;
	struct stats *stats;       /* with [stats] listen */
	struct ctl_ha ctl_ha;      /* what "status" and "peers" read of HA */
	struct ha *ha;             /* NULL for a standalone balancer */
	struct sync *sync;         /* with ha */
	struct dinflight *infl;    /* with ha: requests in flight, replicated */
	struct msg_key key;        /* the cluster key (HA) */
	struct msg_key reg_key;    /* registration (the same key unless configured apart) */
	struct registry *registry; /* with [registration] enabled = yes */
	struct resolver *resolver; /* [server]s by name */
	struct djournal *journal;
	struct alog *alog;           /* [frontend] access_log; NULL = off */
	struct ctl_runtime *runtime; /* weight, add, remove */
	struct sdnotify *sd;
	struct upgrade *upgrade;
	const struct daemon_opts *opts;
	bool was_master; /* --takeover: the process we replace was MASTER */
	/* systemctl restart (restart.h): what the previous process stored,
	 * and, stopping for one, what we store */
	struct restart_inherited inherited;
	bool restarting, restart_stored, restart_master;
	int restart_fds[UPGRADE_MAX_FDS]; /* our listeners, copies */
	unsigned nrestart_fds;
	struct loop_timer restart_timer;
	int sigfd;
	bool stopping;
	enum reload_result reloaded; /* the last SIGHUP's */
	bool reload_new_process;     /* SIGHUP: a new process whatever changed */
	struct loop_timer grace_timer;
};

static void daemon_stop_now(struct loop *loop, struct loop_timer *t) { loop_stop(loop); }

static void daemon_drained(void *arg)
{
	struct daemon *d = arg;

	log_info("all connections finished");
	loop_stop(d->loop);
}

/* The VIP has been handed over (or there is none): stop the frontend and
 * let requests in flight finish within the grace period. */
static void daemon_close_frontend(void *arg)
{
	struct daemon *d = arg;

	loop_timer_arm(d->loop, &d->grace_timer, d->cfg->frontend.grace_ms);
	workers_shutdown(d->workers, daemon_drained, d);
}

static void restart_store(struct daemon *d);

static void daemon_begin_shutdown(struct daemon *d, const char *why)
{
	if (d->restarting) { /* systemd's SIGTERM after ExecStop: store now */
		log_warnx("%s while stopping for a restart: storing what is idle now", why);
		restart_store(d);
		loop_stop(d->loop);
		return;
	}
	if (d->stopping) {
		log_warnx("%s again: stopping now", why);
		loop_stop(d->loop);
		return;
	}
	d->stopping = true;
	sdnotify_stopping(d->sd);
	log_info("%s: stopping (grace %u ms for requests in flight)", why,
		 d->cfg->frontend.grace_ms);
	loop_timer_init(&d->grace_timer, daemon_stop_now, d);
	dinflight_close(d->infl); /* no more lists while the threads wind down */
	d->infl = NULL;
	if (d->ha)
		ha_stop(d->ha, daemon_close_frontend, d);
	else
		daemon_close_frontend(d);
}

/* ---- hitless upgrade, the old process (upgrade.h) ---- */

/* Everything the new process opens again goes now; the listeners stay
 * (they are sent, then closed by the drain). */
static unsigned upgrade_release(void *arg, int *fds, unsigned max, bool *master)
{
	struct daemon *d = arg;
	unsigned n = workers_listener_fds(d->workers, fds, max);

	*master = d->ha && ha_state(d->ha) == VRRP_MASTER;
	if (*master) /* a SIGHUP that changed the VIPs: the new file's are adopted */
		daemon_reload_drop_vips(d->cfg);
	djournal_note(d->journal, JR_STOPPED,
		      d->restarting ? "restart: handed over through systemd's store"
				    : "upgrade: handed over to a new process");
	stats_close(d->stats);
	control_close(d->control);
	registry_close(d->registry);
	dinflight_close(d->infl);
	d->infl = NULL;
	resolver_close(d->resolver);
	sync_close_restart(d->sync);
	if (d->ha)
		ha_handover(d->ha); /* no priority 0, the VIP stays */
	ha_destroy(d->ha);
	djournal_close(d->journal);
	d->stats = NULL;
	d->control = NULL;
	d->registry = NULL;
	d->resolver = NULL;
	d->sync = NULL;
	d->ha = NULL;
	d->journal = NULL;
	return n;
}

static void upgrade_handed(void *arg, pid_t pid)
{
	struct daemon *d = arg;

	d->stopping = true;
	sdnotify_mainpid(d->sd, pid);
	sdnotify_close(d->sd); /* no more watchdog pings: pid is the main process */
	d->sd = NULL;
	log_info("upgrade: process %ld serves the node; finishing requests in flight and "
		 "keep-alive connections (grace %u ms)",
		 (long)pid, d->cfg->frontend.grace_ms);
	loop_timer_init(&d->grace_timer, daemon_stop_now, d);
	loop_timer_arm(d->loop, &d->grace_timer, d->cfg->frontend.grace_ms);
	workers_drain(d->workers, daemon_drained, d);
}

static void upgrade_signal(struct daemon *d)
{
	char why[256];

	if (d->stopping) {
		log_warnx("SIGUSR2: stopping already, no upgrade");
		return;
	}
	if (upgrade_start(d->upgrade, why, sizeof(why)) < 0)
		log_err("SIGUSR2: cannot upgrade: %s", why);
}

static int upgrade_setup(struct daemon *d)
{
	struct upgrade_hooks hooks = { .release = upgrade_release,
				       .handed = upgrade_handed,
				       .arg = d };
	struct upgrade_cmdline cmd = { .config_path = d->opts->config_path,
				       .debug = d->opts->debug };

	return upgrade_create(&d->upgrade, d->loop, &cmd, &hooks);
}

/* ---- systemctl restart, the old process (restart.h) ---- */

/* Into systemd's store: the listeners, the idle plain keep-alive clients
 * (handoff.h) and the role; once. */
static void restart_store(struct daemon *d)
{
	int fds[UPGRADE_MAX_FDS], state, err;
	unsigned n, nclients = 0;

	if (d->restart_stored)
		return;
	d->restart_stored = true;
	state = restart_state_fd(d->restart_master);
	err = sdstore_put(RESTART_FD_LISTEN, d->restart_fds, d->nrestart_fds, true);
	while (!err && (n = handoff_take(fds, UPGRADE_MAX_FDS)) > 0) {
		err = sdstore_put(RESTART_FD_CLIENT, fds, n, true);
		nclients += n;
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
	}
	if (!err && state >= 0)
		err = sdstore_put(RESTART_FD_STATE, &state, 1, false); /* its writer is closed */
	if (!err)
		err = sdstore_sync();
	if (err < 0)
		log_errno(err, "restart: cannot store the sockets in systemd's store");
	else
		log_info("restart: %u listening socket(s), %u idle client(s) and the role (%s) "
			 "are in systemd's store",
			 d->nrestart_fds, nclients, d->restart_master ? "MASTER" : "not MASTER");
	if (state >= 0)
		close(state);
	for (unsigned i = 0; i < d->nrestart_fds; i++)
		close(d->restart_fds[i]);
	d->nrestart_fds = 0;
}

static void restart_drained(void *arg)
{
	struct daemon *d = arg;

	restart_store(d);
	loop_stop(d->loop);
}

static void restart_grace(struct loop *loop, struct loop_timer *t)
{
	struct daemon *d = t->arg;

	log_warnx("restart: grace over: requests still in flight are cut");
	restart_drained(d);
}

/* After the reply to "stop restart": release the node as for an upgrade
 * (BYE "restart", no priority 0, the VIP stays), then drain. */
static void restart_now(struct loop *loop, struct loop_timer *t)
{
	struct daemon *d = t->arg;
	int fds[UPGRADE_MAX_FDS];
	unsigned n;
	int err;

	d->stopping = true;
	sdnotify_stopping(d->sd);
	if ((err = restart_mark(d->cfg->node.state_dir)) < 0)
		log_errno(err,
			  "restart: cannot leave the marker in %s: ExecStopPost will remove "
			  "the VIP",
			  d->cfg->node.state_dir);
	n = upgrade_release(d, fds, UPGRADE_MAX_FDS, &d->restart_master);
	/* The proxies close theirs when they stop accepting: copies. */
	for (unsigned i = 0; i < n; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) >= 0)
			d->restart_fds[d->nrestart_fds++] = fds[i];
	log_info("restart: the node stays %s; finishing requests in flight (grace %u ms)",
		 d->restart_master ? "MASTER" : "as it is", d->cfg->frontend.grace_ms);
	loop_timer_init(&d->grace_timer, restart_grace, d);
	loop_timer_arm(loop, &d->grace_timer, d->cfg->frontend.grace_ms);
	workers_handoff(d->workers, restart_drained, d);
}

static int restart_begin(void *arg, char *why, size_t len)
{
	struct daemon *d = arg;
	const char *uerr;
	pid_t upid;
	enum upgrade_state us = upgrade_status(d->upgrade, &upid, &uerr);

	if (d->stopping || d->restarting) {
		snprintf(why, len, "stopping already");
		return -EBUSY;
	}
	if (us == UPGRADE_STARTED || us == UPGRADE_HANDED) {
		snprintf(why, len, "an upgrade to process %ld is under way", (long)upid);
		return -EBUSY;
	}
	if (!getenv("NOTIFY_SOCKET")) {
		snprintf(why, len, "not started by systemd (no NOTIFY_SOCKET): no store");
		return -ENOTCONN;
	}
	d->restarting = d->stopping = true;            /* no SIGUSR2, no SIGHUP from now on */
	loop_timer_arm(d->loop, &d->restart_timer, 0); /* after the reply */
	return 0;
}

/* ---- hitless upgrade, the new process ---- */

/* Say HELLO (the old process releases the node) only once what can fail
 * on a bad installation has been checked: main() loaded the file and the
 * certificates, the keys are read here. */
/* What we create after HELLO must be ours to create: run without root
 * (privdrop, or systemd's User=), the control socket's directory and the
 * journal must be writable by this user. */
static int takeover_writable(const char *what, const char *path)
{
	if (access(path, W_OK) == 0 || errno == ENOENT)
		return 0;
	log_errno(-errno, "upgrade: %s %s is not writable by this user", what, path);
	return -errno;
}

static int takeover_precheck(const struct config *cfg)
{
	char dir[sizeof(cfg->node.control_socket)], journal[sizeof(cfg->node.state_dir) + 16];
	char *slash;
	int err;

	snprintf(dir, sizeof(dir), "%s", cfg->node.control_socket);
	if ((slash = strrchr(dir, '/')))
		*(slash == dir ? slash + 1 : slash) = '\0';
	snprintf(journal, sizeof(journal), "%s/journal", cfg->node.state_dir);
	if ((err = takeover_writable("control socket directory", dir)) < 0 ||
	    (err = takeover_writable("state directory", cfg->node.state_dir)) < 0 ||
	    (err = takeover_writable("journal", journal)) < 0)
		return err;
	return 0;
}

static int takeover_begin(struct daemon *d)
{
	char why[512];
	int err;

	if ((err = takeover_precheck(d->cfg)) < 0)
		return err;
	if (d->cfg->ha.enabled &&
	    (err = msg_key_load(d->cfg->ha.key_file, &d->key, why, sizeof(why))) < 0) {
		log_err("upgrade: cluster key: %s", why);
		return err;
	}
	return upgrade_takeover(d->opts->takeover_fd, &d->was_master);
}

/* ---- systemctl restart, the new process ---- */

/* What the previous process left in systemd's store.  Its role counts
 * only while the peers still wait for us (SYNC_RESTART_HOLD_MS): later,
 * a BACKUP may hold the VIP, and we start as any new node. */
static int restart_adopt(struct daemon *d)
{
	int err = restart_inherit(&d->inherited);

	if (err < 0) {
		log_errno(err, "restart: cannot read what systemd passed");
		return err;
	}
	if (d->inherited.restarted && d->opts->takeover_fd < 0)
		d->was_master = d->inherited.master && d->inherited.age_ms < SYNC_RESTART_HOLD_MS;
	return 0;
}

static void reload_now(void *arg)
{
	struct daemon *d = arg;

	d->reloaded = daemon_reload(d->cfg, d->pool, d->reload_new_process);
	if (d->reloaded == RELOAD_APPLIED && d->resolver)
		resolver_reload(d->resolver); /* names added, changed or gone */
}

/* SIGHUP: what applies in place does; a start-up key that changed, or a
 * program file replaced by a package upgrade, goes the upgrade path. */
static void reload_signal(struct daemon *d)
{
	char why[256];

	if (d->stopping) {
		log_warnx("SIGHUP: stopping already, no reload");
		return;
	}
	sdnotify_reloading(d->sd, false);
	if ((d->reload_new_process = upgrade_program_replaced()))
		log_info("reload: the program file was replaced: a new process runs it");
	/* The proxy threads read the configuration: hold them. */
	workers_run_isolated(d->workers, reload_now, d);
	/* Certificates: loaded while the threads run, swapped for new
	 * connections only. */
	if (d->reloaded == RELOAD_APPLIED)
		workers_tls_reload(d->workers);
	else if (d->reloaded == RELOAD_NEW_PROCESS && daemon_reload_precheck(d->cfg) == 0 &&
		 upgrade_start(d->upgrade, why, sizeof(why)) < 0)
		log_err("reload: cannot start a new process: %s; keeping the running configuration",
			why);
	alog_reopen(d->alog); /* logrotate moved it away */
	sdnotify_reloading(d->sd, true);
}

static void signal_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct daemon *d = arg;
	int signo;

	while ((signo = sigfd_next(fd)) > 0) {
		switch (signo) {
		case SIGTERM:
		case SIGINT:
			daemon_begin_shutdown(d, signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		case SIGHUP:
			reload_signal(d);
			break;
		case SIGUSR2:
			upgrade_signal(d);
			break;
		}
	}
}

/* Before the proxy threads and libcurl start (sigfd.h). */
static int signals_open(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2, 0 };

	d->sigfd = sigfd_open(sigs);
	if (d->sigfd < 0)
		return d->sigfd;
	return loop_add_fd(d->loop, d->sigfd, LOOP_READ, signal_io, d);
}

/* Every instance's role changes go to the journal; with [vrrp NAME]
 * sections each record starts with the instance's name. */
static void on_ha_instance_state(void *arg, size_t idx, const char *name, enum vrrp_state from,
				 enum vrrp_state to, const char *reason)
{
	struct daemon *d = arg;
	const char *vip = idx ? d->cfg->vrrps[idx - 1].vips[0].text : d->cfg->ha.vips[0].text;
	char who[CFG_NAME_MAX + 2] = "";

	(void)reason;
	if (d->cfg->nvrrps)
		snprintf(who, sizeof(who), "%s: ", name);
	djournal_note(d->journal, JR_ROLE, "%s%s -> %s", who, vrrp_state_name(from),
		      vrrp_state_name(to));
	if (to == VRRP_MASTER)
		djournal_note(d->journal, JR_VIP_ADDED, "%s%s on %s", who, vip,
			      d->cfg->ha.interface);
	else if (from == VRRP_MASTER)
		djournal_note(d->journal, JR_VIP_REMOVED, "%s%s on %s", who, vip,
			      d->cfg->ha.interface);
}

/* The first instance's role is the node's (sync, systemd). */
static void on_ha_state(void *arg, enum vrrp_state from, enum vrrp_state to, const char *reason)
{
	struct daemon *d = arg;
	char status[256];

	/* The seed's bitacora: what the old MASTER had in flight (its
	 * role record comes first, from on_ha_instance_state). */
	if (to == VRRP_MASTER)
		dinflight_takeover(d->infl, d->journal);
	if (d->sync)
		sync_role_changed(d->sync);
	snprintf(status, sizeof(status), "%s, %s", vrrp_state_name(to), d->cfg->node.name);
	if (to == VRRP_FAULT)
		snprintf(status, sizeof(status), "FAULT (%.96s on %s), %s", reason,
			 d->cfg->ha.interface, d->cfg->node.name);
	/* READY=1 once the node has a role; FAULT counts too (a node started
	 * without carrier or address is up and waiting for them, not failing). */
	if (to != VRRP_INIT)
		sdnotify_ready(d->sd, status);
	else
		sdnotify_status(d->sd, status);
}

static void on_sync_applied(void *arg, uint64_t seq, bool snapshot, const char *from)
{
	struct daemon *d = arg;

	if (snapshot)
		djournal_note(d->journal, JR_SNAPSHOT_APPLIED, "state %llu from %s",
			      (unsigned long long)seq, from ? from : "?");
}

/* The HA interface got (or changed, or lost) its address after start-up:
 * what we sign sync and registration messages with follows it.  Checks
 * made while we had no address failed on our side (network unreachable):
 * check every server again now, so that the node serves as soon as its
 * election allows, not a health interval or two later. */
static void on_ha_primary(void *arg, struct in_addr primary)
{
	struct daemon *d = arg;

	if (d->sync)
		sync_set_self(d->sync, primary);
	if (d->registry)
		registry_set_self(d->registry, primary);
	if (!primary.s_addr || !d->health)
		return;
	for (struct server *s = pool_first(d->pool); s; s = pool_next(d->pool, s))
		health_check_now(d->health, s);
}

/* An advert from a source that has not proven the cluster key (issue
 * 20): let it prove it over the sync channel; its adverts count then. */
static void on_ha_unproven(void *arg, struct in_addr src)
{
	struct daemon *d = arg;

	if (d->sync)
		sync_probe(d->sync, src);
}

/* What sync tells the first instance, the daemon passes on to the
 * others (ha.h "Instances"). */
static void on_sync_proven(void *arg, struct in_addr src)
{
	struct daemon *d = arg;

	if (d->ha)
		ha_source_proven(d->ha, src);
}

static void on_sync_key_differs(void *arg, struct in_addr src)
{
	struct daemon *d = arg;

	if (d->ha)
		ha_source_key_differs(d->ha, src);
}

static void on_sync_hold_preempt(void *arg, uint64_t until_ms)
{
	struct daemon *d = arg;

	if (d->ha)
		ha_hold_preempt(d->ha, until_ms);
}

static void on_sync_hold_restart(void *arg, uint32_t hold_ms)
{
	struct daemon *d = arg;

	if (d->ha)
		ha_hold_restart(d->ha, hold_ms);
}

static void on_sync_peer_lost(void *arg, struct in_addr peer)
{
	struct daemon *d = arg;

	if (d->ha)
		ha_peer_lost(d->ha, peer);
}

static void on_sync_peer_closed(void *arg, struct in_addr peer)
{
	struct daemon *d = arg;

	if (d->ha)
		ha_peer_closed(d->ha, peer);
}

/* Balancers other than us and peer that we know alive: a BACKUP session
 * to us, or heard within three advert intervals (a session that ended
 * just now may be a node that lives on).  Complete only on the first
 * instance's MASTER, which ha.c checks. */
static size_t on_ha_others_alive(void *arg, struct in_addr peer)
{
	struct daemon *d = arg;
	struct sync_node nodes[SYNC_MAX_NODES];
	uint64_t now = loop_now_ms(d->loop), recent = 3ull * d->cfg->ha.advert_interval_ms;
	struct in_addr self = ha_primary(d->ha);
	size_t n, others = 0;

	if (!d->sync)
		return SIZE_MAX;
	n = sync_nodes(d->sync, nodes, SYNC_MAX_NODES);
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].addr.s_addr == peer.s_addr || nodes[i].addr.s_addr == self.s_addr)
			continue;
		if (nodes[i].backup_session || now - nodes[i].last_ms <= recent)
			others++;
	}
	return others;
}

static int ha_setup(struct daemon *d)
{
	struct sync_hooks hooks = { .applied = on_sync_applied,
				    .arg = d,
				    .tls_keys = tls_keys_process(),
				    .proven = on_sync_proven,
				    .key_differs = on_sync_key_differs,
				    .hold_preempt = on_sync_hold_preempt,
				    .peer_lost = on_sync_peer_lost,
				    .peer_closed = on_sync_peer_closed,
				    .hold_restart = on_sync_hold_restart };
	struct ha_hooks ha_hooks = { .state = on_ha_state,
				     .primary = on_ha_primary,
				     .unproven = on_ha_unproven,
				     .instance_state = on_ha_instance_state,
				     .others_alive = on_ha_others_alive,
				     .arg = d };
	char why[512];
	int err = msg_key_load(d->cfg->ha.key_file, &d->key, why, sizeof(why));

	if (err < 0) {
		log_err("cluster key: %s", why);
		return err;
	}
	/* A restart adopts only a MASTER's fresh role; otherwise we start as
	 * any new node (a VIP left behind is removed as stale). */
	err = d->opts->takeover_fd >= 0 || (d->inherited.restarted && d->was_master)
		      ? ha_adopt(&d->ha, d->loop, d->cfg, &ha_hooks, d->was_master)
		      : ha_create(&d->ha, d->loop, d->cfg, &ha_hooks);
	if (err < 0) {
		log_errno(err, "HA on %s: cannot start", d->cfg->ha.interface);
		return err;
	}
	if ((err = sync_open(&d->sync, d->loop, d->cfg, d->pool, ha_vrrp(d->ha), &d->key,
			     ha_primary(d->ha), &hooks)) < 0)
		return err;
	return dinflight_open(&d->infl, d->loop, d->workers, d->ha, d->sync);
}

static bool node_is_active(void *arg)
{
	struct daemon *d = arg;

	return !d->ha || ha_state(d->ha) == VRRP_MASTER;
}

static void registered_server_added(void *arg, struct server *srv)
{
	struct daemon *d = arg;

	health_check_now(d->health, srv); /* in rotation as soon as it passes */
}

static int registry_setup(struct daemon *d)
{
	struct registry_hooks hooks = { .is_active = node_is_active,
					.added = registered_server_added,
					.arg = d };
	const struct cfg_endpoint *l = &d->cfg->frontend.listen;
	/* The envelope's sender is an IPv4 address; 0 when none is at hand. */
	struct in_addr self = d->ha                        ? ha_primary(d->ha)
			      : l->sa.sa_family == AF_INET ? l->sin.sin_addr
							   : (struct in_addr){ 0 };
	char why[512];
	int err = msg_key_load(d->cfg->registration.key_file, &d->reg_key, why, sizeof(why));

	if (err < 0) {
		log_err("registration key: %s", why);
		return err;
	}
	return registry_open(&d->registry, d->loop, d->cfg, d->pool, &d->reg_key, self, &hooks);
}

static int resolver_setup(struct daemon *d)
{
	struct resolver_hooks hooks = { .added = registered_server_added, .arg = d };
	int err = resolver_open(&d->resolver, d->loop, d->cfg, d->pool, &hooks);

	if (err < 0)
		log_errno(err, "cannot start resolving servers by name");
	return err;
}

static int add_static_servers(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->nservers; i++) {
		const struct cfg_server *cs = &d->cfg->servers[i];
		int err = 0;
		struct server *srv;

		if (cs->host[0])
			continue; /* by name: resolve.c adds it once resolved */
		srv = pool_server_add(d->pool, cs->name, &cs->addr, cs->weight, SRV_STATIC, &err);
		if (!srv) {
			log_errno(err, "server %s: cannot add", cs->name);
			return err;
		}
		pool_server_set_health_host(d->pool, srv, cs->health_host);
	}
	return 0;
}

/* HTTPS servers' CA files are read now, while still root. */
static int tls_backends_setup(struct daemon *d)
{
	char why[512];
	int err = tls_backend_configure(d->cfg, why, sizeof(why));

	if (err < 0)
		log_err("%s", why);
	return err;
}

static int control_setup(struct daemon *d)
{
	int err = control_open(&d->control, d->loop, d->cfg->node.control_socket);

	if (err < 0)
		return err;
	d->ctl_ha = (struct ctl_ha){ .cfg = d->cfg, .ha = d->ha, .sync = d->sync };
	/* The order of the providers is the key order of "status" (SPEC);
	 * the order of the commands is that of "help". */
	if ((err = control_status_add(d->control, ctl_ha_status, &d->ctl_ha)) < 0 ||
	    (err = ctl_pool_register(d->control, d->pool)) < 0 ||
	    (err = control_status_add(d->control, ctl_resolve_status, d->resolver)) < 0 ||
	    (err = ctl_proxy_register(d->control, d->workers)) < 0 ||
	    (err = ctl_ha_register(d->control, &d->ctl_ha)) < 0 ||
	    (err = control_status_add(d->control, ctl_ha_sync_status, &d->ctl_ha)) < 0 ||
	    (err = control_status_add(d->control, ctl_registry_status, d->registry)) < 0 ||
	    (err = ctl_journal_register(d->control, d->journal)) < 0 ||
	    (err = ctl_runtime_register(&d->runtime, d->control, d->loop, d->pool, d->cfg,
					node_is_active, d)) < 0 ||
	    (err = ctl_upgrade_register(d->control, d->upgrade)) < 0 ||
	    (err = ctl_restart_register(d->control, restart_begin, d)) < 0)
		log_errno(err, "control socket: cannot register commands");
	return err;
}

/* After the control socket: /status.json and the page run its commands. */
static int stats_setup(struct daemon *d)
{
	struct stats_sources src = { .cfg = d->cfg,
				     .pool = d->pool,
				     .workers = d->workers,
				     .ha = d->ha,
				     .sync = d->sync,
				     .registry = d->registry,
				     .alog = &d->alog };

	return stats_open(&d->stats, d->loop, &src, d->control);
}

static int daemon_setup(struct daemon *d)
{
	int err;

	if ((err = loop_create(&d->loop)) < 0) {
		log_errno(err, "cannot create the event loop");
		return err;
	}
	loop_timer_init(&d->restart_timer, restart_now, d);
	if ((err = signals_open(d)) < 0) {
		log_errno(err, "cannot set up signal handling");
		return err;
	}
	if ((err = upgrade_setup(d)) < 0)
		return err;
	if (d->opts->takeover_fd >= 0 && (err = takeover_begin(d)) < 0)
		return err;
	if ((err = restart_adopt(d)) < 0)
		return err;
	if (!(d->sd = sdnotify_open(d->loop)) || !(d->pool = pool_create(d->cfg)))
		return -ENOMEM;
	if ((err = add_static_servers(d)) < 0 || (err = tls_backends_setup(d)) < 0)
		return err;
	/* The registered servers come back from the journal before this node
	 * advertises or serves (SPEC "Journal"). */
	if ((err = djournal_open(&d->journal, d->loop, d->cfg, d->pool)) < 0)
		return err;
	if ((err = workers_create(&d->workers, d->loop, d->pool, d->cfg)) < 0)
		return err;
	if (fdpass_inherited_close()) /* the new file has fewer listeners */
		log_warnx("upgrade: closed listening socket(s) the configuration no longer has");
	if ((err = health_create(&d->health, d->loop, d->pool, d->cfg)) < 0)
		return err; /* health_create logged why */
	if ((err = resolver_setup(d)) < 0)
		return err;
	/* The listener is bound (IP_FREEBIND) before the election starts,
	 * so becoming MASTER only adds the address. */
	if (d->cfg->ha.enabled && (err = ha_setup(d)) < 0)
		return err;
	if (d->cfg->registration.enabled && (err = registry_setup(d)) < 0)
		return err;
	if ((err = control_setup(d)) < 0)
		return err;
	if (d->cfg->stats.enabled && (err = stats_setup(d)) < 0)
		return err;
	/* Every privileged socket is open: root is no longer needed. */
	if ((err = privdrop(d->cfg->node.user)) < 0)
		return err;
	/* Opened as the daemon's user, as every reopen (SIGHUP) will be. */
	if ((err = alog_open(&d->alog, d->cfg, workers_count(d->workers))) < 0)
		return err;
	workers_set_access_log(d->workers, d->alog);
	if ((err = workers_start(d->workers)) < 0)
		return err;
	if (!d->ha)
		sdnotify_ready(d->sd, "standalone, serving");
	else if (ha_state(d->ha) != VRRP_INIT)
		sdnotify_ready(d->sd, vrrp_state_name(ha_state(d->ha)));
	if (d->opts->takeover_fd >= 0)
		upgrade_takeover_done(d->opts->takeover_fd);
	if (d->inherited.nclients)
		log_info("restart: serving %u client(s) of the previous process",
			 workers_adopt_clients(d->workers, d->inherited.clients,
					       d->inherited.nclients));
	d->inherited.nclients = 0;
	restart_inherit_done(&d->inherited);
	return 0;
}

static void daemon_teardown(struct daemon *d)
{
	for (unsigned i = 0; i < d->inherited.nclients; i++)
		close(d->inherited.clients[i]); /* failed before serving them */
	d->inherited.nclients = 0;
	restart_inherit_done(&d->inherited);
	if (d->loop)
		loop_timer_cancel(d->loop, &d->restart_timer);
	upgrade_destroy(d->upgrade);
	stats_close(d->stats);
	control_close(d->control);
	ctl_runtime_close(d->runtime);
	djournal_note(d->journal, JR_STOPPED, "clean shutdown");
	registry_close(d->registry);
	dinflight_close(d->infl);
	resolver_close(d->resolver);
	sync_close(d->sync);
	ha_destroy(d->ha);
	health_destroy(d->health);
	workers_destroy(d->workers);
	alog_close(d->alog); /* after the proxies: their last records are written */
	djournal_close(d->journal);
	pool_destroy(d->pool);
	tls_backend_clear();
	sdnotify_close(d->sd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	loop_destroy(d->loop);
}

int daemon_run(struct config *cfg, const struct daemon_opts *opts)
{
	struct daemon d = { .cfg = cfg, .opts = opts, .sigfd = -1 };
	int err;

	log_info("andromeda %s starting: node %s, %zu static server(s)", ANDROMEDA_VERSION,
		 cfg->node.name, cfg->nservers);
	err = daemon_setup(&d);
	/* Failed after the hand-over: the VIP we were given must not stay
	 * on the interface of a node that no longer advertises. */
	if (err && (opts->takeover_fd >= 0 || d.inherited.restarted) && d.was_master &&
	    cfg->ha.enabled && ha_release_vips(cfg) == 0)
		log_warnx("upgrade: failed after taking over: VIP released, a BACKUP takes over");
	if (!err) {
		err = loop_run(d.loop);
		if (err)
			log_errno(err, "event loop failed");
	}
	daemon_teardown(&d);
	if (!err)
		log_info("stopped");
	return err ? 1 : 0;
}
