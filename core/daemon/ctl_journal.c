/* ctl_journal.c - "journal [--since SEQ]": the journal's records
 * (daemon_journal.h) rendered as JSON for andromedactl. */
#include "ctl_journal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "daemon_journal.h"

#define JOURNAL_READ_MAX 1000 /* records in one reply, the newest */

static json_t *rec_json(const struct journal_rec *r)
{
	json_t *o = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)r->seq, "time_ms",
			      (json_int_t)r->time_ms, "event", journal_type_name(r->type));

	if (o && journal_type_is_server(r->type)) {
		struct cfg_endpoint ep;

		if (r->srv.v6)
			cfg_endpoint_set(&ep, AF_INET6, &r->srv.addr6, r->srv.port);
		else
			cfg_endpoint_set(&ep, AF_INET, &r->srv.addr, r->srv.port);
		json_object_set_new(o, "server", json_string(r->srv.name));
		json_object_set_new(o, "address", json_string(ep.text));
	}
	if (o && r->detail[0])
		json_object_set_new(o, "detail", json_string(r->detail));
	return o;
}

static json_t *cmd_journal(int argc, char **argv, void *arg)
{
	struct djournal *dj = arg;
	struct journal_rec *recs;
	uint64_t since = 0;
	size_t n = 0;
	json_t *a;
	char *end;

	if (argc == 3 && !strcmp(argv[1], "--since")) {
		errno = 0;
		since = strtoull(argv[2], &end, 10);
		if (errno || *end || end == argv[2])
			return control_error("journal: --since takes a sequence number");
	} else if (argc != 1) {
		return control_error("usage: journal [--since SEQ]");
	}
	if (!(recs = calloc(JOURNAL_READ_MAX, sizeof(*recs))))
		return NULL;
	if (djournal_read(dj, since, recs, JOURNAL_READ_MAX, &n) < 0) {
		free(recs);
		return control_error("journal: cannot read it");
	}
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, rec_json(&recs[i]));
	free(recs);
	return a;
}

int ctl_journal_register(struct control *c, struct djournal *dj)
{
	return control_register(c, "journal",
				"journal [--since SEQ] - the state-change journal (bitacora)",
				cmd_journal, dj);
}
