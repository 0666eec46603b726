/* tls_name.h - which certificate a TLS client's server name (SNI, RFC
 * 6066 section 3) selects.  Pure: no libssl, no allocation; the Criterion
 * tests and tests/fuzz/fuzz_tls_name.c target it.  tls_ctx.c feeds it the
 * names it read from each certificate. */
#ifndef ANDROMEDA_TLS_NAME_H
#define ANDROMEDA_TLS_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define TLS_NAME_MAX 253 /* a DNS name's text, without the trailing dot */

/* Does host (the client's server name) match pattern (a name of a
 * certificate: "www.example.com", or "*.example.com")?  RFC 6125 section
 * 6.4.3 as browsers apply it: ASCII case-insensitive; a wildcard is the
 * whole leftmost label and stands for exactly one non-empty label
 * ("*.example.com" matches "a.example.com", neither "example.com" nor
 * "a.b.example.com"); "*.com"-like patterns (no dot after the first
 * label) and partial wildcards ("w*.example.com") match nothing.  One
 * trailing dot on host is ignored.  NULL or empty never matches. */
bool tls_name_match(const char *pattern, const char *host);

/* One name of one certificate (cert: its index in tls_cert). */
struct tls_name_entry {
	const char *name;
	unsigned cert;
};

/* The certificate for host among n entries: the first exact match, else
 * the first wildcard match (a certificate naming the host exactly wins
 * over one that covers it by wildcard, as nginx and HAProxy choose), else
 * -1: the caller uses its default (the first certificate). */
int tls_name_pick(const struct tls_name_entry *entries, size_t n, const char *host);

#endif
