/* alog.c - the access log: the line's format (pure), the per-thread
 * record buffers and the writer thread (alog.h).  The only file that
 * talks to journald's native protocol (sd_journal_sendv). */
#include "alog.h"
#include "alog_journal.h"
#include "alog_pack.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define ALOG_OUT_SIZE       (64 * 1024) /* the writer's output buffer */
#define ALOG_FILE_MODE      0640
/* journald pays about 20 us of CPU per entry on a small machine
 * (docs/observability.md): as much as the proxy spends on the request
 * itself.  A pass of the writer with more records than
 * ALOG_JOURNAL_SINGLE, all threads together (a few hundred requests a
 * second), sends entries of up to ALOG_J_BATCH lines instead
 * (alog_journal.h).  All threads together: journald's default rate limit
 * (10,000 entries per 30 s per service, scaled up to about 4.5 times
 * with free disk space) must never see more than 640 entries a second
 * from us, whatever the number of threads, or it drops lines. */
#define ALOG_JOURNAL_SINGLE 32

/* ---- the line (pure) ---- */

int alog_dest_parse(const char *v)
{
	if (!v || !strcmp(v, "off") || !v[0])
		return ALOG_OFF;
	if (!strcmp(v, "journal"))
		return ALOG_JOURNAL;
	if (!strcmp(v, "stderr"))
		return ALOG_STDERR;
	return v[0] == '/' ? ALOG_FILE : -1;
}

size_t alog_escape(const char *in, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 <= cap; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (cap)
		out[o < cap ? o : cap - 1] = 0;
	return o;
}

/* The line is formatted by hand: with snprintf it took about 10,000
 * instructions a request (profile.sh), more than the proxy's own work on
 * the request.  A writer into out[cap]: what does not fit is dropped, as
 * snprintf drops it; alog_format NUL-terminates out at its end. */
struct lw {
	char *p;
	size_t len, cap; /* cap >= 1 */
};

static void lw_put(struct lw *w, const char *s, size_t n)
{
	size_t room = w->cap - 1 - w->len;

	if (n > room)
		n = room;
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* A literal: a copy of known size (no strlen, no call) while it fits. */
#define LW_LIT(w, s)                                                 \
	do {                                                         \
		if ((w)->cap - 1 - (w)->len >= sizeof(s) - 1) {      \
			memcpy((w)->p + (w)->len, s, sizeof(s) - 1); \
			(w)->len += sizeof(s) - 1;                   \
		} else {                                             \
			lw_put(w, s, sizeof(s) - 1);                 \
		}                                                    \
	} while (0)

static void lw_str(struct lw *w, const char *s) { lw_put(w, s, strlen(s)); }

static void lw_u64(struct lw *w, uint64_t v)
{
	char d[20], *q = d + sizeof(d);

	do
		*--q = (char)('0' + v % 10);
	while (v /= 10);
	lw_put(w, q, (size_t)(d + sizeof(d) - q));
}

static void lw_i64(struct lw *w, int64_t v)
{
	if (v < 0)
		lw_put(w, "-", 1);
	lw_u64(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

/* n decimal digits of v, zero-padded. */
static void digits(char *out, unsigned v, int n)
{
	while (n--) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "2026-12-06T23:01:11.123Z"; the part up to the second is kept per
 * thread: consecutive lines are mostly in the same second. */
static void lw_time(struct lw *w, uint64_t unix_ms)
{
	static _Thread_local time_t last = -1;
	static _Thread_local char text[20]; /* "2026-12-06T23:01:11" */
	time_t s = (time_t)(unix_ms / 1000);
	char ms[5] = ".000";

	if (s != last) {
		struct tm tm;

		gmtime_r(&s, &tm);
		digits(text, (unsigned)(tm.tm_year + 1900) % 10000, 4);
		text[4] = '-';
		digits(text + 5, (unsigned)tm.tm_mon + 1, 2);
		text[7] = '-';
		digits(text + 8, (unsigned)tm.tm_mday, 2);
		text[10] = 'T';
		digits(text + 11, (unsigned)tm.tm_hour, 2);
		text[13] = ':';
		digits(text + 14, (unsigned)tm.tm_min, 2);
		text[16] = ':';
		digits(text + 17, (unsigned)tm.tm_sec, 2);
		last = s;
	}
	lw_put(w, text, 19);
	digits(ms + 1, (unsigned)(unix_ms % 1000), 3);
	lw_put(w, ms, 4);
	lw_put(w, "Z", 1);
}

static const char *or_dash(const char *s) { return s && s[0] ? s : "-"; }

size_t alog_format(const struct alog_rec *r, const char *frontend, char *out, size_t cap)
{
	char path[3 * ALOG_PATH_MAX + 4];
	size_t plen = 1;
	struct lw w = { out, 0, cap };

	if (!cap)
		return 0;
	path[0] = '-';
	if (!r->tcp && r->path[0]) {
		plen = alog_escape(r->path, strnlen(r->path, ALOG_PATH_MAX), path,
				   sizeof(path) - 3);
		if (r->path_cut) {
			memcpy(path + plen, "...", 4);
			plen += 3;
		}
	}
	lw_time(&w, r->start_ms);
	LW_LIT(&w, " client=");
	lw_str(&w, or_dash(r->client));
	LW_LIT(&w, " id=");
	lw_str(&w, or_dash(r->id));
	LW_LIT(&w, " frontend=");
	lw_str(&w, or_dash(frontend));
	LW_LIT(&w, " server=");
	lw_str(&w, or_dash(r->server));
	LW_LIT(&w, " method=");
	lw_str(&w, r->tcp ? "-" : or_dash(r->method));
	LW_LIT(&w, " path=\"");
	lw_put(&w, path, plen);
	LW_LIT(&w, "\" status=");
	if (r->status)
		lw_u64(&w, r->status);
	else
		LW_LIT(&w, "-");
	LW_LIT(&w, " bytes_in=");
	lw_u64(&w, r->bytes_in);
	LW_LIT(&w, " bytes_out=");
	lw_u64(&w, r->bytes_out);
	LW_LIT(&w, " queue_ms=");
	lw_i64(&w, r->queue_ms);
	LW_LIT(&w, " connect_ms=");
	lw_i64(&w, r->connect_ms);
	LW_LIT(&w, " first_byte_ms=");
	lw_i64(&w, r->first_byte_ms);
	LW_LIT(&w, " total_ms=");
	lw_i64(&w, r->total_ms);
	LW_LIT(&w, " retries=");
	lw_u64(&w, r->retries);
	LW_LIT(&w, " redispatches=");
	lw_u64(&w, r->redispatches);
	LW_LIT(&w, " term=");
	lw_str(&w, r->term);
	out[w.len] = '\0';
	return w.len;
}

/* ---- buffers and the writer ---- */

struct alog_slot {
	pthread_mutex_t lock; /* the proxy thread's and the writer's */
	unsigned char *fill;  /* packed records, ALOG_PACK_BUF bytes */
	size_t used;
	unsigned n;
	uint64_t dropped;
} __attribute__((aligned(64)));

struct alog {
	enum alog_dest dest;
	char path[PATH_MAX];
	char frontend[CFG_ADDR_TEXT_MAX];
	int fd;
	bool prio_prefix; /* stderr is journald's stream: "<6>" first */
	pthread_t thread;
	pthread_mutex_t lock; /* stop, reopen, kicked, with cond */
	pthread_cond_t cond;
	bool stop, reopen, kicked, running;
	/* The writer's own. */
	unsigned char *spare;
	struct alog_rec *recs;  /* ALOG_J_BATCH records unpacked */
	struct alog_jbatch *jb; /* journal: an entry's scratch */
	char *out;
	size_t outlen;
	unsigned outlines;
	struct log_limit err_limit, drop_limit;
	uint64_t dropped_seen; /* the threads' drops already reported */
	/* Atomic: read by alog_get_stats. */
	uint64_t lines, dropped, reopens;
	unsigned nslots;
	struct alog_slot slots[];
};

static void count(uint64_t *c, uint64_t n) { __atomic_add_fetch(c, n, __ATOMIC_RELAXED); }

static void write_failed(struct alog *a, int err, const char *what)
{
	uint64_t more = 0;

	if (log_limit_ok(&a->err_limit, loop_clock_ms(), LOG_LIMIT_SHORT_MS, &more))
		log_errno(-err, "access log: cannot %s %s (%" PRIu64 " more)", what,
			  a->dest == ALOG_FILE ? a->path : "stderr", more);
}

static void out_flush(struct alog *a)
{
	size_t off = 0;

	while (off < a->outlen) {
		ssize_t n = write(a->fd, a->out + off, a->outlen - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			write_failed(a, n < 0 ? errno : EIO, "write to");
			count(&a->dropped, a->outlines);
			break;
		}
		off += (size_t)n;
	}
	if (off == a->outlen)
		count(&a->lines, a->outlines);
	a->outlen = 0;
	a->outlines = 0;
}

static void emit_line(struct alog *a, const struct alog_rec *r)
{
	if (ALOG_OUT_SIZE - a->outlen < ALOG_LINE_MAX + 8)
		out_flush(a);
	if (a->prio_prefix) {
		memcpy(a->out + a->outlen, "<6>", 3);
		a->outlen += 3;
	}
	a->outlen += alog_format(r, a->frontend, a->out + a->outlen, ALOG_LINE_MAX);
	a->out[a->outlen++] = '\n';
	a->outlines++;
}

/* One entry of alog_jbatch_build to journald. */
static void send_entry(struct alog *a, const struct iovec *iov, int cnt, unsigned lines)
{
	int err = sd_journal_sendv(iov, cnt);

	if (err < 0) {
		write_failed(a, -err, "send to journald:");
		count(&a->dropped, lines);
		return;
	}
	count(&a->lines, lines);
}

/* A pass's records of one thread to journald, in entries of up to max
 * lines: 1, one entry per request with every field (journalctl
 * REQUEST_ID=... finds it), at modest rates; ALOG_J_BATCH above
 * (alog_journal.h). */
static void emit_journal_all(struct alog *a, const unsigned char *p, unsigned n, unsigned max)
{
	unsigned k = 0, have = 0; /* a->recs[k..have): unpacked, not sent */

	for (;;) {
		const struct iovec *iov;
		int cnt;
		unsigned took;

		if (have - k < ALOG_J_BATCH && n) { /* top the window up */
			memmove(a->recs, a->recs + k, (have - k) * sizeof(*a->recs));
			have -= k;
			k = 0;
			for (; have < ALOG_J_BATCH && n; n--)
				p = alog_unpack(p, &a->recs[have++]);
		}
		if (k == have)
			break;
		took = alog_jbatch_build(a->jb, a->recs + k, have - k, max, a->frontend, &iov,
					 &cnt);
		send_entry(a, iov, cnt, took);
		k += took;
	}
}

static void reopen_file(struct alog *a)
{
	int fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, ALOG_FILE_MODE);

	if (fd < 0) {
		log_warn("access log: cannot reopen %s (still writing to the old file)", a->path);
		return;
	}
	out_flush(a);
	close(a->fd);
	a->fd = fd;
	count(&a->reopens, 1);
	log_info("access log: reopened %s", a->path);
}

/* Take every thread's records and write them out. */
/* Say so when a thread had to drop records (once in a while). */
static void report_drops(struct alog *a, uint64_t dropped)
{
	if (dropped > a->dropped_seen &&
	    log_limit_ok(&a->drop_limit, loop_clock_ms(), LOG_LIMIT_SHORT_MS, NULL)) {
		log_warnx("access log: %" PRIu64 " records dropped so far: the writer fell behind "
			  "(a slow destination, or no CPU for it)",
			  dropped);
		a->dropped_seen = dropped;
	}
}

/* Lines per journal entry for this pass: what every thread has queued
 * decides (ALOG_JOURNAL_SINGLE).  Records pushed after the count are
 * taken by this pass too: a few more single entries at most. */
static unsigned journal_lines_per_entry(struct alog *a)
{
	unsigned total = 0;

	for (unsigned i = 0; i < a->nslots; i++) {
		pthread_mutex_lock(&a->slots[i].lock);
		total += a->slots[i].n;
		pthread_mutex_unlock(&a->slots[i].lock);
	}
	return alog_j_lines_per_entry(total, ALOG_JOURNAL_SINGLE);
}

static void drain(struct alog *a)
{
	uint64_t dropped = 0;
	unsigned max = a->dest == ALOG_JOURNAL ? journal_lines_per_entry(a) : 0;

	for (unsigned i = 0; i < a->nslots; i++) {
		struct alog_slot *s = &a->slots[i];
		const unsigned char *p;
		unsigned n;

		pthread_mutex_lock(&s->lock);
		p = s->fill;
		n = s->n;
		s->fill = a->spare;
		s->n = 0;
		s->used = 0;
		dropped += s->dropped;
		pthread_mutex_unlock(&s->lock);
		a->spare = (unsigned char *)p;
		if (a->dest == ALOG_JOURNAL)
			emit_journal_all(a, p, n, max);
		else
			for (unsigned k = 0; k < n; k++) {
				p = alog_unpack(p, a->recs);
				emit_line(a, a->recs);
			}
	}
	if (a->outlen)
		out_flush(a);
	report_drops(a, dropped);
}

static void *writer_main(void *arg)
{
	struct alog *a = arg;
	bool stop = false, reopen;

	while (!stop) {
		struct timespec until;

		pthread_mutex_lock(&a->lock);
		if (!a->stop && !a->reopen && !a->kicked) {
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += ALOG_FLUSH_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&a->cond, &a->lock, &until);
		}
		stop = a->stop;
		reopen = a->reopen;
		a->reopen = a->kicked = false;
		pthread_mutex_unlock(&a->lock);
		drain(a);
		if (reopen && a->dest == ALOG_FILE)
			reopen_file(a);
	}
	return NULL;
}

static void wake(struct alog *a, bool *flag)
{
	pthread_mutex_lock(&a->lock);
	*flag = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void alog_push(struct alog *a, unsigned tid, const struct alog_rec *r)
{
	struct alog_slot *s = &a->slots[tid];
	bool half;

	pthread_mutex_lock(&s->lock);
	if (s->n == ALOG_SLOT_RECS) {
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->used += alog_pack(s->fill + s->used, r);
	s->n++;
	half = s->n == ALOG_SLOT_RECS / 2;
	pthread_mutex_unlock(&s->lock);
	if (half) /* do not wait for the next pass */
		wake(a, &a->kicked);
}

void alog_reopen(struct alog *a)
{
	if (a)
		wake(a, &a->reopen);
}

void alog_get_stats(struct alog *a, struct alog_stats *out)
{
	*out = (struct alog_stats){ .lines = __atomic_load_n(&a->lines, __ATOMIC_RELAXED),
				    .dropped = __atomic_load_n(&a->dropped, __ATOMIC_RELAXED),
				    .reopens = __atomic_load_n(&a->reopens, __ATOMIC_RELAXED) };
	for (unsigned i = 0; i < a->nslots; i++) {
		pthread_mutex_lock(&a->slots[i].lock);
		out->dropped += a->slots[i].dropped;
		pthread_mutex_unlock(&a->slots[i].lock);
	}
}

static void alog_free(struct alog *a)
{
	for (unsigned i = 0; i < a->nslots; i++) {
		pthread_mutex_destroy(&a->slots[i].lock);
		free(a->slots[i].fill);
	}
	if (a->fd > 2)
		close(a->fd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a->spare);
	free(a->recs);
	free(a->out);
	alog_jbatch_free(a->jb);
	free(a);
}

static int alog_alloc(struct alog **out, const struct config *cfg, unsigned nthreads)
{
	struct alog *a = calloc(1, sizeof(*a) + nthreads * sizeof(a->slots[0]));
	pthread_condattr_t ca;
	bool ok;

	*out = a;
	if (!a)
		return -ENOMEM;
	a->fd = -1;
	a->nslots = nthreads;
	a->dest = (enum alog_dest)alog_dest_parse(cfg->frontend.access_log);
	snprintf(a->path, sizeof(a->path), "%s", cfg->frontend.access_log);
	snprintf(a->frontend, sizeof(a->frontend), "%s", cfg->frontend.listen.text);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Untouched pages cost no memory: a buffer takes what is used. */
	a->spare = malloc(ALOG_PACK_BUF);
	a->recs = malloc(ALOG_J_BATCH * sizeof(*a->recs));
	a->out = malloc(ALOG_OUT_SIZE);
	ok = a->spare && a->recs && a->out;
	if (a->dest == ALOG_JOURNAL)
		ok = ok && (a->jb = alog_jbatch_new());
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_mutex_init(&a->slots[i].lock, NULL);
		a->slots[i].fill = malloc(ALOG_PACK_BUF);
		ok = ok && a->slots[i].fill;
	}
	*out = a;
	return ok ? 0 : -ENOMEM;
}

int alog_open(struct alog **out, const struct config *cfg, unsigned nthreads)
{
	struct alog *a = NULL;
	int err;

	*out = NULL;
	if (alog_dest_parse(cfg->frontend.access_log) == ALOG_OFF)
		return 0;
	if ((err = alog_alloc(&a, cfg, nthreads)) < 0) {
		log_errno(err, "access log: cannot allocate its buffers");
		if (a)
			alog_free(a);
		return err;
	}
	if (a->dest == ALOG_STDERR) {
		a->fd = 2;
		a->prio_prefix = log_stderr_is_journal();
	} else if (a->dest == ALOG_FILE &&
		   (a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				 ALOG_FILE_MODE)) < 0) {
		err = -errno;
		log_errno(err,
			  "access log: cannot open %s (it must be writable by the daemon's "
			  "user)",
			  a->path);
		alog_free(a);
		return err;
	}
	if ((err = -pthread_create(&a->thread, NULL, writer_main, a)) < 0) {
		log_errno(err, "access log: cannot start its writer thread");
		alog_free(a);
		return err;
	}
	pthread_setname_np(a->thread, "andromeda/log");
	a->running = true;
	log_info("access log: %s", a->dest == ALOG_JOURNAL  ? "to journald"
				   : a->dest == ALOG_STDERR ? "to stderr"
							    : a->path);
	*out = a;
	return 0;
}

void alog_close(struct alog *a)
{
	if (!a)
		return;
	if (a->running) {
		wake(a, &a->stop); /* its last pass writes what is buffered */
		pthread_join(a->thread, NULL);
	}
	alog_free(a);
}
