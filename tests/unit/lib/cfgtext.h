/* cfgtext.h - configuration files from strings, for the config loaders'
 * unit tests (test_config, test_config_agent, test_vrrp_instances). */
#ifndef ANDROMEDA_TEST_CFGTEXT_H
#define ANDROMEDA_TEST_CFGTEXT_H

#include <stddef.h>

#define CFGTEXT_PATH_LEN 64

/* Write text to a new file /tmp/andromeda-test-TAG-XXXXXX; its path in
 * path (CFGTEXT_PATH_LEN bytes).  The caller unlinks it. */
void cfgtext_write(const char *text, const char *tag, char *path);

/* A loader's error must read "PATH:LINE: ..." and mention want (and
 * want2 unless NULL). */
void cfgtext_expect_error_at(const char *err, const char *path, int line, const char *want,
			     const char *want2);

#endif
