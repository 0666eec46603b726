/* stats_page.h - GET /: the status page, one self-contained HTML document
 * (inline CSS, no script, no external asset) that reloads itself every
 * STATS_PAGE_REFRESH_S seconds.  Rendered on the server from the same
 * JSON documents `andromedactl status` and `journal` print, so the page,
 * /status.json and the command line never disagree. */
#ifndef ANDROMEDA_STATS_PAGE_H
#define ANDROMEDA_STATS_PAGE_H

#include <jansson.h>

#include "metrics.h"

#define STATS_PAGE_REFRESH_S   2
#define STATS_PAGE_JOURNAL_MAX 20

/* Append the page for status (the "status" reply) and journal (the
 * "journal" reply, an array, oldest first; NULL or an error object shows
 * no records) to m. */
void stats_page_render(json_t *status, json_t *journal, struct mtext *m);

#endif
