/* http_scan.h - private to http.c and http_scan.c: the line checker that
 * runs before http-parser (see http_scan.c). */
#ifndef ANDROMEDA_HTTP_SCAN_H
#define ANDROMEDA_HTTP_SCAN_H

#include <stddef.h>

#include "http.h"

/* Line checker states (m->scan). */
enum scan_state {
	SC_IDLE, /* not checking (body data) */
	SC_LEAD, /* before the start line: empty lines allowed (RFC 9112 2.2) */
	SC_LEAD_CR,
	SC_METHOD, /* request line: method, then request-target */
	SC_TARGET,
	SC_START, /* rest of the start line */
	SC_START_CR,
	SC_LINE, /* at the start of a field line or of the final CRLF */
	SC_NAME,
	SC_VALUE,
	SC_CR,
	SC_END_CR,
	SC_CHUNK,     /* in a chunk-size line: the hex size */
	SC_CHUNK_BWS, /* whitespace after the size: only more of it, ';' or CR */
	SC_CHUNK_EXT, /* after ';': chunk extensions */
	SC_CHUNK_CR,
	SC_END, /* the checked section is complete */
};

/* The reason http_scan() gives for a request-target over max_uri: the
 * caller answers 414 for it (compared by address), 400 for the others. */
extern const char http_uri_too_long[];

/* Check the bytes http-parser is about to see, up to the end of the
 * current section (head, trailers or chunk-size line), advancing m->scan.
 * Returns how many may go to http-parser: all len, or those before the
 * first bad byte (then *why says what is wrong). */
size_t http_scan(struct http_msg *m, const char *buf, size_t len, const char **why);

#endif
