/* config_file.h - private to the configuration loaders (config.c for the
 * daemon, config_agent.c for the agent): the file and line reading both
 * share, inih's plumbing, and errors as "FILE:LINE: reason".
 *
 * inih's handler is not told the line number, so inih reads the file
 * through our own line reader (ini_parse_stream), which counts lines; the
 * handler takes the count from lineno.  The reader also does what inih
 * cannot: it strips leading blanks, so an indented "key = value" is never
 * a continuation of the previous key (inih's multi-line values); it hands
 * section headers to the loader, so their names are not truncated to
 * inih's 50 bytes; and it refuses lines inih would silently misread ("key
 * value" with no '=', "key: value", NUL bytes, over-long lines). */
#ifndef ANDROMEDA_CONFIG_FILE_H
#define ANDROMEDA_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config_value.h"

/* A "[...]" line, leading blanks stripped; 0, or -1 after cfgf_fail(). */
typedef int (*cfgf_section_fn)(void *user, const char *line);
/* inih's handler: nonzero to go on. */
typedef int (*cfgf_key_fn)(void *user, const char *section, const char *name, const char *value);

struct cfgf {
	const char *path;
	char *err; /* "PATH:LINE: reason", may be NULL */
	size_t errlen;
	cfgf_section_fn section;
	cfgf_key_fn key;
	void *user; /* for section and key */
	FILE *fp;
	char *buf; /* getline() buffer */
	size_t cap;
	int lineno; /* of the line being read */
	int err_line;
	bool failed;
};

/* Record the first error as "PATH:LINE: reason" (line 0: the whole file);
 * later ones are ignored because they are usually consequences of the
 * first.  Returns -1. */
__attribute__((format(printf, 3, 4))) int cfgf_fail(struct cfgf *f, int line, const char *fmt,
						    ...);

/* The checks every section header gets: a closing ']', nothing but a ';'
 * comment after it.  Returns 0 with what is between the brackets, blanks
 * trimmed, in *inner and *len, or -1 after cfgf_fail(). */
int cfgf_header(struct cfgf *f, const char *line, const char **inner, size_t *len);

/* Copy f->path into copy (an error if it does not fit), open the file and
 * read it through inih, f->section and f->key.  The file is closed and the
 * line buffer freed again.  Returns 0, or -1 with the error recorded. */
int cfgf_read(struct cfgf *f, char *copy, size_t size);

/* Checks of the value v of key name on the current line (f->lineno) that
 * both files make, with the same words.  Each returns 0, or -1 after
 * cfgf_fail() with "name: ...". */

/* A number of that kind within min..max and, with step, a multiple of it;
 * into *out. */
int cfgf_number(struct cfgf *f, const char *name, const char *v, enum cfgv_kind kind, uint64_t min,
		uint64_t max, uint64_t step, uint64_t *out);
/* Text of at least min bytes that fits size with its NUL, without control
 * characters. */
int cfgf_text(struct cfgf *f, const char *name, const char *v, size_t min, size_t size);
/* A node or server name (cfgv_valid_name). */
int cfgf_name(struct cfgf *f, const char *name, const char *v);
/* A health check's Host (regmsg_host_ok: name or IPv4 address of
 * [A-Za-z0-9._-], optional ":port", 1..63 characters). */
int cfgf_host(struct cfgf *f, const char *name, const char *v);
/* Printable ASCII without blanks (RFC 3986 section 2: anything else is
 * percent-encoded): URLs and paths. */
int cfgf_printable(struct cfgf *f, const char *name, const char *v);
/* error, warning (or warn), info, debug: an enum log_level into *level. */
int cfgf_log_level(struct cfgf *f, const char *name, const char *v, int *level);

#endif
