/* test_tls.c - TLS termination: the server name matcher (tls_name.c, pure)
 * and the certificate loader's refusals (tls_ctx.c), with certificates
 * made at test time by tests/lib/tls_certs.sh (openssl). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "tls_ctx.h"
#include "tls_name.h"

/* ---- the matcher ---- */

struct mcase {
	const char *pattern, *host;
	bool match;
};

Test(tls_name, match)
{
	static const struct mcase cases[] = {
		{ "www.example.test", "www.example.test", true },
		{ "www.example.test", "WWW.Example.TEST", true },
		{ "www.example.test", "www.example.test.", true }, /* one trailing dot */
		{ "www.example.test", "www.example.test..", false },
		{ "www.example.test", "example.test", false },
		{ "www.example.test", "www.example.tes", false },
		{ "www.example.test", "", false },
		{ "*.example.test", "a.example.test", true },
		{ "*.example.test", "A.EXAMPLE.test", true },
		{ "*.example.test", "example.test", false },     /* one label, not zero */
		{ "*.example.test", "a.b.example.test", false }, /* nor two */
		{ "*.example.test", ".example.test", false },    /* not an empty one */
		{ "*.example.test", "aexample.test", false },
		{ "*.test", "a.test", false },                    /* too wide: refused */
		{ "w*.example.test", "www.example.test", false }, /* partial: refused */
		{ "*.*.example.test", "a.b.example.test", false },
		{ "*", "a", false },
		{ "", "a.test", false },
		{ "a.test", "*.a.test", false }, /* a client cannot send a wildcard */
		{ "*.a.test", "*.a.test", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(tls_name_match(cases[i].pattern, cases[i].host), cases[i].match,
			     "\"%s\" vs \"%s\"", cases[i].pattern, cases[i].host);
}

Test(tls_name, null_and_long)
{
	char host[300];

	cr_expect_not(tls_name_match(NULL, "a.test"));
	cr_expect_not(tls_name_match("a.test", NULL));
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	cr_expect_not(tls_name_match(host, host), "longer than a DNS name");
}

Test(tls_name, pick_prefers_exact_then_first_wildcard)
{
	const struct tls_name_entry e[] = {
		{ "a.test", 0 },   { "*.a.test", 0 }, { "b.test", 1 },
		{ "*.a.test", 2 }, { "x.a.test", 3 }, { NULL, 4 },
	};
	size_t n = sizeof(e) / sizeof(e[0]);

	cr_expect_eq(tls_name_pick(e, n, "b.test"), 1);
	cr_expect_eq(tls_name_pick(e, n, "B.TEST."), 1);
	cr_expect_eq(tls_name_pick(e, n, "x.a.test"), 3, "exact wins over an earlier wildcard");
	cr_expect_eq(tls_name_pick(e, n, "y.a.test"), 0, "the first wildcard");
	cr_expect_eq(tls_name_pick(e, n, "c.test"), -1, "no match: the caller's default");
	cr_expect_eq(tls_name_pick(e, n, NULL), -1, "no server name");
	cr_expect_eq(tls_name_pick(e, 0, "a.test"), -1);
}

/* ---- the loader ---- */

static char dir[64];

static void make_certs(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "/tmp/andromeda-test-tls.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "bash %s/tests/lib/tls_certs.sh %s", ANDROMEDA_SRC_DIR, dir);
	cr_assert_eq(system(cmd), 0, "tls_certs.sh (needs openssl)");
}

static void drop_certs(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(tls_ctx, .init = make_certs, .fini = drop_certs);

/* Load the files (names relative to dir); the error text, or "" if loaded. */
static const char *load(const char *a, const char *b, char *err, size_t len)
{
	static struct config cfg;
	struct tls_ctx *t = NULL;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.frontend.tls_cert[0], PATH_MAX, "%s/%s", dir, a);
	cfg.frontend.ntls_certs = 1;
	if (b) {
		snprintf(cfg.frontend.tls_cert[1], PATH_MAX, "%s/%s", dir, b);
		cfg.frontend.ntls_certs = 2;
	}
	err[0] = '\0';
	if (tls_ctx_load(&t, &cfg, err, len) == 0) {
		cr_expect_str_empty(err);
		cr_expect_eq(tls_ctx_count(t), cfg.frontend.ntls_certs);
		tls_ctx_put(t);
	}
	return err;
}

/* err must start "DIR/NAMED: " and say why. */
static void expect_error(const char *file, const char *err, const char *named, const char *why)
{
	char want[PATH_MAX + 8];

	snprintf(want, sizeof(want), "%s/%s: ", dir, named);
	cr_expect(strncmp(err, want, strlen(want)) == 0, "%s: \"%s\" should start \"%s\"", file,
		  err, want);
	cr_expect(strstr(err, why) != NULL, "%s: \"%s\" should say \"%s\"", file, err, why);
}

static void expect_refused(const char *file, const char *named, const char *why)
{
	char err[512];

	expect_error(file, load(file, NULL, err, sizeof(err)), named, why);
}

/* load(file) in a child that runs as nobody (65534), as the daemon does
 * after dropping privileges: root reads any file, so a test of an
 * unreadable file must not run as root.  The error text comes back over a
 * pipe. */
static void load_as_nobody(const char *file, char *err, size_t len)
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	cr_assert_geq(pid = fork(), 0);
	if (pid == 0) {
		close(p[0]);
		if (geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(2);
		load(file, NULL, err, len);
		_exit(write(p[1], err, strlen(err)) < 0 ? 3 : 0);
	}
	close(p[1]);
	while ((n = read(p[0], err + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	err[got] = '\0';
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

Test(tls_ctx, loads_chains_with_keys)
{
	char err[512];
	struct config cfg = { 0 };
	struct tls_ctx *t;

	cr_expect_str_empty(load("a.pem", "b.pem", err, sizeof(err)));
	/* certbot's layout: the key in privkey.pem beside fullchain.pem. */
	cr_expect_str_empty(load("le/fullchain.pem", NULL, err, sizeof(err)));
	snprintf(cfg.frontend.tls_cert[0], PATH_MAX, "%s/a.pem", dir);
	snprintf(cfg.frontend.tls_cert[1], PATH_MAX, "%s/le/fullchain.pem", dir);
	cfg.frontend.ntls_certs = 2;
	cr_assert_eq(tls_ctx_load(&t, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(tls_ctx_names(t, 0), "a.test, *.a.test", "SAN DNS names, in order");
	cr_expect_str_eq(tls_ctx_names(t, 1), "c.test");
	tls_ctx_put(t);
}

Test(tls_ctx, key_beside_as_file_dot_key)
{
	char err[512], cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "cat %1$s/b.crt %1$s/int.pem >%1$s/k.pem && cp %1$s/b.key %1$s/k.pem.key", dir);
	cr_assert_eq(system(cmd), 0);
	cr_expect_str_empty(load("k.pem", NULL, err, sizeof(err)));
}

Test(tls_ctx, refusals_name_the_file_and_the_reason)
{
	expect_refused("missing.pem", "missing.pem", "No such file or directory");
	expect_refused("garbage.pem", "garbage.pem", "no PEM certificate chain");
	expect_refused("expired.pem", "expired.pem", "certificate expired");
	expect_refused("mismatch.pem", "mismatch.pem", "does not match the certificate");
	expect_refused("nokey.pem", "nokey.pem", "no private key");
}

Test(tls_ctx, a_bad_second_file_fails_the_whole_set)
{
	char err[512];

	load("a.pem", "expired.pem", err, sizeof(err));
	cr_expect(strstr(err, "expired.pem: certificate expired") != NULL, "%s", err);
}

Test(tls_ctx, unreadable_key_beside)
{
	char cmd[1024], err[512];

	/* The directory traversable and the chain readable by nobody; the key
	 * beside it readable by no one but root. */
	snprintf(cmd, sizeof(cmd),
		 "cp %1$s/nokey.pem %1$s/u.pem && cp %1$s/a.key %1$s/u.pem.key && "
		 "chmod 711 %1$s && chmod 644 %1$s/u.pem && chmod 000 %1$s/u.pem.key",
		 dir);
	cr_assert_eq(system(cmd), 0);
	load_as_nobody("u.pem", err, sizeof(err));
	expect_error("u.pem", err, "u.pem.key", "Permission denied");
}
