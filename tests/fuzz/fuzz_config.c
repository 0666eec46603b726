/* fuzz_config.c - libFuzzer harness: configuration files into
 * core/daemon/config.c and values into core/lib/config_value.c.
 *
 * Build by hand, from the repository root (tests/test.sh and
 * tests/fuzz/fuzz.sh do the same with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib \
 *       tests/fuzz/fuzz_config.c core/daemon/config.c core/lib/config_file.c \
 *       core/lib/config_value.c core/lib/netaddr.c core/lib/regmsg.c core/lib/log.c -linih \
 *       -o fuzz_config
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_config -max_total_time=60 run tests/fuzz/corpus/config
 *
 * Input: a whole configuration file.  It is written to a memfd and loaded
 * through /proc/self/fd/N, as the daemon loads /etc/andromeda/andromeda.conf.
 *  - config_load returns 0 or -1; on -1 the reason is one terminated line
 *    "PATH:LINE: ..." with LINE within the file, and nothing stays
 *    allocated (libFuzzer runs LeakSanitizer after any input that leaves
 *    more allocations than frees);
 *  - on 0 every value is within its documented range (the invariants the
 *    daemon relies on without checking again), then config_free.
 * Each line, and the value after its first '=', also goes through the
 * value parsers (duration, size, bool, endpoint, VIP, lists), which must
 * agree with their own formatter: a parsed number printed by cfgv_format
 * parses back to itself, and an endpoint's text parses back to it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config_load.h"
#include "config_value.h"
#include "log.h"
#include "netaddr.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

#define LINES_MAX 64 /* value parsers: first lines only, to keep runs fast */

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	log_set_level(LOG_LVL_ERR);
	return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
	CHECK(ftruncate(memfd, 0) == 0);
	CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
}

static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size && data[size - 1] != '\n');
}

static void check_error(const char *err, size_t errlen, size_t lines)
{
	size_t plen = strlen(path);
	char *end;
	long line;

	CHECK(memchr(err, '\0', errlen) != NULL);
	CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
	line = strtol(err + plen + 1, &end, 10);
	CHECK(end > err + plen + 1 && *end == ':' && line >= 0 && (size_t)line <= lines + 1);
	CHECK(end[1] == ' ' && end[2] != '\0');
	CHECK(strchr(err, '\n') == NULL);
}

static void check_endpoint(const struct cfg_endpoint *e)
{
	CHECK((e->sa.sa_family == AF_INET || e->sa.sa_family == AF_INET6) &&
	      netaddr_port(&e->sa) != 0);
	CHECK(memchr(e->text, '\0', sizeof(e->text)) != NULL);
}

static void check_loaded(const struct config *c)
{
	CHECK(c->nservers > 0 || c->registration.enabled);
	CHECK((c->servers == NULL) == (c->nservers == 0));
	CHECK(cfgv_valid_name(c->node.name));
	check_endpoint(&c->frontend.listen);
	for (size_t i = 0; i < c->nservers; i++) {
		CHECK(cfgv_valid_name(c->servers[i].name));
		CHECK(c->servers[i].weight >= 1 && c->servers[i].weight <= 256);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->servers[i].name, c->servers[j].name) != 0);
		if (c->servers[i].host[0]) { /* by name: resolved at run time */
			CHECK(c->servers[i].addr.sa.sa_family == AF_UNSPEC && c->servers[i].port);
			CHECK(memchr(c->servers[i].host, '\0', sizeof(c->servers[i].host)));
			continue;
		}
		CHECK(!netaddr_is_any(&c->servers[i].addr.sa));
		check_endpoint(&c->servers[i].addr);
	}
	CHECK(c->backend.health_timeout_ms <= c->backend.health_interval_ms);
	CHECK(c->backend.health_check[0] == '\0' || c->backend.health_check[0] == '/');
	CHECK(!c->registration.enabled || c->registration.key_file[0]);
	if (!c->ha.enabled)
		return;
	CHECK(c->ha.vrid >= 1 && c->ha.vrid <= 255 && c->ha.priority >= 1 &&
	      c->ha.priority <= 254);
	CHECK(c->ha.advert_interval_ms >= 10 && c->ha.advert_interval_ms <= 40950);
	CHECK(c->ha.advert_interval_ms % 10 == 0);
	CHECK(c->ha.nvips >= 1 && c->ha.nvips <= CFG_MAX_VIPS && c->ha.npeers <= CFG_MAX_PEERS);
	CHECK(c->ha.interface[0] && c->ha.key_file[0]);
	for (size_t i = 0; i < c->ha.nvips; i++)
		CHECK(c->ha.vips[i].prefixlen >= 1 && c->ha.vips[i].prefixlen <= 32);
	CHECK(c->ha.nvips6 <= CFG_MAX_VIPS);
	for (size_t i = 0; i < c->ha.nvips6; i++)
		CHECK(c->ha.vips6[i].family == AF_INET6 && c->ha.vips6[i].prefixlen >= 1 &&
		      c->ha.vips6[i].prefixlen <= 128);
	CHECK(!c->registration.enabled || c->ha.sync_port != c->registration.port);
}

static void check_load(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char err[512];
	int rc;

	write_file(data, size);
	memset(err, 'x', sizeof(err));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		check_error(err, sizeof(err), count_lines(data, size));
		CHECK(cfg.servers == NULL && cfg.nservers == 0);
		return;
	}
	CHECK(err[0] == '\0');
	check_loaded(&cfg);
	config_free(&cfg);
}

/* A number parsed from s, printed as an operator would write it, must
 * parse back to the same number. */
static void check_number(const char *s, enum cfgv_kind kind)
{
	int (*parse)(const char *, uint64_t *) =
		kind == CFGV_DUR ? config_parse_duration : config_parse_size;
	char again[64];
	uint64_t n, m;
	int r = parse(s, &n);

	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r != 0)
		return;
	cfgv_format(kind, n, again, sizeof(again));
	CHECK(parse(again, &m) == 0 && m == n);
}

static void check_values(const char *s, bool first)
{
	struct cfg_endpoint ep, ep2;
	struct cfg_vip vip;
	char tok[CFG_ADDR_TEXT_MAX];
	const char *p = s;
	size_t d;
	bool b;
	int r;

	check_number(s, CFGV_DUR);
	check_number(s, CFGV_SIZE);
	r = config_parse_bool(s, &b);
	CHECK(r == 0 || r == -EINVAL);
	if (config_parse_endpoint(s, &ep) == 0) {
		check_endpoint(&ep);
		CHECK(config_parse_endpoint(ep.text, &ep2) == 0);
		CHECK(netaddr_same(&ep.sa, &ep2.sa) && strcmp(ep.text, ep2.text) == 0);
	}
	if (cfgv_parse_vip(s, &vip) == 0) {
		struct cfg_vip again;

		if (vip.family == AF_INET6)
			CHECK(vip.prefixlen >= 1 && vip.prefixlen <= 128 &&
			      !IN6_IS_ADDR_UNSPECIFIED(&vip.addr6) &&
			      !IN6_IS_ADDR_MULTICAST(&vip.addr6) &&
			      !IN6_IS_ADDR_LINKLOCAL(&vip.addr6));
		else
			CHECK(vip.family == AF_INET && vip.prefixlen >= 1 && vip.prefixlen <= 32 &&
			      vip.addr.s_addr != 0);
		/* the canonical text parses back to the same VIP */
		CHECK(cfgv_parse_vip(vip.text, &again) == 0 && again.family == vip.family &&
		      again.prefixlen == vip.prefixlen && !strcmp(again.text, vip.text));
	}
	for (int i = 0; i < 64 && (p = cfgv_next_token(p, tok, sizeof(tok))); i++)
		CHECK(strlen(tok) < sizeof(tok) && strpbrk(tok, " \t,") == NULL);
	if (!first)
		return; /* quadratic and instrumented: once per input is enough */
	d = cfgv_edit_distance(s, "health_interval");
	CHECK(d == cfgv_edit_distance("health_interval", s));
	CHECK(strlen(s) >= 64 ? d == SIZE_MAX : d <= (strlen(s) > 15 ? strlen(s) : 15));
}

/* Every line (up to LINES_MAX) and the value after its '=', blanks
 * trimmed as the loader's reader and inih trim them. */
static void check_lines(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *line, *save = NULL, *eq, *v, *end;
	int n = 0;

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (line = strtok_r(copy, "\n", &save); line && n < LINES_MAX;
	     line = strtok_r(NULL, "\n", &save), n++) {
		check_values(line, n == 0);
		if (!(eq = strchr(line, '=')))
			continue;
		v = eq + 1 + strspn(eq + 1, " \t");
		end = v + strlen(v);
		while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		check_values(v, false);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	check_load(data, size);
	check_lines(data, size);
	return 0;
}
