/* test_config_file.c - what both configuration loaders share (config_file.h):
 * "FILE:LINE: reason", the section header checks, the line reader's calls
 * to the loader, and the value checks with their messages. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "config_value.h"
#include "log.h"

static char err[256];

static struct cfgf at_line(int line)
{
	struct cfgf f = {
		.path = "/etc/x.conf", .err = err, .errlen = sizeof(err), .lineno = line
	};

	err[0] = '\0';
	return f;
}

Test(cfgf, fail_keeps_the_first_error)
{
	struct cfgf f = at_line(3);

	cr_assert_eq(cfgf_fail(&f, 3, "first %d", 1), -1);
	cr_assert_eq(cfgf_fail(&f, 4, "second"), -1);
	cr_assert_str_eq(err, "/etc/x.conf:3: first 1");
	cr_assert(f.failed);
	cr_assert_eq(f.err_line, 3);
}

Test(cfgf, fail_truncates_and_takes_no_buffer)
{
	char small[8];
	struct cfgf f = { .path = "/etc/x.conf", .err = small, .errlen = sizeof(small) };
	struct cfgf g = { .path = "/etc/x.conf" };

	cfgf_fail(&f, 12, "reason");
	cr_assert_str_eq(small, "/etc/x.");
	cr_assert_eq(cfgf_fail(&g, 1, "reason"), -1);
	cr_assert(g.failed);
}

Test(cfgf, header)
{
	struct cfgf f = at_line(2);
	const char *inner;
	size_t n;

	cr_assert_eq(cfgf_header(&f, "[  server web1 \t] ; comment", &inner, &n), 0);
	cr_assert_eq(n, 11);
	cr_assert_eq(strncmp(inner, "server web1", n), 0);
	cr_assert_eq(cfgf_header(&f, "[]", &inner, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(cfgf_header(&f, "[agent", &inner, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:2: section header without closing ']'");
	f = at_line(5);
	cr_assert_eq(cfgf_header(&f, "[agent] x", &inner, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:5: unexpected text after section header: \"x\"");
}

Test(cfgf, number)
{
	struct cfgf f = at_line(7);
	uint64_t n = 0;

	cr_assert_eq(cfgf_number(&f, "t", "2s", CFGV_DUR, 10, 60000, 0, &n), 0);
	cr_assert_eq(n, 2000);
	cr_assert_eq(cfgf_number(&f, "s", "64k", CFGV_SIZE, 1024, 65536, 0, &n), 0);
	cr_assert_eq(n, 65536);
	cr_assert_eq(cfgf_number(&f, "a", "120", CFGV_DUR, 10, 40950, 10, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:7: a: \"120\" needs a unit (ms, s, m, h)");
	f = at_line(7);
	cr_assert_eq(cfgf_number(&f, "a", "15ms", CFGV_DUR, 10, 40950, 10, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:7: a: \"15ms\" is not a multiple of 10ms");
	f = at_line(7);
	cr_assert_eq(cfgf_number(&f, "w", "0", CFGV_NUM, 1, 256, 0, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:7: w: \"0\" is out of range (1..256)");
	f = at_line(7);
	cr_assert_eq(cfgf_number(&f, "w", "99999999999999999999", CFGV_NUM, 1, 256, 0, &n), -1);
	cr_assert_str_eq(err,
			 "/etc/x.conf:7: w: \"99999999999999999999\" is too large (at most 256)");
	f = at_line(7);
	cr_assert_eq(cfgf_number(&f, "w", "1x", CFGV_NUM, 1, 256, 0, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:7: w: \"1x\" is not a whole number");
	f = at_line(7);
	cr_assert_eq(cfgf_number(&f, "m", "1T", CFGV_SIZE, 0, UINT64_MAX, 0, &n), -1);
	cr_assert_str_eq(err, "/etc/x.conf:7: m: \"1T\" is not a size (bytes, or a whole number "
			      "with k, M or G)");
}

Test(cfgf, text_name_printable_log_level)
{
	struct cfgf f = at_line(4);
	int level = -1;

	cr_assert_eq(cfgf_text(&f, "k", "/k", 1, 8), 0);
	cr_assert_eq(cfgf_text(&f, "k", "", 1, 8), -1);
	cr_assert_str_eq(err, "/etc/x.conf:4: k: must not be empty");
	f = at_line(4);
	cr_assert_eq(cfgf_text(&f, "k", "12345678", 0, 8), -1);
	cr_assert_str_eq(err, "/etc/x.conf:4: k: \"12345678\" is too long (at most 7 characters)");
	f = at_line(4);
	cr_assert_eq(cfgf_text(&f, "k", "a\tb", 0, 8), -1);
	cr_assert_str_eq(err, "/etc/x.conf:4: k: \"a\tb\" contains a control character");
	f = at_line(4);
	cr_assert_eq(cfgf_name(&f, "name", "web-1.a_b"), 0);
	cr_assert_eq(cfgf_name(&f, "name", "web 1"), -1);
	cr_assert_str_eq(err, "/etc/x.conf:4: name: \"web 1\" is not a name (1..63 letters, "
			      "digits, '.', '_' or '-')");
	f = at_line(4);
	cr_assert_eq(cfgf_printable(&f, "u", "http://h/a%20b"), 0);
	cr_assert_eq(cfgf_printable(&f, "u", "http://h/a b"), -1);
	cr_assert_str_eq(err, "/etc/x.conf:4: u: \"http://h/a b\" must be printable ASCII without "
			      "blanks (percent-encode the rest)");
	f = at_line(4);
	cr_assert_eq(cfgf_log_level(&f, "log_level", "warn", &level), 0);
	cr_assert_eq(level, LOG_LVL_WARN);
	cr_assert_eq(cfgf_log_level(&f, "log_level", "loud", &level), -1);
	cr_assert_eq(level, LOG_LVL_WARN);
	cr_assert_str_eq(err, "/etc/x.conf:4: log_level: \"loud\" is not a level (error, warning, "
			      "info, debug)");
}

Test(cfgv, store_uint_by_size)
{
	uint16_t a = 0;
	uint32_t b = 0;
	uint64_t c = 0;

	cfgv_store_uint(&a, sizeof(a), 65535);
	cfgv_store_uint(&b, sizeof(b), 4000000000u);
	cfgv_store_uint(&c, sizeof(c), UINT64_MAX);
	cr_assert_eq(a, 65535);
	cr_assert_eq(b, 4000000000u);
	cr_assert_eq(c, UINT64_MAX);
}

/* ---- the reader, through a loader of our own ---- */

struct rec {
	struct cfgf f;
	char log[512];
};

static int rec_section(void *user, const char *line)
{
	struct rec *r = user;
	size_t len = strlen(r->log);

	snprintf(r->log + len, sizeof(r->log) - len, "%d:%s|", r->f.lineno, line);
	return strcmp(line, "[bad]") == 0 ? cfgf_fail(&r->f, r->f.lineno, "bad section") : 0;
}

static int rec_key(void *user, const char *section, const char *name, const char *value)
{
	struct rec *r = user;
	size_t len = strlen(r->log);

	(void)section;
	snprintf(r->log + len, sizeof(r->log) - len, "%d:%s=%s|", r->f.lineno, name, value);
	return strcmp(name, "stop") != 0; /* 0 without an error of our own */
}

static int read_bytes(struct rec *r, const char *text, size_t len, char *copy, size_t size)
{
	char path[] = "/tmp/test_config_file.XXXXXX";
	int fd = mkstemp(path), ret;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	memset(r, 0, sizeof(*r));
	r->f = (struct cfgf){ .path = path,
			      .err = err,
			      .errlen = sizeof(err),
			      .section = rec_section,
			      .key = rec_key,
			      .user = r };
	err[0] = '\0';
	ret = cfgf_read(&r->f, copy, size);
	unlink(path);
	cr_assert_null(r->f.fp);
	cr_assert_null(r->f.buf);
	return ret;
}

static int read_text(struct rec *r, const char *text, char *copy, size_t size)
{
	return read_bytes(r, text, strlen(text), copy, size);
}

Test(cfgf, read_counts_lines_and_strips_blanks)
{
	struct rec r;
	char copy[64];

	cr_assert_eq(read_text(&r, "\xEF\xBB\xBF; c\n\n  [a b]\n\tk = v\r\n# x\nk2=v2", copy,
			       sizeof(copy)),
		     0);
	cr_assert_str_eq(r.log, "3:[a b]|4:k=v|6:k2=v2|");
	cr_assert_eq(strncmp(copy, "/tmp/test_config_file.", 22), 0);
	cr_assert_str_eq(err, "");
}

Test(cfgf, read_refuses_what_inih_would_misread)
{
	struct rec r;
	char copy[64];
	char *p;

	cr_assert_eq(read_text(&r, "[s]\nkey value\n", copy, sizeof(copy)), -1);
	p = strchr(err, ':');
	cr_assert_str_eq(p, ":2: expected \"key = value\" or \"[section]\", got \"key value\"");
	cr_assert_eq(read_text(&r, "[s]\nk: v = 1\n", copy, sizeof(copy)), -1);
	cr_assert_str_eq(strchr(err, ':'), ":2: expected \"key = value\" or \"[section]\", got "
					   "\"k: v = 1\"");
	cr_assert_eq(read_text(&r, "[s]\n= v\n", copy, sizeof(copy)), -1);
	cr_assert_str_eq(strchr(err, ':'), ":2: missing key name before '='");
	cr_assert_eq(read_text(&r, "k = 1\n[bad]\nk = 2\n", copy, sizeof(copy)), -1);
	cr_assert_str_eq(strchr(err, ':'), ":2: bad section");
	cr_assert_str_eq(r.log, "1:k=1|2:[bad]|");
	cr_assert_eq(read_bytes(&r, "[s]\nk = a\0b\n", 12, copy, sizeof(copy)), -1);
	cr_assert_str_eq(strchr(err, ':'), ":2: line contains a NUL byte");
	/* A handler that stops inih without an error: inih's line number. */
	cr_assert_eq(read_text(&r, "[s]\nk = 1\nstop = 1\nk = 3\n", copy, sizeof(copy)), -1);
	cr_assert_str_eq(strchr(err, ':'), ":3: syntax error");
	cr_assert_str_eq(r.log, "1:[s]|2:k=1|3:stop=1|4:k=3|");
	cr_assert_str_eq(strchr(err, ':'), ":3: syntax error");
}

Test(cfgf, read_path_errors)
{
	char copy[8];
	struct cfgf f = { .path = "/nonexistent/x.conf", .err = err, .errlen = sizeof(err) };
	char big[64];
	struct cfgf g = { .path = "/nonexistent/y", .err = err, .errlen = sizeof(err) };

	cr_assert_eq(cfgf_read(&f, copy, sizeof(copy)), -1);
	cr_assert_str_eq(err, "/nonexistent/x.conf:0: path is too long");
	cr_assert_eq(cfgf_read(&g, big, sizeof(big)), -1);
	cr_assert_str_eq(err, "/nonexistent/y:0: cannot open: No such file or directory");
	cr_assert_str_eq(big, "/nonexistent/y");
}
