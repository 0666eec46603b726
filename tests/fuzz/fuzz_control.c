/* fuzz_control.c - libFuzzer harness: what a client sends on the control
 * socket, into core/daemon/control.c.
 *
 * Build by hand, from the repository root (tests/test.sh and
 * tests/fuzz/fuzz.sh do the same with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib -Icore/daemon \
 *       tests/fuzz/fuzz_control.c core/daemon/control.c core/lib/acceptor.c core/lib/loop.c \
 *       core/lib/log.c -ljansson -o fuzz_control
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_control -max_total_time=60 run tests/fuzz/corpus/control
 *
 * Input: the bytes a client writes before shutdown(SHUT_WR).  Each input
 * is used twice:
 *   1. the request line, framed as the daemon frames it (up to the first
 *      "\n", at most CONTROL_LINE_MAX bytes), goes to the pure parser
 *      control_parse_line: its verdict and its words must match an
 *      independent reading of the line (printable ASCII and tabs only, a
 *      trailing "\r" dropped, words split on blanks, at most max words);
 *   2. the bytes go through a real control socket (a temporary directory,
 *      our own event loop run a bounded number of iterations): the reply
 *      is exactly one JSON document and "\n", the one that reading
 *      predicts (an "echo" command answers its words), or nothing at all
 *      for an empty connection; no client is left behind.
 * The socket lives in a private directory under /dev/shm (or $TMPDIR,
 * /tmp), removed at exit. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "loop.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

#define INPUT_MAX   16384 /* below the daemon's drain limit: no reset on close */
#define REPLY_MAX   65536
#define LOOP_ROUNDS 200 /* an exchange takes a handful; more is a hang */

static struct loop *loop;
static struct control *ctl;
static char dir[128];
static char sock_path[200];

/* "echo a b" -> ["echo", "a", "b"]: the words as the daemon split them. */
static json_t *cmd_echo(int argc, char **argv, void *arg)
{
	json_t *a = json_array();

	for (int i = 0; a && i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
}

static void cleanup(void)
{
	control_close(ctl);
	loop_destroy(loop);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof(dir), "%s/fuzz_control.XXXXXX", base ? base : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock_path, sizeof(sock_path), "%s/control.sock", dir);
	CHECK(loop_create(&loop) == 0);
	CHECK(control_open(&ctl, loop, sock_path) == 0);
	CHECK(control_register(ctl, "echo", "echo ARGS - the words back", cmd_echo, NULL) == 0);
	atexit(cleanup);
	return 0;
}

/* ---- 1. the pure parser ---- */

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Words of line[0..len) by hand; -EILSEQ / -ENODATA / -E2BIG as documented. */
static int expected_words(const char *line, size_t len, int max, size_t *start, size_t *wlen)
{
	int n = 0;

	if (len && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    (unsigned char)line[i] > 0x7e)
			return -EILSEQ;
	for (size_t i = 0; i < len;) {
		if (is_blank(line[i])) {
			i++;
			continue;
		}
		if (n == max)
			return -E2BIG;
		start[n] = i;
		while (i < len && !is_blank(line[i]))
			i++;
		wlen[n] = i - start[n];
		n++;
	}
	return n ? n : -ENODATA;
}

static int check_parser(const char *line, size_t len, int max, char **argv)
{
	static char buf[CONTROL_LINE_MAX + 1];
	static size_t start[CONTROL_MAX_ARGS], wlen[CONTROL_MAX_ARGS];
	int want = expected_words(line, len, max, start, wlen);
	int argc;

	memcpy(buf, line, len);
	buf[len] = '\0';
	argc = control_parse_line(buf, len, argv, max);
	CHECK(argc == want);
	for (int i = 0; i < argc; i++) {
		CHECK(argv[i] == buf + start[i]); /* in place */
		CHECK(strlen(argv[i]) == wlen[i] &&
		      memcmp(argv[i], line + start[i], wlen[i]) == 0);
	}
	return argc;
}

/* ---- 2. through the socket ---- */

static int client_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	return fd;
}

/* Send data, then run the daemon's loop until it closes; the reply. */
static size_t exchange(const uint8_t *data, size_t size, char *reply)
{
	int fd = client_connect();
	size_t got = 0;
	int rounds;

	CHECK(send(fd, data, size, MSG_NOSIGNAL) == (ssize_t)size);
	CHECK(shutdown(fd, SHUT_WR) == 0);
	for (rounds = 0; rounds < LOOP_ROUNDS; rounds++) {
		ssize_t n;

		CHECK(loop_run_once(loop, 10) == 0);
		while ((n = recv(fd, reply + got, REPLY_MAX - got, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		if (n == 0)
			break;
		CHECK(errno == EAGAIN && got < REPLY_MAX);
	}
	CHECK(rounds < LOOP_ROUNDS);
	close(fd);
	CHECK(control_nclients(ctl) == 0);
	reply[got] = '\0';
	return got;
}

static const char *error_text(json_t *j)
{
	json_t *e = json_object_get(j, "error");

	CHECK(json_is_object(j) && json_object_size(j) == 1 && json_is_string(e));
	return json_string_value(e);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The reply the daemon must give to a line whose parse gave argc/argv. */
static void check_reply(json_t *j, int argc, char **argv)
{
	if (argc == -EILSEQ)
		CHECK(starts(error_text(j), "request contains non-printable characters"));
	else if (argc == -ENODATA)
		CHECK(starts(error_text(j), "empty request"));
	else if (argc == -E2BIG)
		CHECK(starts(error_text(j), "too many arguments"));
	else if (!strcmp(argv[0], "echo")) {
		CHECK(json_is_array(j) && json_array_size(j) == (size_t)argc);
		for (int i = 0; i < argc; i++)
			CHECK(!strcmp(json_string_value(json_array_get(j, (size_t)i)), argv[i]));
	} else if (!strcmp(argv[0], "help")) {
		CHECK(json_is_array(j) && json_array_size(j) == 3);
	} else if (!strcmp(argv[0], "status")) {
		CHECK(argc == 1 ? json_is_object(j) && json_object_size(j) == 0
				: starts(error_text(j), "usage: status"));
	} else {
		const char *e = error_text(j);
		char want[512];

		/* control_error's buffer may cut a long word short. */
		snprintf(want, sizeof(want), "unknown command: %s", argv[0]);
		CHECK(starts(want, e) || starts(e, want));
		CHECK(starts(e, "unknown command: "));
	}
}

static void check_socket(const uint8_t *data, size_t size, bool too_long, int argc, char **argv)
{
	static char reply[REPLY_MAX + 1];
	size_t got = exchange(data, size, reply);
	json_error_t jerr;
	json_t *j;

	if (size == 0) {
		CHECK(got == 0); /* connected and closed without asking: no answer */
		return;
	}
	/* One compact document, one "\n", nothing else. */
	CHECK(got >= 2 && reply[got - 1] == '\n' && memchr(reply, '\n', got) == reply + got - 1);
	CHECK(strlen(reply) == got);
	j = json_loadb(reply, got - 1, JSON_DECODE_ANY, &jerr);
	CHECK(j != NULL);
	if (too_long)
		CHECK(starts(error_text(j), "request line too long"));
	else
		check_reply(j, argc, argv);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *argv[CONTROL_MAX_ARGS];
	size_t lim = size < CONTROL_LINE_MAX ? size : CONTROL_LINE_MAX, len;
	const char *line = (const char *)data, *nl;
	bool too_long;
	int argc = 0;

	if (size > INPUT_MAX)
		return 0;
	/* Framing as in client_read: the first "\n" within the line limit;
	 * none there is "too long" if the limit was reached, else EOF ends
	 * the line. */
	nl = memchr(data, '\n', lim);
	too_long = !nl && size >= CONTROL_LINE_MAX;
	len = nl ? (size_t)(nl - line) : too_long ? 0 : size;
	if (!too_long) {
		argc = check_parser(line, len, CONTROL_MAX_ARGS, argv);
		/* A smaller limit: the same words, or too many of them. */
		if (argc > 1)
			CHECK(check_parser(line, len, argc - 1, argv) == -E2BIG);
		argc = check_parser(line, len, CONTROL_MAX_ARGS, argv);
	}
	check_socket(data, size, too_long, argc, argv);
	return 0;
}
