/* andromedactl - ask a running andromeda daemon over its control socket.
 *
 *   andromedactl [-s SOCKET] [--json] COMMAND [ARGS]
 *
 * Sends one request line, reads one JSON document (protocol in
 * core/lib/control_proto.h) and prints it: as is (indented) with --json,
 * otherwise as "key: value" lines and aligned tables.
 *
 * Exit status: 0 success, 1 the daemon answered {"error": ...}, 2 the
 * daemon could not be reached or gave no valid answer, 64 usage error. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control_proto.h"
#include "ctl_print.h"

#define EXIT_DAEMON_ERROR 1
#define EXIT_NO_DAEMON    2
#define EXIT_USAGE        64 /* sysexits.h EX_USAGE */
#define REPLY_TIMEOUT_MS  5000
#define REPLY_MAX         (64u << 20) /* refuse absurd replies rather than eat memory */
#define CELL_MAX          256

static const char usage_text[] =
	"usage: andromedactl [-s SOCKET] [--json | -v] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  status                 node, role, VIPs, peers, servers, sync state\n"
	"  servers                the server pool with state and counters\n"
	"  peers                  the other balancers heard on the network\n"
	"  journal [--since SEQ]  the state-change journal\n"
	"  routes                 the routing table (requests queued and in flight)\n"
	"  drain NAME             send no new requests to server NAME\n"
	"  enable NAME            put server NAME back into rotation\n"
	"  weight NAME N          set server NAME's weight (1..256) at once\n"
	"  add NAME ADDR:PORT [WEIGHT]\n"
	"                         add a server (replicated, kept across restarts)\n"
	"  remove NAME            drain server NAME, then remove it\n"
	"  help                   the commands this daemon knows\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH      control socket (default " CONTROL_DEFAULT_SOCKET ")\n"
	"  -j, --json             print the daemon's JSON reply (also accepted after COMMAND)\n"
	"  -v, --verbose          status: every counter, zero drop counters and threads too\n"
	"  -h, --help             this text\n"
	"  -V, --version          print the version\n"
	"\n"
	"Exit status: 0 ok, 1 the daemon reported an error, 2 cannot reach the daemon,\n"
	"64 usage error.\n";

/* ---- talking to the daemon ---- */

static int connect_daemon(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "andromedactl: cannot connect to %s: %s\n", path,
			strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;

		fprintf(stderr, "andromedactl: cannot connect to %s: %s%s\n", path, strerror(err),
			err == ENOENT || err == ECONNREFUSED ? " (is andromeda running?)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read until the daemon closes.  Returns a malloc'd NUL-terminated buffer
 * or NULL with errno set (ETIMEDOUT, EMSGSIZE, ...). */
static char *read_reply(int fd, size_t *len)
{
	long long deadline = now_ms() + REPLY_TIMEOUT_MS;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			errno = ETIMEDOUT;
			break;
		}
		if (n + 1 == cap) {
			char *bigger = cap < REPLY_MAX ? realloc(buf, cap * 2) : NULL;

			if (!bigger) {
				errno = EMSGSIZE;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		/* The daemon may close with our input unread: a reset after data
		 * is still the end of the reply. */
		if (r == 0 || (r < 0 && errno == ECONNRESET && n > 0)) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		if (r < 0)
			break;
		n += (size_t)r;
	}
	free(buf);
	return NULL;
}

/* One exchange.  Returns the parsed reply, or NULL after printing why. */
static json_t *ask_daemon(const char *path, const char *line)
{
	json_error_t jerr;
	json_t *reply;
	size_t len;
	char *text;
	int fd = connect_daemon(path), err;

	if (fd < 0)
		return NULL;
	if ((err = send_all(fd, line, strlen(line))) < 0) {
		fprintf(stderr, "andromedactl: cannot send to %s: %s\n", path, strerror(-err));
		close(fd);
		return NULL;
	}
	text = read_reply(fd, &len);
	err = errno;
	close(fd);
	if (!text) {
		fprintf(stderr, "andromedactl: no reply from %s: %s\n", path, strerror(err));
		return NULL;
	}
	reply = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (!reply)
		fprintf(stderr, "andromedactl: invalid reply from %s: %s (line %d)\n", path,
			jerr.text, jerr.line);
	free(text);
	return reply;
}

/* ---- human output ---- */

/* Terminal-safe copy: names may come from the network (registration). */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static bool is_scalar(const json_t *v) { return !json_is_object(v) && !json_is_array(v); }

static bool is_table(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, e) if (!json_is_object(e)) return false;
	return true;
}

static void scalar_text(const json_t *v, char *out, size_t len)
{
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(out, len, "-");
}

/* A value on one line: scalars as text, arrays of scalars joined with
 * ", ", objects as "k=v k=v", anything deeper as compact JSON. */
void cell_text(const json_t *v, char *out, size_t len)
{
	size_t used = 0, i;
	const char *key;
	json_t *e;
	char part[CELL_MAX];

	out[0] = '\0';
	if (is_scalar(v)) {
		scalar_text(v, out, len);
	} else if (json_is_array(v) && json_array_size(v) == 0) {
		snprintf(out, len, "(none)");
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			cell_text(e, part, sizeof(part));
			used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "",
						 part);
			if (used >= len)
				break;
		}
	} else {
		json_object_foreach((json_t *)v, key, e)
		{
			cell_text(e, part, sizeof(part));
			used += (size_t)snprintf(out + used, len - used, "%s%s=%s",
						 used ? " " : "", key, part);
			if (used >= len)
				break;
		}
	}
	sanitize(out);
}

struct column {
	const char *key;
	int width;
	bool numeric;
};

/* Columns: every key of every row, in order of first appearance. */
static size_t table_columns(const json_t *rows, struct column *cols, size_t max)
{
	size_t ncols = 0, i;
	const char *key;
	json_t *row, *v;

	json_array_foreach(rows, i, row)
	{
		json_object_foreach(row, key, v)
		{
			size_t c;

			for (c = 0; c < ncols && strcmp(cols[c].key, key); c++)
				;
			if (c == ncols && ncols < max)
				cols[ncols++] = (struct column){ key, (int)strlen(key), true };
			if (c < ncols && !json_is_number(v))
				cols[c].numeric = false;
		}
	}
	return ncols;
}

static void header_text(const char *key, char *out, size_t len)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < len; i++)
		out[i] = (char)toupper((unsigned char)key[i]);
	out[i] = '\0';
	sanitize(out);
}

static void print_row(const json_t *row, const struct column *cols, size_t ncols,
		      const char *indent)
{
	char cell[CELL_MAX];

	fputs(indent, stdout);
	for (size_t c = 0; c < ncols; c++) {
		json_t *v = row ? json_object_get(row, cols[c].key) : NULL;
		int w = c + 1 < ncols || cols[c].numeric ? cols[c].width : 0;

		if (row)
			cell_text(v, cell, sizeof(cell));
		else
			header_text(cols[c].key, cell, sizeof(cell));
		printf(cols[c].numeric && row ? "%*s" : "%-*s", w, cell);
		fputs(c + 1 < ncols ? "  " : "\n", stdout);
	}
}

void print_table(const json_t *rows, const char *indent)
{
	struct column cols[32];
	size_t ncols = table_columns(rows, cols, 32), i;
	char cell[CELL_MAX];
	json_t *row;

	json_array_foreach(rows, i, row) for (size_t c = 0; c < ncols; c++)
	{
		cell_text(json_object_get(row, cols[c].key), cell, sizeof(cell));
		if ((int)strlen(cell) > cols[c].width)
			cols[c].width = (int)strlen(cell);
	}
	print_row(NULL, cols, ncols, indent);
	json_array_foreach(rows, i, row) print_row(row, cols, ncols, indent);
}

/* Plain keys first as aligned "key: value" lines, then one titled table
 * per array of objects (status: servers, peers). */
static void print_object(const json_t *obj)
{
	char cell[1024];
	const char *key;
	int width = 0;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)obj, key, v) if (!is_table(v) && (int)strlen(key) > width)
		width = (int)strlen(key);
	json_object_foreach((json_t *)obj, key, v)
	{
		if (is_table(v))
			continue;
		cell_text(v, cell, sizeof(cell));
		printf("%s:%*s %s\n", key, width - (int)strlen(key), "", cell);
		first = false;
	}
	json_object_foreach((json_t *)obj, key, v)
	{
		if (!is_table(v))
			continue;
		printf("%s%s:\n", first ? "" : "\n", key);
		print_table(v, "  ");
		first = false;
	}
}

static void print_human(const json_t *reply)
{
	char cell[1024];
	size_t i;
	json_t *e;

	if (json_is_object(reply)) {
		print_object(reply);
	} else if (is_table(reply)) {
		print_table(reply, "");
	} else if (json_is_array(reply) && json_array_size(reply) == 0) {
		puts("(none)");
	} else if (json_is_array(reply)) {
		json_array_foreach(reply, i, e)
		{
			cell_text(e, cell, sizeof(cell));
			puts(cell);
		}
	} else {
		cell_text(reply, cell, sizeof(cell));
		puts(cell);
	}
}

/* ---- command line ---- */

/* "cmd arg arg\n" from argv; NULL (after a message) if an argument cannot
 * travel on the line protocol. */
static char *build_line(int argc, char **argv)
{
	static char line[CONTROL_LINE_MAX + 1];
	size_t used = 0;

	for (int i = 0; i < argc; i++) {
		if (!*argv[i] || strpbrk(argv[i], " \t\r\n")) {
			fprintf(stderr,
				"andromedactl: argument \"%s\" is empty or contains white space\n",
				argv[i]);
			return NULL;
		}
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i ? " " : "",
					 argv[i]);
		if (used + 1 >= CONTROL_LINE_MAX) {
			fprintf(stderr, "andromedactl: request longer than %d bytes\n",
				CONTROL_LINE_MAX);
			return NULL;
		}
	}
	line[used++] = '\n';
	line[used] = '\0';
	return line;
}

/* --json, -j, --verbose and -v are also accepted after the command
 * ("andromedactl status --json", as SPEC writes it); remove them from
 * the daemon's arguments. */
static int strip_flags(int argc, char **argv, bool *json, bool *verbose)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			*json = true;
		else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
			*verbose = true;
		else
			argv[n++] = argv[i];
	}
	return n;
}

static int print_reply(json_t *reply, bool json, bool status, bool verbose)
{
	json_t *err = json_is_object(reply) ? json_object_get(reply, "error") : NULL;

	if (err) {
		char msg[1024];

		cell_text(err, msg, sizeof(msg));
		fprintf(stderr, "andromedactl: %s\n", msg);
		return EXIT_DAEMON_ERROR;
	}
	if (json) {
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		putchar('\n');
	} else if (status && json_is_object(reply)) {
		print_status(reply, verbose);
	} else {
		print_human(reply);
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
	};
	const char *path = CONTROL_DEFAULT_SOCKET;
	bool json = false, verbose = false;
	json_t *reply;
	char *line;
	int c, rc;

	/* "+": stop at the command, so "journal --since 42" reaches the daemon. */
	while ((c = getopt_long(argc, argv, "+s:jvhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("andromedactl %s\n", ANDROMEDA_VERSION);
			return EXIT_SUCCESS;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	argc = strip_flags(argc - optind, argv + optind, &json, &verbose);
	if (argc == 0) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	line = build_line(argc, argv + optind);
	if (!line)
		return EXIT_USAGE;
	reply = ask_daemon(path, line);
	if (!reply)
		return EXIT_NO_DAEMON;
	rc = print_reply(reply, json, !strcmp(argv[optind], "status"), verbose);
	json_decref(reply);
	return rc;
}
