/* stderr_pipe.h - capture what a unit under test logs on stderr, for the
 * tests of log lines (test_log, test_rawsock). */
#ifndef ANDROMEDA_TEST_STDERR_PIPE_H
#define ANDROMEDA_TEST_STDERR_PIPE_H

#include <stddef.h>

/* stderr becomes a pipe's write end; returns its read end. */
int stderr_to_pipe(void);

/* Close stderr (the write end) and read what was logged into out, NUL
 * terminated (at most cap - 1 bytes). */
void stderr_read_all(int fd, char *out, size_t cap);

#endif
