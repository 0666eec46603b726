/* test_log.c - log lines carry their priority for journald (issue 14):
 * with stderr being the JOURNAL_STREAM, each line starts with "<N>". */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "lib/stderr_pipe.h"

static void set_journal_stream_to_stderr(void)
{
	struct stat st;
	char v[64];

	cr_assert_eq(fstat(2, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

Test(log, journal_stream_detected_only_for_stderr_itself)
{
	int fd = stderr_to_pipe();

	unsetenv("JOURNAL_STREAM");
	cr_expect_not(log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "1:2", 1); /* inherited, but stderr was redirected */
	cr_expect_not(log_stderr_is_journal());
	set_journal_stream_to_stderr();
	cr_expect(log_stderr_is_journal());
	close(fd);
}

Test(log, priority_prefix_per_level)
{
	char out[2048];
	int fd = stderr_to_pipe();

	set_journal_stream_to_stderr();
	log_use_journal(log_stderr_is_journal());
	log_set_level(LOG_LVL_DEBUG);
	log_err("e %d", 1);
	log_warnx("w");
	log_errno(-5, "x");
	log_info("i");
	log_debug("d");
	stderr_read_all(fd, out, sizeof(out));
	cr_expect_str_eq(out, "<3>andromeda: error: e 1\n"
			      "<4>andromeda: warning: w\n"
			      "<4>andromeda: warning: x: Input/output error\n"
			      "<6>andromeda: info: i\n"
			      "<7>andromeda: debug: d\n");
}

Test(log, no_prefix_outside_journal)
{
	char out[256];
	int fd = stderr_to_pipe();

	log_set_timestamps(0);
	log_use_journal(false);
	log_err("plain");
	stderr_read_all(fd, out, sizeof(out));
	cr_expect_str_eq(out, "andromeda: error: plain\n");
}

Test(log, priorities_are_syslogs)
{
	cr_expect_eq(log_level_priority(LOG_LVL_ERR), 3);
	cr_expect_eq(log_level_priority(LOG_LVL_WARN), 4);
	cr_expect_eq(log_level_priority(LOG_LVL_INFO), 6);
	cr_expect_eq(log_level_priority(LOG_LVL_DEBUG), 7);
}
