/* config_file.c - the line reader both configuration loaders read through
 * and the value checks they share (see config_file.h); the only file that
 * calls inih. */
#include "config_file.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "macros.h"
#include "regmsg.h"

int cfgf_fail(struct cfgf *f, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->failed)
		return -1;
	f->failed = true;
	f->err_line = line;
	if (!f->err || f->errlen == 0)
		return -1;
	n = snprintf(f->err, f->errlen, "%s:%d: ", f->path, line);
	if (n >= 0 && (size_t)n < f->errlen) {
		va_start(ap, fmt);
		vsnprintf(f->err + n, f->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int cfgf_header(struct cfgf *f, const char *line, const char **inner, size_t *len)
{
	const char *end = strchr(line, ']'), *rest;
	size_t n;

	if (!end)
		return cfgf_fail(f, f->lineno, "section header without closing ']'");
	rest = end + 1 + strspn(end + 1, " \t");
	if (*rest && *rest != ';')
		return cfgf_fail(f, f->lineno, "unexpected text after section header: \"%s\"",
				 rest);
	line++;
	line += strspn(line, " \t");
	n = (size_t)(end - line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*inner = line;
	*len = n;
	return 0;
}

/* Refuse what inih would misread: it splits on the first '=' or ':' and
 * treats " ;" as the start of a comment. */
static int line_check(struct cfgf *f, const char *p)
{
	const char *q;

	if (*p == '\0' || *p == ';' || *p == '#')
		return 0;
	if (*p == '[')
		return f->section(f->user, p);
	for (q = p; *q && *q != '='; q++)
		if (*q == ':' || (*q == ';' && q > p && isspace((unsigned char)q[-1])))
			break;
	if (*q != '=')
		return cfgf_fail(f, f->lineno,
				 "expected \"key = value\" or \"[section]\", got \"%s\"", p);
	if (q == p)
		return cfgf_fail(f, f->lineno, "missing key name before '='");
	return 0;
}

static char *reader(char *str, int num, void *stream)
{
	struct cfgf *f = stream;
	ssize_t n;
	char *p;

	if (f->failed)
		return NULL; /* stop inih at the first error */
	errno = 0;
	n = getline(&f->buf, &f->cap, f->fp);
	if (n < 0) {
		if (ferror(f->fp))
			cfgf_fail(f, f->lineno + 1, "read error: %s",
				  strerror(errno ? errno : EIO));
		return NULL;
	}
	f->lineno++;
	if ((size_t)n != strlen(f->buf))
		return cfgf_fail(f, f->lineno, "line contains a NUL byte"), NULL;
	while (n && (f->buf[n - 1] == '\n' || f->buf[n - 1] == '\r'))
		f->buf[--n] = '\0';
	p = f->buf;
	if (f->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* UTF-8 byte order mark from some editors */
	p += strspn(p, " \t");
	if (strlen(p) + 2 > (size_t)num)
		return cfgf_fail(f, f->lineno, "line is too long (at most %d characters)",
				 num - 2),
		       NULL;
	if (line_check(f, p) < 0)
		return NULL;
	memcpy(str, p, strlen(p) + 1);
	return str;
}

int cfgf_read(struct cfgf *f, char *copy, size_t size)
{
	int r;

	if (strlen(f->path) >= size)
		return cfgf_fail(f, 0, "path is too long");
	memcpy(copy, f->path, strlen(f->path) + 1);
	f->fp = fopen(f->path, "re");
	if (!f->fp)
		return cfgf_fail(f, 0, "cannot open: %s", strerror(errno));
	r = ini_parse_stream(reader, f, f->key, f->user);
	/* inih reports the first line it could not parse or whose handler
	 * failed.  Our own errors stop the reader, so a smaller line number
	 * from inih is a syntax error that line_check() did not foresee. */
	if (r > 0 && (!f->failed || r < f->err_line)) {
		f->failed = false;
		cfgf_fail(f, r, "syntax error");
	} else if (r < 0 && !f->failed) {
		cfgf_fail(f, 0, "inih could not parse the file (%d)", r);
	}
	free(f->buf);
	f->buf = NULL;
	fclose(f->fp);
	f->fp = NULL;
	return f->failed ? -1 : 0;
}

static int bad_number(struct cfgf *f, const char *name, const char *v, enum cfgv_kind kind,
		      uint64_t max, int r)
{
	char hi[32];

	cfgv_format(kind, max, hi, sizeof(hi));
	if (r == -ERANGE)
		return cfgf_fail(f, f->lineno, "%s: \"%s\" is too large (at most %s)", name, v,
				 hi);
	if (kind == CFGV_DUR && cfgv_all_digits(v))
		return cfgf_fail(f, f->lineno, "%s: \"%s\" needs a unit (ms, s, m, h)", name, v);
	if (kind == CFGV_DUR)
		return cfgf_fail(f, f->lineno,
				 "%s: \"%s\" is not a duration (a whole number and a "
				 "unit: 500ms, 2s, 1m, 1h)",
				 name, v);
	if (kind == CFGV_SIZE)
		return cfgf_fail(f, f->lineno,
				 "%s: \"%s\" is not a size (bytes, or a whole number "
				 "with k, M or G)",
				 name, v);
	return cfgf_fail(f, f->lineno, "%s: \"%s\" is not a whole number", name, v);
}

int cfgf_number(struct cfgf *f, const char *name, const char *v, enum cfgv_kind kind, uint64_t min,
		uint64_t max, uint64_t step, uint64_t *out)
{
	char lo[32], hi[32], st[32];
	uint64_t n;
	int r;

	r = kind == CFGV_DUR    ? config_parse_duration(v, &n)
	    : kind == CFGV_SIZE ? config_parse_size(v, &n)
				: cfgv_parse_uint(v, &n);
	if (r < 0)
		return bad_number(f, name, v, kind, max, r);
	cfgv_format(kind, min, lo, sizeof(lo));
	cfgv_format(kind, max, hi, sizeof(hi));
	if (n < min || n > max)
		return cfgf_fail(f, f->lineno, "%s: \"%s\" is out of range (%s..%s)", name, v, lo,
				 hi);
	cfgv_format(kind, step, st, sizeof(st));
	if (step && n % step != 0)
		return cfgf_fail(f, f->lineno, "%s: \"%s\" is not a multiple of %s", name, v, st);
	*out = n;
	return 0;
}

int cfgf_text(struct cfgf *f, const char *name, const char *v, size_t min, size_t size)
{
	if (strlen(v) < min)
		return cfgf_fail(f, f->lineno, "%s: must not be empty", name);
	if (strlen(v) >= size)
		return cfgf_fail(f, f->lineno, "%s: \"%s\" is too long (at most %zu characters)",
				 name, v, size - 1);
	for (const char *p = v; *p; p++)
		if (iscntrl((unsigned char)*p))
			return cfgf_fail(f, f->lineno, "%s: \"%s\" contains a control character",
					 name, v);
	return 0;
}

int cfgf_name(struct cfgf *f, const char *name, const char *v)
{
	if (!cfgv_valid_name(v))
		return cfgf_fail(f, f->lineno,
				 "%s: \"%s\" is not a name (1..%d letters, digits, "
				 "'.', '_' or '-')",
				 name, v, CFG_NAME_MAX - 1);
	return 0;
}

_Static_assert(CFG_HOST_MAX == REGMSG_HOST_MAX, "health_host travels in announcements");

int cfgf_host(struct cfgf *f, const char *name, const char *v)
{
	if (!regmsg_host_ok(v))
		return cfgf_fail(f, f->lineno,
				 "%s: \"%s\" is not a host name (1..%d letters, digits, "
				 "'.', '_' or '-', optionally \":port\")",
				 name, v, REGMSG_HOST_MAX - 1);
	return 0;
}

int cfgf_printable(struct cfgf *f, const char *name, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return cfgf_fail(f, f->lineno,
					 "%s: \"%s\" must be printable ASCII without "
					 "blanks (percent-encode the rest)",
					 name, v);
	return 0;
}

int cfgf_log_level(struct cfgf *f, const char *name, const char *v, int *level)
{
	static const struct {
		const char *name;
		enum log_level lvl;
	} levels[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN }, { "warn", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		if (strcmp(v, levels[i].name) == 0) {
			*level = (int)levels[i].lvl;
			return 0;
		}
	}
	return cfgf_fail(f, f->lineno, "%s: \"%s\" is not a level (error, warning, info, debug)",
			 name, v);
}
