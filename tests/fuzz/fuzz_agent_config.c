/* fuzz_agent_config.c - libFuzzer harness: andromeda-agent configuration
 * files into core/agent/config_agent.c.
 *
 * Build by hand, from the repository root (tests/test.sh and
 * tests/fuzz/fuzz.sh do the same with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib -Icore/agent \
 *       tests/fuzz/fuzz_agent_config.c core/agent/config_agent.c core/lib/config_file.c \
 *       core/lib/config_value.c core/lib/netaddr.c core/lib/regmsg.c core/lib/msg.c \
 *       core/lib/log.c -linih -lcrypto -o fuzz_agent_config
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_agent_config -max_total_time=60 run tests/fuzz/corpus/agent_config
 *
 * Input: a whole /etc/andromeda/agent.conf, written to a memfd and loaded
 * through /proc/self/fd/N.
 *  - agent_config_load returns 0 or -1; on -1 the reason is one terminated
 *    line "PATH:LINE: ..." with LINE within the file;
 *  - on 0 every field holds what the agent relies on without checking
 *    again: a valid name, a reachable service address, weight and
 *    intervals within the registration protocol's ranges, a check that
 *    ends before the next announcement, an http(s) URL, somewhere to send.
 * The loader allocates nothing it keeps, so LeakSanitizer checks that
 * every path frees its line buffer and closes its file. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config_agent.h"
#include "config_value.h"
#include "log.h"
#include "regmsg.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("fuzz_agent_config", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	log_set_level(LOG_LVL_ERR);
	return 0;
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

static bool terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

static void check_loaded(const struct agent_config *c)
{
	CHECK(cfgv_valid_name(c->name));
	if (c->service.sa.sa_family == AF_INET6)
		CHECK(c->service.sin6.sin6_port != 0 &&
		      regmsg_addr6_ok(c->service.sin6.sin6_addr.s6_addr));
	else
		CHECK(c->service.sin.sin_family == AF_INET && c->service.sin.sin_port != 0 &&
		      regmsg_addr_ok(c->service.sin.sin_addr.s_addr));
	CHECK(c->weight >= REGMSG_WEIGHT_MIN && c->weight <= REGMSG_WEIGHT_MAX);
	CHECK(c->announce_interval_ms >= REGMSG_INTERVAL_MIN_MS);
	CHECK(c->announce_interval_ms <= REGMSG_INTERVAL_MAX_MS);
	CHECK(c->health_timeout_ms >= 10 && c->health_timeout_ms < c->announce_interval_ms);
	CHECK(terminated(c->health_url, sizeof(c->health_url)));
	CHECK(strncasecmp(c->health_url, "http://", 7) == 0 ||
	      strncasecmp(c->health_url, "https://", 8) == 0);
	for (const unsigned char *p = (const unsigned char *)c->health_url; *p; p++)
		CHECK(*p > ' ' && *p < 0x7f);
	CHECK(c->interface[0] || c->nbalancers > 0);
	CHECK(terminated(c->interface, sizeof(c->interface)));
	CHECK(c->key_file[0] && terminated(c->key_file, sizeof(c->key_file)));
	CHECK(c->nbalancers <= AGENT_MAX_BALANCERS && c->port != 0);
	for (size_t i = 0; i < c->nbalancers; i++) {
		CHECK(regmsg_addr_ok(c->balancers[i].s_addr));
		for (size_t j = 0; j < i; j++)
			CHECK(c->balancers[i].s_addr != c->balancers[j].s_addr);
	}
	CHECK(c->log_level >= LOG_LVL_ERR && c->log_level <= LOG_LVL_DEBUG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config cfg;
	char err[512];
	int rc;

	if (size > 256 * 1024)
		return 0;
	CHECK(ftruncate(memfd, 0) == 0);
	CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	memset(err, 'x', sizeof(err));
	rc = agent_config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		check_error(err, sizeof(err), count_lines(data, size));
		return 0;
	}
	CHECK(err[0] == '\0');
	check_loaded(&cfg);
	return 0;
}
