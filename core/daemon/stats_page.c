/* stats_page.c - the HTML status page (stats_page.h).  Every string that
 * comes from the status (names, addresses, journal details: some are
 * chosen by agents on the LAN) is HTML-escaped. */
#include "stats_page.h"

#include <stdio.h>
#include <time.h>

static void esc(struct mtext *m, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			mtext_puts(m, "&lt;");
			break;
		case '>':
			mtext_puts(m, "&gt;");
			break;
		case '&':
			mtext_puts(m, "&amp;");
			break;
		case '"':
			mtext_puts(m, "&quot;");
			break;
		case '\'':
			mtext_puts(m, "&#39;");
			break;
		default:
			mtext_append(m, s, 1);
		}
	}
}

/* The value of key in o as text: strings as they are, numbers and
 * booleans printed, anything else "". */
static const char *text(json_t *o, const char *key, char *buf, size_t cap)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, cap, "%s", "");
	return buf;
}

static void cell(struct mtext *m, json_t *o, const char *key)
{
	char buf[32];
	const char *t = text(o, key, buf, sizeof(buf));

	mtext_puts(m, "<td class=\"");
	esc(m, key);
	mtext_puts(m, "\">");
	esc(m, t);
	mtext_puts(m, "</td>");
}

/* A table of the rows of array a, one column per key. */
static void table(struct mtext *m, const char *id, const char *title, json_t *a,
		  const char *const *keys)
{
	size_t i;
	json_t *row;

	mtext_puts(m, "<h2>");
	mtext_puts(m, title);
	mtext_puts(m, "</h2>\n<table id=\"");
	mtext_puts(m, id);
	mtext_puts(m, "\"><tr>");
	for (const char *const *k = keys; *k; k++) {
		mtext_puts(m, "<th>");
		mtext_puts(m, *k);
		mtext_puts(m, "</th>");
	}
	mtext_puts(m, "</tr>\n");
	json_array_foreach(a, i, row)
	{
		char buf[32];

		mtext_puts(m, "<tr class=\"row ");
		esc(m, text(row, "state", buf, sizeof(buf)));
		esc(m, text(row, "role", buf, sizeof(buf)));
		mtext_puts(m, "\">");
		for (const char *const *k = keys; *k; k++)
			cell(m, row, *k);
		mtext_puts(m, "</tr>\n");
	}
	if (!json_array_size(a))
		mtext_puts(m, "<tr><td class=\"none\" colspan=\"9\">none</td></tr>\n");
	mtext_puts(m, "</table>\n");
}

static const char style[] =
	"<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
	"table{border-collapse:collapse;margin-bottom:1em}"
	"td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
	"th{background:#eee}.up,.MASTER{background:#dfd}.down,.FAULT{background:#fdd}"
	".drain,.BACKUP{background:#ffd}h1{font-size:1.4em}h2{font-size:1.1em;margin:1em 0 .3em}"
	".kv span{margin-right:1.5em}</style>\n";

static void header(struct mtext *m, json_t *status)
{
	static const char *const keys[] = { "node", "role", "version", "mode", "listen", NULL };
	char buf[32];

	mtext_puts(m, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		      "<meta http-equiv=\"refresh\" content=\"");
	snprintf(buf, sizeof(buf), "%d", STATS_PAGE_REFRESH_S);
	mtext_puts(m, buf);
	mtext_puts(m, "\">\n<title>andromeda ");
	esc(m, text(status, "node", buf, sizeof(buf)));
	mtext_puts(m, "</title>\n");
	mtext_puts(m, style);
	mtext_puts(m, "</head><body>\n<h1>andromeda: ");
	esc(m, text(status, "node", buf, sizeof(buf)));
	mtext_puts(m, "</h1>\n<p class=\"kv\" id=\"node\">");
	for (const char *const *k = keys; *k; k++) {
		mtext_puts(m, "<span>");
		mtext_puts(m, *k);
		mtext_puts(m, ": <b class=\"");
		esc(m, *k);
		mtext_puts(m, "\">");
		esc(m, text(status, *k, buf, sizeof(buf)));
		mtext_puts(m, "</b></span>");
	}
	mtext_puts(m, "</p>\n");
}

/* "vips" arrays as one comma-separated string, in place. */
static void flatten_vips(json_t *o)
{
	json_t *a = json_object_get(o, "vips"), *v;
	char joined[512] = "";
	size_t i, n = 0;

	if (!json_is_array(a))
		return;
	json_array_foreach(a, i, v) if (json_is_string(v)) n +=
		(size_t)snprintf(joined + n, n < sizeof(joined) ? sizeof(joined) - n : 0, "%s%s",
				 i ? ", " : "", json_string_value(v));
	json_object_set_new(o, "vips", json_string(joined));
}

static void counters(struct mtext *m, json_t *proxy)
{
	static const char *const keys[] = {
		"accepted",   "requests", "responses", "redispatched", "errors_4xx",
		"errors_5xx", "aborted",  "clients",   "active",       NULL
	};
	json_t *one = json_array();

	json_array_append(one, proxy);
	table(m, "proxy", "Proxy", one, keys);
	json_decref(one);
}

static void journal_tail(struct mtext *m, json_t *journal)
{
	static const char *const keys[] = { "seq", "time", "event", "server", "detail", NULL };
	size_t n = json_is_array(journal) ? json_array_size(journal) : 0;
	size_t from = n > STATS_PAGE_JOURNAL_MAX ? n - STATS_PAGE_JOURNAL_MAX : 0;
	json_t *tail = json_array();

	for (size_t i = n; i > from; i--) { /* newest first */
		json_t *r = json_deep_copy(json_array_get(journal, i - 1));
		time_t t = (time_t)(json_integer_value(json_object_get(r, "time_ms")) / 1000);
		char when[32];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
		json_object_set_new(r, "time", json_string(when));
		json_array_append_new(tail, r);
	}
	table(m, "journal", "Journal (newest first, UTC)", tail, keys);
	json_decref(tail);
}

void stats_page_render(json_t *status, json_t *journal, struct mtext *m)
{
	static const char *const inst[] = { "name",          "vrid", "role",     "priority",
					    "base_priority", "vips", "vip_held", NULL };
	static const char *const peers[] = { "name", "address",      "priority",
					     "role", "last_seen_ms", NULL };
	static const char *const servers[] = { "name",     "address",  "source", "state",
					       "weight",   "inflight", "queued", "requests",
					       "failures", NULL };
	json_t *inst_rows = json_deep_copy(json_object_get(status, "instances"));
	size_t i;
	json_t *row;

	header(m, status);
	json_array_foreach(inst_rows, i, row) flatten_vips(row);
	table(m, "instances", "VRRP instances", inst_rows, inst);
	json_decref(inst_rows);
	table(m, "peers", "Peers", json_object_get(status, "peers"), peers);
	table(m, "servers", "Servers", json_object_get(status, "servers"), servers);
	counters(m, json_object_get(status, "proxy"));
	journal_tail(m, journal);
	mtext_puts(m, "<p><a href=\"/status.json\">status.json</a> &middot; "
		      "<a href=\"/metrics\">metrics</a></p>\n</body></html>\n");
}
