/* daemon_reload.c - SIGHUP configuration reload. */
#include "daemon_reload.h"

#include <stdlib.h>
#include <string.h>

#include "config_load.h"
#include "ha.h"
#include "log.h"
#include "macros.h"
#include "netaddr.h"
#include "pool.h"
#include "tls_backend.h"
#include "workers.h"

static bool ha_changed(const struct config *o, const struct config *n)
{
	bool vips = o->ha.nvips != n->ha.nvips || o->ha.nvips6 != n->ha.nvips6,
	     peers = o->ha.npeers != n->ha.npeers;

	for (size_t i = 0; !vips && i < o->ha.nvips; i++)
		vips = strcmp(o->ha.vips[i].text, n->ha.vips[i].text) != 0;
	for (size_t i = 0; !vips && i < o->ha.nvips6; i++)
		vips = strcmp(o->ha.vips6[i].text, n->ha.vips6[i].text) != 0;
	for (size_t i = 0; !peers && i < o->ha.npeers; i++)
		peers = o->ha.peers[i].s_addr != n->ha.peers[i].s_addr;
	return vips || peers || o->ha.enabled != n->ha.enabled ||
	       strcmp(o->ha.interface, n->ha.interface) || o->ha.vrid != n->ha.vrid ||
	       o->ha.priority != n->ha.priority ||
	       o->ha.advert_interval_ms != n->ha.advert_interval_ms ||
	       o->ha.preempt != n->ha.preempt ||
	       o->ha.preempt_delay_ms != n->ha.preempt_delay_ms ||
	       strcmp(o->ha.key_file, n->ha.key_file) || o->ha.garp_count != n->ha.garp_count ||
	       o->ha.garp_interval_ms != n->ha.garp_interval_ms ||
	       o->ha.garp_refresh_ms != n->ha.garp_refresh_ms ||
	       o->ha.checksum_rfc5798 != n->ha.checksum_rfc5798 ||
	       o->ha.sync_port != n->ha.sync_port || o->ha.interop != n->ha.interop;
}

static bool listeners_changed(const struct config *o, const struct config *n)
{
	bool changed = o->frontend.nlisteners != n->frontend.nlisteners;

	for (unsigned i = 0; !changed && i < o->frontend.nlisteners; i++)
		changed =
			o->frontend.listeners[i].tls != n->frontend.listeners[i].tls ||
			strcmp(o->frontend.listeners[i].ep.text, n->frontend.listeners[i].ep.text);
	return changed;
}

/* The [vrrp NAME] instances (issue 16) start with the election too. */
static bool vrrps_changed(const struct config *o, const struct config *n)
{
	bool changed = o->nvrrps != n->nvrrps;

	for (size_t i = 0; !changed && i < o->nvrrps; i++) {
		const struct cfg_vrrp *a = &o->vrrps[i], *b = &n->vrrps[i];

		changed = strcmp(a->name, b->name) || a->vrid != b->vrid ||
			  a->priority != b->priority ||
			  a->advert_interval_ms != b->advert_interval_ms ||
			  a->preempt != b->preempt || a->preempt_delay_ms != b->preempt_delay_ms ||
			  a->nvips != b->nvips || a->nvips6 != b->nvips6;
		for (size_t j = 0; !changed && j < a->nvips; j++)
			changed = strcmp(a->vips[j].text, b->vips[j].text) != 0;
		for (size_t j = 0; !changed && j < a->nvips6; j++)
			changed = strcmp(a->vips6[j].text, b->vips6[j].text) != 0;
	}
	return changed;
}

/* The hooks (issue 14) are read when the election starts. */
static bool hooks_changed(const struct config *o, const struct config *n)
{
	bool changed = strcmp(o->ha.notify, n->ha.notify) ||
		       o->ha.notify_timeout_ms != n->ha.notify_timeout_ms ||
		       o->ha.ntrack_ifs != n->ha.ntrack_ifs || o->ntracks != n->ntracks;

	for (size_t i = 0; !changed && i < o->ha.ntrack_ifs; i++)
		changed = strcmp(o->ha.track_if[i].ifname, n->ha.track_if[i].ifname) ||
			  o->ha.track_if[i].weight != n->ha.track_if[i].weight;
	for (size_t i = 0; !changed && i < o->ntracks; i++) {
		const struct cfg_track *a = &o->tracks[i], *b = &n->tracks[i];

		changed = strcmp(a->name, b->name) || strcmp(a->script, b->script) ||
			  a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms ||
			  a->weight != b->weight || a->fall != b->fall || a->rise != b->rise;
	}
	return changed;
}

/* Keys read once at start-up: a change is applied by a new process
 * (the hitless upgrade path), which reads them all.  Returns how many
 * changed (each one logged). */
static unsigned restart_keys_changed(const struct config *o, const struct config *n)
{
	unsigned changed = 0;
	const struct {
		const char *key;
		bool changed;
	} keys[] = {
		{ "[node] name", strcmp(o->node.name, n->node.name) != 0 },
		{ "[node] state_dir", strcmp(o->node.state_dir, n->node.state_dir) != 0 },
		{ "[node] control_socket",
		  strcmp(o->node.control_socket, n->node.control_socket) != 0 },
		{ "[frontend] listen or tls_listen", listeners_changed(o, n) },
		{ "[frontend] mode", o->frontend.mode != n->frontend.mode },
		{ "[frontend] threads", o->frontend.threads != n->frontend.threads },
		{ "[frontend] access_log",
		  strcmp(o->frontend.access_log, n->frontend.access_log) != 0 },
		{ "[frontend] max_header_size",
		  o->frontend.max_header_size != n->frontend.max_header_size },
		{ "[frontend] max_uri_size",
		  o->frontend.max_uri_size != n->frontend.max_uri_size },
		{ "[frontend] max_body_size",
		  o->frontend.max_body_size != n->frontend.max_body_size },
		{ "[backend] health_check",
		  strcmp(o->backend.health_check, n->backend.health_check) != 0 },
		{ "[backend] health_interval",
		  o->backend.health_interval_ms != n->backend.health_interval_ms },
		{ "[ha]", ha_changed(o, n) },
		{ "[ha] notify, track_interface or a [track]", hooks_changed(o, n) },
		{ "a [vrrp NAME] section", vrrps_changed(o, n) },
		{ "[registration]", o->registration.enabled != n->registration.enabled ||
					    o->registration.port != n->registration.port },
		{ "[stats] listen", strcmp(o->stats.listen.text, n->stats.listen.text) != 0 },
		{ "[stats] auth_file", strcmp(o->stats.auth_file, n->stats.auth_file) != 0 },
		{ "[registration] key_file",
		  strcmp(o->registration.key_file, n->registration.key_file) != 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].changed) {
			log_info("reload: %s changed: a new process applies it", keys[i].key);
			changed++;
		}
	/* The new process is started by this one, which already runs as
	 * the daemon's user: it cannot become another one. */
	if (strcmp(o->node.user, n->node.user))
		log_warnx("reload: [node] user changed; it takes effect at the next start");
	return changed;
}

static bool same_endpoint(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	return netaddr_same(&a->sa, &b->sa);
}

static const struct cfg_server *find_cfg_server(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nservers; i++)
		if (!strcmp(c->servers[i].name, name))
			return &c->servers[i];
	return NULL;
}

/* Static servers follow the file; registered ones are left alone. */
static void sync_static_servers(const struct config *n, struct pool *pool)
{
	struct server *srv, *next;

	for (srv = pool_first(pool); srv; srv = next) {
		const struct cfg_server *cs;

		next = pool_next(pool, srv);
		if (srv->source != SRV_STATIC)
			continue;
		cs = find_cfg_server(n, srv->name);
		/* By name: its address is resolve.c's (resolver_reload). */
		if (!cs || (!cs->host[0] && !same_endpoint(&cs->addr, &srv->addr)))
			pool_server_remove(pool, srv); /* gone, or moved: re-added below */
		else
			pool_server_set_weight(pool, srv, cs->weight);
	}
	for (size_t i = 0; i < n->nservers; i++) {
		int err = 0;

		if (n->servers[i].host[0]) {
			if ((srv = pool_server_find(pool, n->servers[i].name)))
				pool_server_set_health_host(pool, srv, n->servers[i].health_host);
			continue; /* resolve.c adds it once resolved */
		}
		if (!(srv = pool_server_find(pool, n->servers[i].name)) &&
		    !(srv = pool_server_add(pool, n->servers[i].name, &n->servers[i].addr,
					    n->servers[i].weight, SRV_STATIC, &err)))
			log_errno(err, "reload: cannot add server %s", n->servers[i].name);
		else
			pool_server_set_health_host(pool, srv, n->servers[i].health_host);
	}
}

int daemon_reload_precheck(const struct config *live)
{
	struct config n;
	char err[512];
	int rc = config_load(live->path, &n, err, sizeof(err));

	if (rc == 0) {
		rc = workers_check_tls(&n, err, sizeof(err));
		config_free(&n);
	}
	if (rc < 0)
		log_err("reload: %s; keeping the running configuration", err);
	return rc < 0 ? -1 : 0;
}

enum reload_result daemon_reload(struct config *live, struct pool *pool, bool new_process)
{
	struct config n;
	char err[512];
	struct cfg_server *old_servers;

	if (config_load(live->path, &n, err, sizeof(err)) < 0) {
		log_err("reload: %s; keeping the running configuration", err);
		return RELOAD_FAILED;
	}
	if (restart_keys_changed(live, &n) || new_process) {
		config_free(&n);
		return RELOAD_NEW_PROCESS;
	}
	/* The proxy threads are parked: their servers' TLS contexts may change. */
	if (tls_backend_configure(&n, err, sizeof(err)) < 0) {
		log_err("reload: %s; keeping the running configuration", err);
		config_free(&n);
		return RELOAD_FAILED;
	}
	/* What the modules read on every use takes effect at once. */
	live->node.log_level = n.node.log_level;
	log_set_level((enum log_level)n.node.log_level);
	live->frontend.via = n.frontend.via;
	live->frontend.xff = n.frontend.xff;
	live->frontend.header_timeout_ms = n.frontend.header_timeout_ms;
	live->frontend.client_timeout_ms = n.frontend.client_timeout_ms;
	live->frontend.keepalive_timeout_ms = n.frontend.keepalive_timeout_ms;
	live->frontend.grace_ms = n.frontend.grace_ms;
	live->frontend.maxconn = n.frontend.maxconn;
	/* Certificates: the daemon loads them next (workers_tls_reload). */
	live->frontend.tls_handshake_timeout_ms = n.frontend.tls_handshake_timeout_ms;
	memcpy(live->frontend.tls_cert, n.frontend.tls_cert, sizeof(n.frontend.tls_cert));
	live->frontend.ntls_certs = n.frontend.ntls_certs;
	{
		/* maxconn, retries, timeouts, rise/fall, max_idle, balance */
		char hc[sizeof(live->backend.health_check)];
		uint32_t hi = live->backend.health_interval_ms;

		memcpy(hc, live->backend.health_check, sizeof(hc));
		live->backend = n.backend;
		memcpy(live->backend.health_check, hc, sizeof(hc));
		live->backend.health_interval_ms = hi;
	}
	live->registration.expire_ms = n.registration.expire_ms;
	sync_static_servers(&n, pool);
	old_servers = live->servers;
	live->servers = n.servers;
	live->nservers = n.nservers;
	n.servers = old_servers;
	config_free(&n);
	for (struct server *s = pool_first(pool); s; s = pool_next(pool, s))
		server_set_maxconn(s, live->backend.maxconn);
	pool_set_balance(pool, live->backend.balance);
	log_info("reload: %s applied (%zu static servers)", live->path, live->nservers);
	return RELOAD_APPLIED;
}

static bool vip_kept(const struct config *n, const struct cfg_vip *v)
{
	for (size_t i = 0; i < n->ha.nvips; i++)
		if (!strcmp(n->ha.vips[i].text, v->text))
			return true;
	return false;
}

void daemon_reload_drop_vips(const struct config *live)
{
	struct config n, *gone;
	char err[512];
	bool moved;
	int rc;

	if (!live->ha.enabled || config_load(live->path, &n, err, sizeof(err)) < 0)
		return; /* the new process checked it: changed since, it will fail */
	moved = !n.ha.enabled || strcmp(n.ha.interface, live->ha.interface) != 0;
	/* ha_release_vips reads [ha] interface and vips only: a copy with
	 * the dropped ones. */
	if ((gone = malloc(sizeof(*gone)))) {
		*gone = *live;
		gone->ha.nvips = 0;
		for (size_t i = 0; i < live->ha.nvips; i++)
			if (moved || !vip_kept(&n, &live->ha.vips[i]))
				gone->ha.vips[gone->ha.nvips++] = live->ha.vips[i];
		if (gone->ha.nvips && (rc = ha_release_vips(gone)) < 0)
			log_errno(rc, "upgrade: cannot remove the VIP(s) the new file dropped");
		else if (gone->ha.nvips)
			log_info("upgrade: removed %zu VIP(s) the new file no longer has",
				 gone->ha.nvips);
		free(gone);
	}
	config_free(&n);
}
