/* stderr_pipe.c - see stderr_pipe.h. */
#include "stderr_pipe.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

int stderr_to_pipe(void)
{
	int p[2];

	cr_assert_eq(pipe(p), 0);
	fflush(stderr);
	cr_assert_geq(dup2(p[1], 2), 0);
	close(p[1]);
	return p[0];
}

void stderr_read_all(int fd, char *out, size_t cap)
{
	ssize_t n;

	fflush(stderr);
	close(2);
	n = read(fd, out, cap - 1);
	cr_assert_geq(n, 0);
	out[n] = 0;
}
