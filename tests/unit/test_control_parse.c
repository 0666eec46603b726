/* test_control_parse.c - control_parse_line (core/daemon/control.c), the pure
 * request-line parser behind the control socket: words, blanks, "\r",
 * non-printable bytes, the word limit.  The socket around it is covered by
 * test_control.c; tests/fuzz/fuzz_control.c drives both with any bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "control.h"

#define MAXW 4

static char line[256];
static char *argv[MAXW];

/* Copy s (len bytes, may hold NULs) into line with its terminating NUL. */
static int parse_n(const char *s, size_t len, int max)
{
	cr_assert_lt(len, sizeof(line));
	memcpy(line, s, len);
	line[len] = '\0';
	memset(argv, 0, sizeof(argv));
	return control_parse_line(line, len, argv, max);
}

static int parse(const char *s) { return parse_n(s, strlen(s), MAXW); }

Test(control_parse, words_split_in_place_on_spaces_and_tabs)
{
	cr_assert_eq(parse("  drain\tweb1   now "), 3);
	cr_assert_str_eq(argv[0], "drain");
	cr_assert_str_eq(argv[1], "web1");
	cr_assert_str_eq(argv[2], "now");
	cr_assert_eq(argv[0], line + 2, "argv points into the line");
	cr_assert_eq(argv[1], line + 8);
	cr_assert_null(argv[3]);
}

Test(control_parse, one_trailing_cr_is_dropped)
{
	cr_assert_eq(parse("status\r"), 1);
	cr_assert_str_eq(argv[0], "status");
	cr_assert_eq(parse("echo a\r"), 2);
	cr_assert_str_eq(argv[1], "a");
	/* Only the last byte: a second "\r", or one inside, is not printable. */
	cr_assert_eq(parse("status\r\r"), -EILSEQ);
	cr_assert_eq(parse("sta\rtus"), -EILSEQ);
	cr_assert_eq(parse("\r"), -ENODATA);
}

Test(control_parse, empty_and_blank_lines_have_no_word)
{
	cr_assert_eq(parse(""), -ENODATA);
	cr_assert_eq(parse(" \t  "), -ENODATA);
}

Test(control_parse, non_printable_bytes_are_refused)
{
	cr_assert_eq(parse("echo \x01"), -EILSEQ);
	cr_assert_eq(parse("echo \x7f"), -EILSEQ);
	cr_assert_eq(parse("echo \xc3\xa9"), -EILSEQ, "UTF-8 is not printable ASCII");
	cr_assert_eq(parse("echo \n"), -EILSEQ, "a newline is the framing's, never a word's");
	cr_assert_eq(parse_n("echo a\0b", 8, MAXW), -EILSEQ, "a NUL inside the line");
	cr_assert_eq(parse("~ !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"), 2,
		     "every printable byte is a word byte");
}

Test(control_parse, at_most_max_words)
{
	cr_assert_eq(parse("a b c d"), 4);
	cr_assert_str_eq(argv[3], "d");
	cr_assert_eq(parse("a b c d e"), -E2BIG);
	cr_assert_eq(parse_n("a b", 3, 1), -E2BIG);
	cr_assert_eq(parse_n("a b", 3, 2), 2);
	cr_assert_eq(parse_n("a   ", 4, 1), 1, "trailing blanks are no word");
}

/* n one-letter words separated by spaces, into buf; returns the length. */
static size_t words_line(char *buf, size_t size, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, i ? " w" : "w");
	return len;
}

Test(control_parse, the_daemon_limit_is_the_documented_one)
{
	char buf[3 * CONTROL_MAX_ARGS], *words[CONTROL_MAX_ARGS];
	size_t n;

	n = words_line(buf, sizeof(buf), CONTROL_MAX_ARGS);
	cr_assert_eq(control_parse_line(buf, n, words, CONTROL_MAX_ARGS), CONTROL_MAX_ARGS);
	n = words_line(buf, sizeof(buf), CONTROL_MAX_ARGS + 1);
	cr_assert_eq(control_parse_line(buf, n, words, CONTROL_MAX_ARGS), -E2BIG);
}
