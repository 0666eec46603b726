/* status_view.c - `andromedactl status` for a person (ctl_print.h).
 *
 *   node:         lb1 (andromeda 0.1.0), http on 198.18.0.10:80
 *   role:         MASTER, priority 150, holds the VIPs
 *                 (or "priority 90 (base 150, moved by tracking)")
 *   vips:         198.18.0.10/24
 *   instances / peers / servers / names: tables
 *   proxy, vrrp, vrrp6, sync, registration: one group each, "key=value" lines,
 *   drop counters that are zero left out unless -v.
 *
 * Every key of a group that has no place in the layout is still printed
 * in its group, and top-level keys this file does not know come last, as
 * the generic view prints them: a daemon newer than this file shows all
 * it says. */
#include <stdio.h>
#include <string.h>

#include "ctl_print.h"

#define LINE_MAX_ 2048
#define LABEL_W   16

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

static long long num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static bool in(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (!strcmp(key, *keys))
			return true;
	return false;
}

static void label(const char *name) { printf("%-*s", LABEL_W, name); }

/* "  name:" padded to the value column: a line inside a group. */
static void sublabel(const char *name)
{
	char l[64];

	snprintf(l, sizeof(l), "  %s:", name);
	label(l);
}

/* "k=v k=v" for the scalar keys of o not in skip (NULL-terminated);
 * nested objects are left to the caller. */
static void scalars(const json_t *o, const char *const *skip)
{
	char cell[256];
	const char *key;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)o, key, v)
	{
		if (in(key, skip) || json_is_object(v) || json_is_array(v))
			continue;
		cell_text(v, cell, sizeof(cell));
		printf("%s%s=%s", first ? "" : " ", key, cell);
		first = false;
	}
	if (first)
		printf("-");
	putchar('\n');
}

/* Has o a scalar key not in skip (one a newer daemon added)? */
static bool has_scalars(const json_t *o, const char *const *skip)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) if (!in(key, skip) && !json_is_object(v) &&
						     !json_is_array(v)) return true;
	return false;
}

/* The object o[key] on one indented line under label; zeros left out
 * when zeros is false (drop counters), the line left out when nothing
 * remains. */
static void counters_as(const json_t *o, const char *key, const char *name, bool zeros)
{
	json_t *c = json_object_get(o, key), *v;
	char line[LINE_MAX_] = "", cell[256];
	const char *k;
	size_t n = 0;

	if (!json_is_object(c))
		return;
	json_object_foreach(c, k, v)
	{
		if (!zeros && json_is_integer(v) && json_integer_value(v) == 0)
			continue;
		cell_text(v, cell, sizeof(cell));
		n += (size_t)snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, "%s%s=%s",
				      n ? "  " : "", k, cell);
	}
	if (!n)
		return;
	sublabel(name);
	printf("%s\n", line);
}

static void counters(const json_t *o, const char *key, bool zeros)
{
	counters_as(o, key, key, zeros);
}

/* A nested object's keys: generic, after the group's own lines. */
static void nested(const json_t *o, const char *const *done, bool verbose)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) if (json_is_object(v) && !in(key, done))
		counters(o, key, verbose || strcmp(key, "dropped"));
}

static void head(const json_t *st)
{
	char vips[512];

	label("node:");
	printf("%s (andromeda %s), %s on %s\n", str(st, "node"), str(st, "version"),
	       str(st, "mode"), str(st, "listen"));
	label("role:");
	if (json_is_false(json_object_get(st, "ha")))
		printf("%s (standalone: no VRRP, no VIP)\n", str(st, "role"));
	else if (json_object_get(st, "base_priority") &&
		 num(st, "base_priority") != num(st, "priority"))
		printf("%s, priority %lld (base %lld, moved by tracking), %s\n", str(st, "role"),
		       num(st, "priority"), num(st, "base_priority"),
		       json_is_true(json_object_get(st, "vip_held")) ? "holds the VIPs"
								     : "does not hold the VIPs");
	else
		printf("%s, priority %lld, %s\n", str(st, "role"), num(st, "priority"),
		       json_is_true(json_object_get(st, "vip_held")) ? "holds the VIPs"
								     : "does not hold the VIPs");
	cell_text(json_object_get(st, "vips"), vips, sizeof(vips));
	label("vips:");
	printf("%s\n", vips);
}

/* The instances without their nested parts, then each instance's tracked
 * items as a table and its notify script on one line. */
static void instances(const json_t *rows)
{
	json_t *flat = json_array(), *row, *t;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		json_t *r = json_deep_copy(row), *v6 = json_object_get(row, "vrrp6");

		json_object_del(r, "tracks");
		json_object_del(r, "notify");
		/* Its IPv6 side in one cell ("MASTER, held"); every counter is
		 * in --json. */
		if (json_is_object(v6))
			json_object_set_new(
				r, "vrrp6",
				json_sprintf("%s%s", str(v6, "role"),
					     json_is_true(json_object_get(v6, "vip_held"))
						     ? ", held"
						     : ""));
		json_array_append_new(flat, r);
	}
	printf("\ninstances:\n");
	print_table(flat, "  ");
	json_decref(flat);
	json_array_foreach(rows, i, row)
	{
		t = json_object_get(row, "tracks");
		/* The tracked items are every instance's: one table for all
		 * when they say the same (they do, from one daemon). */
		if (i > 0 && json_equal(t, json_object_get(json_array_get(rows, 0), "tracks")))
			t = NULL;
		if (json_is_array(t) && json_array_size(t)) {
			if (i == 0 && json_array_size(rows) > 1)
				printf("\ntracked (every instance):\n");
			else
				printf("\ntracked by %s:\n", str(row, "name"));
			print_table(t, "  ");
		}
		t = json_object_get(row, "notify");
		if (json_is_object(t) && *str(t, "script"))
			printf("\nnotify (%s): %s, calls=%lld failures=%lld timeouts=%lld "
			       "dropped=%lld\n",
			       str(row, "name"), str(t, "script"), num(t, "calls"),
			       num(t, "failures"), num(t, "timeouts"), num(t, "dropped"));
	}
}

static void table(const json_t *st, const char *key)
{
	json_t *rows = json_object_get(st, key);

	if (strcmp(key, "instances") == 0 && json_is_array(rows) && json_array_size(rows)) {
		instances(rows);
		return;
	}
	printf("\n%s:\n", key);
	if (json_is_array(rows) && json_array_size(rows))
		print_table(rows, "  ");
	else
		printf("  (none)\n");
}

static void proxy(const json_t *p, bool verbose)
{
	static const char *const errs[] = { "errors_4xx", "errors_5xx", "aborted", "threads",
					    NULL };
	json_t *threads = json_object_get(p, "threads"), *tls = json_object_get(p, "tls");

	label("proxy:");
	scalars(p, errs);
	sublabel("errors");
	printf("4xx=%lld 5xx=%lld aborted=%lld\n", num(p, "errors_4xx"), num(p, "errors_5xx"),
	       num(p, "aborted"));
	if (json_is_object(tls)) {
		sublabel("tls");
		printf("handshakes=%lld resumed=%lld\n", num(tls, "handshakes"),
		       num(tls, "resumed"));
		counters(tls, "failures", verbose); /* "    failures:" only when any */
	}
	if (verbose && json_array_size(threads) > 1) {
		printf("  threads:\n");
		print_table(threads, "    ");
	}
}

static void vrrp(const json_t *v, bool verbose)
{
	static const char *const done[] = { "vrid",
					    "interface",
					    "master",
					    "reason",
					    "advert_interval_ms",
					    "master_down_interval_ms",
					    "skew_time_ms",
					    "adverts_sent",
					    "adverts_received",
					    "transitions",
					    NULL };
	static const char *const nest[] = { "entered", NULL };

	label("vrrp:");
	printf("vrid %lld on %s, master %s (%s)\n", num(v, "vrid"), str(v, "interface"),
	       str(v, "master"), str(v, "reason"));
	sublabel("timers");
	printf("advert %lld ms, master down %lld ms, skew %lld ms\n", num(v, "advert_interval_ms"),
	       num(v, "master_down_interval_ms"), num(v, "skew_time_ms"));
	sublabel("adverts");
	printf("sent=%lld received=%lld\n", num(v, "adverts_sent"), num(v, "adverts_received"));
	sublabel("transitions");
	printf("%lld\n", num(v, "transitions"));
	counters(v, "entered", true);
	sublabel("other");
	scalars(v, done);
	nested(v, nest, verbose);
}

/* The IPv6 family of the first instance (docs/vrrp.md "IPv6"):
 *   vrrp6:  MASTER (follows the IPv4 election), holds the IPv6 VIPs, from fe80::1
 * then its adverts, its neighbour discovery, and drops (non-zero unless -v). */
static void vrrp6(const json_t *v, bool verbose)
{
	static const char *const done[] = {
		"mode",   "role",         "vip_held",         "primary",
		"master", "adverts_sent", "adverts_received", "transitions",
		NULL
	};
	static const char *const nd_done[] = { "dropped", NULL };
	json_t *nd = json_object_get(v, "ndisc");
	bool elects = !strcmp(str(v, "mode"), "election");

	label("vrrp6:");
	printf("%s (%s), %s, from %s", str(v, "role"),
	       elects ? "its own election" : "follows the IPv4 election",
	       json_is_true(json_object_get(v, "vip_held")) ? "holds the IPv6 VIPs"
							    : "does not hold the IPv6 VIPs",
	       str(v, "primary"));
	if (elects && *str(v, "master"))
		printf(", master %s", str(v, "master"));
	putchar('\n');
	sublabel("adverts");
	printf("sent=%lld received=%lld\n", num(v, "adverts_sent"), num(v, "adverts_received"));
	sublabel("transitions");
	printf("%lld\n", num(v, "transitions"));
	if (json_is_object(nd)) {
		sublabel("ndisc");
		scalars(nd, nd_done);
		counters_as(nd, "dropped", "nd dropped", verbose);
	}
	counters(v, "dropped", verbose);
	if (has_scalars(v, done)) {
		sublabel("other");
		scalars(v, done);
	}
}

/* "k=v k=v" of the named keys of o that are there. */
static void some(const json_t *o, const char *const *keys)
{
	char cell[256];
	bool first = true;

	for (; *keys; keys++) {
		json_t *v = json_object_get(o, *keys);

		if (!v)
			continue;
		cell_text(v, cell, sizeof(cell));
		printf("%s%s=%s", first ? "" : " ", *keys, cell);
		first = false;
	}
	putchar('\n');
}

/* "liveness: up, 20 ms (detect 60 ms), 198.18.0.11 seen 12 ms ago" */
static void liveness_line(const json_t *l)
{
	json_t *age;

	if (!json_is_object(l))
		return;
	sublabel("liveness");
	if (!num(l, "interval_ms")) {
		printf("off\n");
		return;
	}
	printf("%s, every %lld ms", str(l, "state"), num(l, "interval_ms"));
	if (num(l, "detect_ms"))
		printf(" (detect %lld ms)", num(l, "detect_ms"));
	age = json_object_get(l, "last_seen_ms");
	if (*str(l, "peer") && strcmp(str(l, "peer"), "?"))
		printf(", %s", str(l, "peer"));
	if (json_is_integer(age) && json_integer_value(age) >= 0)
		printf(" seen %lld ms ago", (long long)json_integer_value(age));
	printf(", %lld path(s) up, silences %lld, takeovers %lld\n", num(l, "paths_up"),
	       num(l, "silences"), num(l, "takeovers"));
}

static void sync_group(const json_t *s, bool verbose)
{
	static const char *const sent[] = { "snapshots_sent", "deltas_sent", "byes_sent", NULL };
	static const char *const applied[] = { "snapshots_applied", "deltas_applied", "gaps",
					       "byes_received", NULL };
	static const char *const done[] = { "seq",
					    "last_snapshot_ms",
					    "session",
					    "session_up",
					    "sessions_served",
					    "snapshots_sent",
					    "deltas_sent",
					    "byes_sent",
					    "snapshots_applied",
					    "deltas_applied",
					    "gaps",
					    "byes_received",
					    "successor",
					    "liveness",
					    NULL };
	static const char *const none[] = { NULL };
	/* Its line above says what matters; -v adds every counter. */
	static const char *const summarized[] = { "liveness", NULL };
	json_t *age = json_object_get(s, "last_snapshot_ms");
	const char *peer = str(s, "session");

	label("sync:");
	printf("seq %lld", num(s, "seq"));
	if (json_is_integer(age) && json_integer_value(age) >= 0)
		printf(", last snapshot %lld ms ago", (long long)json_integer_value(age));
	if (*peer && strcmp(peer, "?"))
		printf(", session to %s %s", peer,
		       json_is_true(json_object_get(s, "session_up")) ? "up" : "down");
	if (num(s, "sessions_served"))
		printf(", serving %lld BACKUP(s)", num(s, "sessions_served"));
	if (*str(s, "successor") && strcmp(str(s, "successor"), "?"))
		printf(", successor %s", str(s, "successor"));
	putchar('\n');
	liveness_line(json_object_get(s, "liveness"));
	if (!json_object_get(s, "snapshots_sent"))
		return; /* standalone: seq only */
	sublabel("sent");
	some(s, sent);
	sublabel("applied");
	some(s, applied);
	sublabel("other");
	scalars(s, done);
	nested(s, verbose ? none : summarized, verbose);
}

static void group(const json_t *o, const char *name, bool verbose)
{
	static const char *const none[] = { NULL };
	char l[64];

	snprintf(l, sizeof(l), "%s:", name);
	label(l);
	scalars(o, none);
	nested(o, none, verbose);
}

void print_status(const json_t *st, bool verbose)
{
	static const char *const known[] = {
		"node",      "version",  "mode",     "listen",        "ha",
		"role",      "priority", "vip_held", "base_priority", "vips",
		"instances", "peers",    "servers",  "names",         "proxy",
		"vrrp",      "vrrp6",    "sync",     "registration",  NULL
	};
	static const char *const tables[] = { "instances", "peers", "servers", "names", NULL };
	const char *key;
	json_t *v;

	head(st);
	for (const char *const *t = tables; *t; t++)
		if (json_object_get(st, *t) &&
		    (strcmp(*t, "instances") || json_array_size(json_object_get(st, *t))))
			table(st, *t);
	putchar('\n');
	if ((v = json_object_get(st, "proxy")))
		proxy(v, verbose);
	if (json_is_object(v = json_object_get(st, "vrrp")))
		vrrp(v, verbose);
	if (json_is_object(v = json_object_get(st, "vrrp6")))
		vrrp6(v, verbose);
	if (json_is_object(v = json_object_get(st, "sync")))
		sync_group(v, verbose);
	if (json_is_object(v = json_object_get(st, "registration")))
		group(v, "registration", verbose);
	json_object_foreach((json_t *)st, key, v)
	{
		char cell[LINE_MAX_], l[64];

		if (in(key, known))
			continue;
		if (json_is_object(v)) {
			group(v, key, verbose);
			continue;
		}
		if (json_is_array(v) && json_array_size(v) &&
		    json_is_object(json_array_get(v, 0))) {
			table(st, key);
			continue;
		}
		cell_text(v, cell, sizeof(cell));
		snprintf(l, sizeof(l), "%s:", key);
		label(l);
		printf("%s\n", cell);
	}
}
