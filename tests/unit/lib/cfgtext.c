/* cfgtext.c - see cfgtext.h. */
#include "cfgtext.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cfgtext_write(const char *text, const char *tag, char *path)
{
	size_t len = strlen(text);
	int fd;

	snprintf(path, CFGTEXT_PATH_LEN, "/tmp/andromeda-test-%s-XXXXXX", tag);
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

void cfgtext_expect_error_at(const char *err, const char *path, int line, const char *want,
			     const char *want2)
{
	char prefix[CFGTEXT_PATH_LEN + 16];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "want prefix \"%s\", got \"%s\"",
		  prefix, err);
	cr_expect(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want, err);
	if (want2)
		cr_expect(strstr(err, want2) != NULL, "want \"%s\" in \"%s\"", want2, err);
}
