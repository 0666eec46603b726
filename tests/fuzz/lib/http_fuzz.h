/* http_fuzz.h - what the two HTTP harnesses share (fuzz_http_request.c,
 * fuzz_http_response.c): feeding core/proxy/http.c a stream whole and cut
 * in two, and the invariants the proxy relies on whatever the bytes. */
#ifndef ANDROMEDA_HTTP_FUZZ_H
#define ANDROMEDA_HTTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "http.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

#define HTTP_FUZZ_MAX_MSGS 8

struct http_outcome {
	int rc;          /* last result */
	unsigned status; /* on HTTP_ERROR */
	size_t consumed; /* bytes consumed in all */
	unsigned msgs;   /* messages completed */
	uint32_t head_len[HTTP_FUZZ_MAX_MSGS];
};

/* A harness's checks of a head parsed in buf[0, used). */
typedef void (*http_fuzz_head_fn)(const struct http_msg *m, const char *buf, size_t len,
				  size_t used);

/* The limits byte 0 of an input picks (bits 0-3). */
void http_fuzz_limits(struct http_limits *l, uint8_t pick);
/* Every header lies inside the head and reads cleanly. */
void http_fuzz_check_headers(const struct http_msg *m, const char *buf, size_t used);
/* One head; feeds buf[0, split) first when split < len; head_done checks
 * a complete one. */
int http_fuzz_feed_head(struct http_msg *m, const char *buf, size_t len, size_t split,
			size_t *used, http_fuzz_head_fn head_done);
/* One body: two slices cut at split; *used = body bytes consumed. */
int http_fuzz_feed_body(struct http_msg *m, const char *buf, size_t len, size_t split,
			size_t *used);
/* Slicing must not change the outcome. */
void http_fuzz_same_outcome(const struct http_outcome *whole, const struct http_outcome *cut);

#endif
