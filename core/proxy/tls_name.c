/* tls_name.c - the server name matcher (tls_name.h). */
#include "tls_name.h"

#include <string.h>
#include <strings.h>

/* host's length without one trailing dot; 0 if unusable. */
static size_t host_len(const char *host)
{
	size_t n;

	if (!host)
		return 0;
	n = strnlen(host, TLS_NAME_MAX + 2);
	if (n && host[n - 1] == '.')
		n--;
	if (n == 0 || n > TLS_NAME_MAX || memchr(host, '*', n))
		return 0;
	return n;
}

static bool exact(const char *pattern, const char *host, size_t hn)
{
	return strlen(pattern) == hn && strncasecmp(pattern, host, hn) == 0;
}

/* "*.rest": host is one label, a dot, then rest. */
static bool wildcard(const char *pattern, const char *host, size_t hn)
{
	const char *rest, *dot = memchr(host, '.', hn);
	size_t rn;

	if (strncmp(pattern, "*.", 2) != 0)
		return false;
	rest = pattern + 2;
	rn = strlen(rest);
	if (rn == 0 || !strchr(rest, '.') || strchr(rest, '*'))
		return false;
	/* The first label: non-empty, then the rest exactly. */
	return dot && dot != host && (size_t)(host + hn - (dot + 1)) == rn &&
	       strncasecmp(dot + 1, rest, rn) == 0;
}

bool tls_name_match(const char *pattern, const char *host)
{
	size_t hn = host_len(host);

	if (!hn || !pattern || !*pattern)
		return false;
	if (pattern[0] == '*')
		return wildcard(pattern, host, hn);
	return !strchr(pattern, '*') && exact(pattern, host, hn);
}

int tls_name_pick(const struct tls_name_entry *entries, size_t n, const char *host)
{
	size_t hn = host_len(host);
	int wild = -1;

	if (!hn)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = entries[i].name;

		if (!p || !*p)
			continue;
		if (p[0] != '*' && !strchr(p, '*') && exact(p, host, hn))
			return (int)entries[i].cert;
		if (wild < 0 && p[0] == '*' && wildcard(p, host, hn))
			wild = (int)entries[i].cert;
	}
	return wild;
}
