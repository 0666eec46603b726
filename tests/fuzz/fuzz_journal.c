/* fuzz_journal.c - libFuzzer harness: arbitrary bytes into the journal,
 * both as records (journal_decode) and as a whole journal file
 * (journal_open's validation and truncation, then journal_replay).
 *
 * Build by hand, from the repository root (tests/test.sh does the same
 * with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib -Icore/pool -Iha \
 *       tests/fuzz/fuzz_journal.c ha/journal.c ha/journal_codec.c \
 *       core/lib/netaddr.c core/lib/log.c -o fuzz_journal
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_journal -max_total_time=60 run tests/fuzz/corpus/journal
 *
 * Checks, for every input:
 *  - decode at every offset: a record that decodes re-encodes to the same
 *    bytes, and every cut of it is -ENODATA;
 *  - as a file: open succeeds, keeps a prefix of the input made of whole
 *    records with increasing sequences (exactly what a front-to-back decode
 *    accepts), replay returns those records, and an append after it
 *    survives a reopen.
 * Each input is checked as it is and, if different, "resealed" (every
 * frame's CRC recomputed) so that mutations reach the field checks.
 * The file lives in a private directory under /dev/shm (or $TMPDIR, /tmp),
 * removed at exit. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

static char dir[256];
static char file[300];
static char tmpfile_path[300];

static void cleanup(void)
{
	unlink(file);
	unlink(tmpfile_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz_journal.XXXXXX", base ? base : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/%s", dir, JOURNAL_FILE);
	snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/%s", dir, JOURNAL_TMP_FILE);
	atexit(cleanup);
	log_set_level(LOG_LVL_ERR); /* open logs a line per truncated input */
	return 0;
}

static void check_record_at(const uint8_t *data, size_t size)
{
	struct journal_rec r, again;
	uint8_t buf[JOURNAL_REC_MAX];
	size_t used = 0, used2;
	int rc = journal_decode(data, size, &r, &used);

	CHECK(rc == 0 || rc == -ENODATA || rc == -EBADMSG);
	if (rc != 0)
		return;
	CHECK(used >= JOURNAL_REC_MIN && used <= JOURNAL_REC_MAX && used <= size);
	CHECK(journal_encode(&r, buf, sizeof(buf)) == (int)used);
	CHECK(memcmp(buf, data, used) == 0);
	CHECK(strlen(r.srv.name) <= JOURNAL_NAME_MAX && strlen(r.detail) <= JOURNAL_DETAIL_MAX);
	for (size_t cut = 0; cut < used; cut++)
		CHECK(journal_decode(data, cut, &again, &used2) == -ENODATA);
}

/* What open must keep: the longest prefix of whole records, increasing. */
static size_t good_prefix(const uint8_t *data, size_t size, uint64_t *count, uint64_t *last)
{
	size_t off = 0, used;
	struct journal_rec r;

	*count = *last = 0;
	while (off < size && journal_decode(data + off, size - off, &r, &used) == 0 &&
	       r.seq > *last) {
		*last = r.seq;
		(*count)++;
		off += used;
	}
	return off;
}

static void write_file(const uint8_t *data, size_t size)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

struct walk {
	const uint8_t *data;
	size_t off;
	uint64_t last, n;
};

static int check_replayed(const struct journal_rec *r, void *arg)
{
	struct walk *w = arg;
	uint8_t buf[JOURNAL_REC_MAX];
	int len = journal_encode(r, buf, sizeof(buf));

	CHECK(len > 0 && r->seq > w->last);
	CHECK(memcmp(buf, w->data + w->off, (size_t)len) == 0);
	w->off += (size_t)len;
	w->last = r->seq;
	w->n++;
	return 0;
}

static void check_file(const uint8_t *data, size_t size)
{
	struct journal *j;
	struct walk w = { .data = data };
	struct journal_rec r;
	struct stat st;
	uint64_t count, last;
	size_t keep = good_prefix(data, size, &count, &last);

	write_file(data, size);
	CHECK(journal_open(&j, dir) == 0);
	CHECK(journal_size(j) == keep && journal_count(j) == count && journal_last_seq(j) == last);
	CHECK(stat(file, &st) == 0 && (size_t)st.st_size == keep);
	CHECK(journal_replay(j, check_replayed, &w) == 0);
	CHECK(w.n == count && w.off == keep);
	/* A sequence at UINT64_MAX cannot be followed; anything else can. */
	CHECK(journal_rec_init(&r, JR_PEER_SEEN, "fuzz", "after") == 0);
	if (last == UINT64_MAX) {
		CHECK(journal_append(j, &r) == -EOVERFLOW);
		journal_close(j);
		return;
	}
	CHECK(journal_append(j, &r) == 0 && r.seq == last + 1);
	journal_close(j);
	CHECK(journal_open(&j, dir) == 0);
	CHECK(journal_count(j) == count + 1 && journal_last_seq(j) == last + 1);
	journal_close(j);
}

/* Recompute the CRC of every frame (magic, length in range, fits), so that
 * mutations get past the checksum to the field checks and the sequence
 * order.  Returns whether anything changed. */
static bool reseal(uint8_t *buf, size_t size)
{
	bool changed = false;
	size_t off = 0;

	while (off + 6 <= size) {
		size_t len = (size_t)buf[off + 4] << 8 | buf[off + 5];

		if (memcmp(buf + off, JOURNAL_MAGIC, 4) != 0 || len < JOURNAL_REC_MIN ||
		    len > JOURNAL_REC_MAX || len > size - off) {
			off++;
			continue;
		}
		uint32_t crc = journal_crc32c(0, buf + off, len - 4);
		uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
				  (uint8_t)crc };

		changed |= memcmp(buf + off + len - 4, be, 4) != 0;
		memcpy(buf + off + len - 4, be, 4);
		off += len;
	}
	return changed;
}

static void check_all(const uint8_t *data, size_t size)
{
	for (size_t off = 0; off < size; off++)
		check_record_at(data + off, size - off);
	check_file(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size > 64 * 1024)
		return 0;
	check_all(data, size);
	copy = malloc(size ? size : 1);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	if (reseal(copy, size))
		check_all(copy, size);
	free(copy);
	return 0;
}
