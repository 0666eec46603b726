/* ctl_print.h - andromedactl's human output helpers shared by its main
 * (the generic "key: value" lines and tables of every command) and
 * status_view.c (the status command's own layout). */
#ifndef ANDROMEDA_CTL_PRINT_H
#define ANDROMEDA_CTL_PRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A value on one line, terminal-safe (main_andromedactl.c). */
void cell_text(const json_t *v, char *out, size_t len);
/* An array of objects as an aligned table with a header row. */
void print_table(const json_t *rows, const char *indent);

/* The status reply for a person (status_view.c): what an operator looks
 * at first (node, role, VIPs, instances, peers, servers), then the
 * counters grouped, drop counters that are zero left out unless verbose.
 * Keys it does not know are printed after, generically, so nothing the
 * daemon adds is hidden; --json stays the complete document. */
void print_status(const json_t *status, bool verbose);

#endif
