/* journal.c - the on-disk journal: crash-safe appends, torn-tail recovery,
 * atomic compaction, replay.  The record codec is journal_codec.c; layout
 * and policies: journal.h and docs/journal.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "journal.h"
#include "log.h"

#define READ_BUF_LEN (16 * 1024) /* >= JOURNAL_REC_MAX, so a read always progresses */

struct journal {
	int fd;              /* DIR/journal, O_RDWR | O_APPEND */
	int dirfd;           /* DIR: flock()ed, fsync()ed after a rename */
	char path[PATH_MAX]; /* DIR/journal, for log lines */
	uint64_t last_seq;
	uint64_t size;            /* bytes, all of them good records */
	uint64_t count;           /* records */
	uint64_t compact_bytes;   /* compact when size passes this ... */
	uint64_t compact_records; /* ... or count passes this */
	unsigned walking;         /* replays in progress: the fd must stay */
	bool broken;              /* a short write could not be rolled back */
	journal_state_fn state_fn;
	void *state_arg;
};

/* ---- clock ------------------------------------------------------------ */

uint64_t journal_now_ms(void) { return clock_wall_ms(); }

/* ---- reading the file ------------------------------------------------- */

/* A forward reader over bytes [0, end) of fd, with pread so that it never
 * moves the offset the O_APPEND writes use. */
struct reader {
	int fd;
	uint64_t end;
	uint64_t pos;    /* file offset of buf[0] */
	size_t len, off; /* bytes in buf; the next record starts at buf[off] */
	uint8_t *buf;
};

static int reader_init(struct reader *rd, int fd, uint64_t end)
{
	memset(rd, 0, sizeof(*rd));
	rd->fd = fd;
	rd->end = end;
	rd->buf = malloc(READ_BUF_LEN);
	return rd->buf ? 0 : -ENOMEM;
}

static uint64_t reader_offset(const struct reader *rd) { return rd->pos + rd->off; }

/* Bring more of the file into the buffer: 1, 0 at `end`, or -errno. */
static int reader_fill(struct reader *rd)
{
	uint64_t at;
	size_t want;
	ssize_t n;

	memmove(rd->buf, rd->buf + rd->off, rd->len - rd->off);
	rd->pos += rd->off;
	rd->len -= rd->off;
	rd->off = 0;
	at = rd->pos + rd->len;
	if (at >= rd->end)
		return 0;
	want = READ_BUF_LEN - rd->len;
	if (want > rd->end - at)
		want = (size_t)(rd->end - at);
	do
		n = pread(rd->fd, rd->buf + rd->len, want, (off_t)at);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rd->len += (size_t)n;
	return n > 0;
}

/* The next record: 1, 0 at a clean end, -ENODATA (cut short), -EBADMSG,
 * or -errno from pread. */
static int reader_next(struct reader *rd, struct journal_rec *r)
{
	for (;;) {
		size_t used;
		int rc = journal_decode(rd->buf + rd->off, rd->len - rd->off, r, &used);

		if (rc == 0) {
			rd->off += used;
			return 1;
		}
		if (rc != -ENODATA)
			return rc;
		rc = reader_fill(rd);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return rd->len == rd->off ? 0 : -ENODATA;
	}
}

/* ---- open: validate, truncate the tail -------------------------------- */

static int truncate_tail(struct journal *j, uint64_t file_size, const char *why)
{
	if (ftruncate(j->fd, (off_t)j->size) < 0 || fdatasync(j->fd) < 0) {
		int err = -errno;

		log_errno(err, "journal %s: cannot truncate the bad tail at byte %llu", j->path,
			  (unsigned long long)j->size);
		return err;
	}
	log_warnx("journal %s: dropped %llu bytes after seq %llu (%s)", j->path,
		  (unsigned long long)(file_size - j->size), (unsigned long long)j->last_seq, why);
	return 0;
}

/* Walk the whole file; stop at the first bad record and cut it off. */
static int scan(struct journal *j)
{
	struct reader rd;
	struct journal_rec r;
	struct stat st;
	const char *why = NULL;
	int rc;

	if (fstat(j->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((rc = reader_init(&rd, j->fd, (uint64_t)st.st_size)) < 0)
		return rc;
	while ((rc = reader_next(&rd, &r)) == 1) {
		if (r.seq <= j->last_seq) {
			why = "sequence does not increase";
			break;
		}
		j->last_seq = r.seq;
		j->count++;
		j->size = reader_offset(&rd);
	}
	free(rd.buf);
	if (rc < 0 && rc != -ENODATA && rc != -EBADMSG)
		return rc;
	if (!why)
		why = rc == -ENODATA ? "torn record" : "corrupt record";
	return j->size < (uint64_t)st.st_size ? truncate_tail(j, (uint64_t)st.st_size, why) : 0;
}

/* A crash during compaction leaves journal.tmp behind; the rename did not
 * happen, so "journal" is the truth and the temporary is garbage. */
static void remove_stale_tmp(struct journal *j)
{
	if (unlinkat(j->dirfd, JOURNAL_TMP_FILE, 0) == 0)
		log_warnx("journal %s: removed %s left by an interrupted compaction", j->path,
			  JOURNAL_TMP_FILE);
	else if (errno != ENOENT)
		log_warn("journal %s: cannot remove stale %s", j->path, JOURNAL_TMP_FILE);
}

static int open_files(struct journal *j, const char *dir)
{
	int err;

	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		err = -errno;
		log_errno(err, "journal: cannot open state directory %s", dir);
		return err;
	}
	/* Two daemons appending to one journal would interleave sequences. */
	if (flock(j->dirfd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_errno(err, "journal: state directory %s is locked by another process", dir);
		return err;
	}
	remove_stale_tmp(j);
	j->fd = openat(j->dirfd, JOURNAL_FILE, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		err = -errno;
		log_errno(err, "journal: cannot open %s", j->path);
		return err;
	}
	return 0;
}

/* A compacted file is far below both bounds, so they can stay constant
 * (no compaction on every append, however large the pool). */
_Static_assert((JOURNAL_STATE_MAX + 1) * JOURNAL_REC_MAX < JOURNAL_COMPACT_BYTES / 2 &&
		       JOURNAL_STATE_MAX + 1 < JOURNAL_COMPACT_RECORDS / 2,
	       "compacted file within the bounds");
static void set_bounds(struct journal *j)
{
	j->compact_bytes = JOURNAL_COMPACT_BYTES;
	j->compact_records = JOURNAL_COMPACT_RECORDS;
}

int journal_open(struct journal **out, const char *dir)
{
	struct journal *j = calloc(1, sizeof(*j));
	int rc;

	*out = NULL;
	if (!j)
		return -ENOMEM;
	j->fd = j->dirfd = -1;
	if ((size_t)snprintf(j->path, sizeof(j->path), "%s/%s", dir, JOURNAL_FILE) >=
	    sizeof(j->path)) {
		log_warnx("journal: state directory path too long: %s", dir);
		journal_close(j);
		return -ENAMETOOLONG;
	}
	rc = open_files(j, dir);
	if (rc == 0 && (rc = scan(j)) < 0)
		log_errno(rc, "journal %s: cannot read it", j->path);
	if (rc < 0) {
		journal_close(j);
		return rc;
	}
	set_bounds(j);
	log_info("journal %s: %llu records, %llu bytes, last seq %llu", j->path,
		 (unsigned long long)j->count, (unsigned long long)j->size,
		 (unsigned long long)j->last_seq);
	*out = j;
	return 0;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd); /* drops the flock */
	free(j);
}

/* ---- appending ------------------------------------------------------- */

/* Write all of buf: one write(2) unless the kernel takes only part of it
 * (a full disk), in which case the rest is tried once more.  Returns 0 or
 * -errno; *done says how much went in. */
static int write_full(int fd, const uint8_t *buf, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = write(fd, buf + *done, len - *done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENOSPC;
		*done += (size_t)n;
	}
	return 0;
}

/* A record that went in only in part is cut off again, so that the next
 * one does not follow garbage. */
static int write_record(struct journal *j, const uint8_t *buf, size_t len)
{
	size_t done;
	int err = write_full(j->fd, buf, len, &done);

	if (!err)
		return 0;
	log_errno(err, "journal %s: cannot append a %zu-byte record (%zu written)", j->path, len,
		  done);
	if (done > 0 && ftruncate(j->fd, (off_t)j->size) < 0) {
		log_warn(
			"journal %s: cannot roll back a partial record; appends disabled until compaction",
			j->path);
		j->broken = true;
	}
	return err;
}

static void maybe_compact(struct journal *j)
{
	struct journal_server *state;
	int n;

	if (!j->state_fn || j->walking || !journal_needs_compact(j))
		return;
	state = calloc(JOURNAL_STATE_MAX, sizeof(*state));
	n = state ? j->state_fn(state, JOURNAL_STATE_MAX, j->state_arg) : -ENOMEM;
	if (n > JOURNAL_STATE_MAX)
		n = -E2BIG;
	if (n < 0)
		log_errno(n, "journal %s: no state to compact with", j->path);
	if (n < 0 || journal_compact(j, state, (size_t)n) < 0) {
		/* Try again a little later rather than on every append. */
		j->compact_bytes = j->size + JOURNAL_COMPACT_BYTES / 16;
		j->compact_records = j->count + JOURNAL_COMPACT_RECORDS / 16;
	}
	free(state);
}

int journal_append(struct journal *j, struct journal_rec *r)
{
	uint8_t buf[JOURNAL_REC_MAX];
	uint64_t seq = r->seq, time_ms = r->time_ms;
	int len, rc;

	if (j->broken)
		return -EIO;
	if (j->last_seq == UINT64_MAX)
		return -EOVERFLOW; /* only a forged file gets here: 2^64 records */
	r->seq = j->last_seq + 1;
	r->time_ms = journal_now_ms();
	len = journal_encode(r, buf, sizeof(buf));
	if (len < 0) {
		log_warnx(
			"journal %s: %s record refused: name or detail too long or not printable",
			j->path, journal_type_name(r->type));
		r->seq = seq;
		r->time_ms = time_ms;
		return len;
	}
	if ((rc = write_record(j, buf, (size_t)len)) < 0)
		return rc;
	j->last_seq = r->seq;
	j->size += (uint64_t)len;
	j->count++;
	if (journal_type_durable(r->type) && fdatasync(j->fd) < 0) {
		rc = -errno;
		log_errno(rc, "journal %s: fdatasync after seq %llu", j->path,
			  (unsigned long long)r->seq);
	}
	maybe_compact(j);
	return rc;
}

void journal_set_state_source(struct journal *j, journal_state_fn fn, void *arg)
{
	j->state_fn = fn;
	j->state_arg = arg;
}

bool journal_needs_compact(const struct journal *j)
{
	return j->size > j->compact_bytes || j->count > j->compact_records;
}

/* ---- compaction -------------------------------------------------------- */

/* JR_COMPACTED + the state, sequences continuing from the journal's. */
static int encode_snapshot(const struct journal *j, const struct journal_server *state, size_t n,
			   uint8_t *buf, size_t cap)
{
	struct journal_rec r;
	size_t len = 0;
	int rc;

	journal_rec_init(&r, JR_COMPACTED, NULL, NULL);
	snprintf(r.detail, sizeof(r.detail), "%llu records, %llu bytes before; %zu servers",
		 (unsigned long long)j->count, (unsigned long long)j->size, n);
	r.seq = j->last_seq + 1;
	r.time_ms = journal_now_ms();
	for (size_t i = 0; i <= n; i++) {
		if (i > 0) {
			r.type = JR_SERVER_STATE;
			r.srv = state[i - 1];
			r.detail[0] = '\0';
			r.seq++;
		}
		if ((rc = journal_encode(&r, buf + len, cap - len)) < 0) {
			log_warnx(
				"journal %s: compaction refused: server %zu (\"%.*s\") does not encode",
				j->path, i - 1, JOURNAL_NAME_MAX, r.srv.name);
			return rc;
		}
		len += (size_t)rc;
	}
	return (int)len;
}

/* Write buf to a fresh journal.tmp and sync it.  Returns its fd or -errno
 * (the temporary removed). */
static int write_tmp(struct journal *j, const uint8_t *buf, size_t len)
{
	size_t done;
	int fd = openat(j->dirfd, JOURNAL_TMP_FILE,
			O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err;

	if (fd < 0) {
		err = -errno;
		log_errno(err, "journal %s: compaction: cannot create %s", j->path,
			  JOURNAL_TMP_FILE);
		return err;
	}
	err = write_full(fd, buf, len, &done);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (err) {
		log_errno(err, "journal %s: compaction: cannot write %s", j->path,
			  JOURNAL_TMP_FILE);
		close(fd);
		unlinkat(j->dirfd, JOURNAL_TMP_FILE, 0);
		return err;
	}
	return fd;
}

/* rename(2) is atomic: after it "journal" is the new file, before it the
 * old one.  The directory fsync makes the rename itself survive a power
 * loss; should it fail, either file is still a consistent journal. */
static int install_tmp(struct journal *j, int fd)
{
	if (renameat(j->dirfd, JOURNAL_TMP_FILE, j->dirfd, JOURNAL_FILE) < 0) {
		int err = -errno;

		log_errno(err, "journal %s: compaction: cannot rename %s over it", j->path,
			  JOURNAL_TMP_FILE);
		close(fd);
		unlinkat(j->dirfd, JOURNAL_TMP_FILE, 0);
		return err;
	}
	if (fsync(j->dirfd) < 0)
		log_warn("journal %s: compaction: fsync of the directory", j->path);
	close(j->fd);
	j->fd = fd;
	return 0;
}

int journal_compact(struct journal *j, const struct journal_server *state, size_t n)
{
	size_t cap = (n + 1) * JOURNAL_REC_MAX;
	uint64_t old_count = j->count, old_size = j->size;
	uint8_t *buf;
	int len, fd;

	if (j->walking)
		return -EBUSY; /* a replay is reading the current file */
	if (n > JOURNAL_STATE_MAX)
		return -E2BIG;
	if (j->last_seq > UINT64_MAX - n - 1)
		return -EOVERFLOW;
	if (!(buf = malloc(cap)))
		return -ENOMEM;
	len = encode_snapshot(j, state, n, buf, cap);
	fd = len < 0 ? len : write_tmp(j, buf, (size_t)len);
	free(buf);
	if (fd < 0 || (fd = install_tmp(j, fd)) < 0)
		return fd;
	j->last_seq += n + 1;
	j->count = n + 1;
	j->size = (uint64_t)len;
	j->broken = false;
	set_bounds(j);
	log_info(
		"journal %s: compacted %llu records (%llu bytes) into %zu servers (%d bytes), last seq %llu",
		j->path, (unsigned long long)old_count, (unsigned long long)old_size, n, len,
		(unsigned long long)j->last_seq);
	return 0;
}

/* ---- reading for the daemon and andromedactl ------------------------- */

int journal_replay(struct journal *j, journal_fn fn, void *arg)
{
	struct reader rd;
	struct journal_rec r;
	int rc, stop = 0;

	if ((rc = reader_init(&rd, j->fd, j->size)) < 0)
		return rc;
	j->walking++;
	while (stop == 0 && (rc = reader_next(&rd, &r)) == 1)
		stop = fn(&r, arg);
	j->walking--;
	if (stop != 0) {
		rc = stop;
	} else if (rc == -ENODATA || rc == -EBADMSG) {
		/* open() validated every byte up to j->size: someone else wrote here. */
		log_warnx("journal %s: changed under us at byte %llu", j->path,
			  (unsigned long long)reader_offset(&rd));
		rc = -EBADMSG;
	} else if (rc < 0) {
		log_errno(rc, "journal %s: read at byte %llu", j->path,
			  (unsigned long long)reader_offset(&rd));
	}
	free(rd.buf);
	return rc;
}

struct read_ctx {
	uint64_t since;
	uint64_t skip, seen; /* matching records to pass over, and seen so far */
	struct journal_rec *out;
	size_t max, n;
};

static int read_one(const struct journal_rec *r, void *arg)
{
	struct read_ctx *c = arg;

	if (r->seq <= c->since || c->seen++ < c->skip || c->n == c->max)
		return 0;
	c->out[c->n++] = *r;
	return 0;
}

/* Two passes, count then copy the newest: simpler than a ring buffer, and
 * the file is small (compaction) and read only when an operator asks. */
int journal_read(struct journal *j, uint64_t since, struct journal_rec *out, size_t max, size_t *n,
		 uint64_t *skipped)
{
	struct read_ctx c = { .since = since, .out = out };
	int rc = journal_replay(j, read_one, &c);

	*n = 0;
	if (rc == 0) {
		c.skip = c.seen > max ? c.seen - max : 0;
		c.seen = 0;
		c.max = max;
		rc = journal_replay(j, read_one, &c);
		*n = c.n;
	}
	if (skipped)
		*skipped = c.skip;
	return rc;
}

struct rebuild_ctx {
	struct journal_server *out;
	uint64_t *time; /* of the record each entry came from */
	size_t max, n;
};

static size_t rebuild_find(const struct rebuild_ctx *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->out[i].name, name) == 0)
			break;
	return i;
}

static int rebuild_one(const struct journal_rec *r, void *arg)
{
	struct rebuild_ctx *c = arg;
	size_t i;

	if (r->type == JR_COMPACTED)
		c->n = 0; /* what follows is the complete state */
	if (!journal_type_is_server(r->type))
		return 0;
	i = rebuild_find(c, r->srv.name);
	if (r->type == JR_SERVER_WITHDRAWN || r->type == JR_SERVER_EXPIRED) {
		if (i < c->n) {
			memmove(c->out + i, c->out + i + 1, (c->n - i - 1) * sizeof(*c->out));
			memmove(c->time + i, c->time + i + 1, (c->n - i - 1) * sizeof(*c->time));
			c->n--;
		}
		return 0;
	}
	if (i == c->n) {
		if (c->n == c->max)
			return -ENOSPC;
		c->n++;
	}
	c->out[i] = r->srv;
	c->time[i] = r->time_ms;
	return 0;
}

/* Drop the registrations that ran out by now_ms; rebase the others. */
static size_t rebuild_expire(struct rebuild_ctx *c, uint64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct journal_server *s = &c->out[i];
		uint64_t deadline = c->time[i] + s->expires_in_ms;

		if (s->expires_in_ms != 0 && now_ms >= deadline)
			continue;
		if (s->expires_in_ms != 0 && now_ms > c->time[i])
			s->expires_in_ms = (uint32_t)(deadline - now_ms);
		c->out[k++] = *s;
	}
	return k;
}

int journal_rebuild(struct journal *j, uint64_t now_ms, struct journal_server *out, size_t max,
		    size_t *n)
{
	struct rebuild_ctx c = { .out = out, .max = max };
	int rc;

	*n = 0;
	if (!(c.time = calloc(max ? max : 1, sizeof(*c.time))))
		return -ENOMEM;
	rc = journal_replay(j, rebuild_one, &c);
	if (rc == -ENOSPC)
		log_warnx("journal %s: more than %zu servers to rebuild", j->path, max);
	if (rc == 0)
		*n = rebuild_expire(&c, now_ms);
	free(c.time);
	return rc;
}

uint64_t journal_last_seq(const struct journal *j) { return j->last_seq; }
uint64_t journal_size(const struct journal *j) { return j->size; }
uint64_t journal_count(const struct journal *j) { return j->count; }
