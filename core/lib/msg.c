/* msg.c - the authenticated envelope of sync and registration messages:
 * codec (pure), replay window, cluster key file.  Layout and rules are in
 * msg.h and docs/protocol.md "Message envelope". */
#include "msg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "wire.h"

/* Byte offsets inside the header (msg.h). */
enum {
	H_MAGIC = 0,
	H_VERSION = 4,
	H_TYPE = 5,
	H_LEN = 6,
	H_SENDER = 8,
	H_SEQ = 12,
	H_TS = 20
};

/* A key file holds at most 128 hex digits plus some whitespace; anything
 * bigger is refused before it is read. */
#define KEYFILE_CAP 1024

static const char *const drop_names[MSG_DROP_NCAUSES] = {
	[MSG_OK] = "ok",
	[MSG_DROP_SHORT] = "truncated",
	[MSG_DROP_OVERSIZE] = "oversize",
	[MSG_DROP_MAGIC] = "bad_magic",
	[MSG_DROP_VERSION] = "bad_version",
	[MSG_DROP_TYPE] = "bad_type",
	[MSG_DROP_MAC] = "bad_mac",
	[MSG_DROP_REPLAY] = "replay",
	[MSG_DROP_STALE] = "stale",
};

const char *msg_drop_name(enum msg_drop d)
{
	if ((unsigned)d >= MSG_DROP_NCAUSES)
		return "unknown";
	return drop_names[d];
}

static bool key_ok(const struct msg_key *key)
{
	return key && key->len >= MSG_KEY_MIN && key->len <= MSG_KEY_MAX;
}

/* HMAC-SHA256 (RFC 2104, FIPS 180-4) of buf[0..len) into mac. */
static bool mac_compute(const struct msg_key *key, const uint8_t *buf, size_t len,
			uint8_t mac[MSG_MAC_LEN])
{
	unsigned int maclen = 0;

	if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, buf, len, mac, &maclen))
		return false;
	return maclen == MSG_MAC_LEN;
}

int msg_encode(const struct msg_key *key, uint8_t type, uint32_t sender, uint64_t seq,
	       uint64_t ts_ms, const void *payload, size_t len, uint8_t *out, size_t cap)
{
	if (!key_ok(key) || type < 1 || type > MSG_TYPE_MAX || len > MSG_MAX_PAYLOAD ||
	    (len && !payload) || !out)
		return -EINVAL;
	if (cap < MSG_HDR_LEN + len + MSG_MAC_LEN)
		return -ENOSPC;
	/* memmove: the caller may have built the payload in place at
	 * out + MSG_HDR_LEN already. */
	if (len)
		memmove(out + MSG_HDR_LEN, payload, len);
	/* The 4-byte wire magic, without the literal's NUL. */
	memcpy(out + H_MAGIC, MSG_MAGIC, 4); /* NOLINT(bugprone-not-null-terminated-result) */
	out[H_VERSION] = MSG_VERSION;
	out[H_TYPE] = type;
	wire_put16(out + H_LEN, (uint16_t)len);
	memcpy(out + H_SENDER, &sender, 4); /* already network byte order */
	wire_put64(out + H_SEQ, seq);
	wire_put64(out + H_TS, ts_ms);
	if (!mac_compute(key, out, MSG_HDR_LEN + len, out + MSG_HDR_LEN + len))
		return -EIO;
	return (int)(MSG_HDR_LEN + len + MSG_MAC_LEN);
}

/* Framing checks, cheapest first, each reading only bytes below len.
 * Version and type are checked before the MAC so that a peer running a
 * newer protocol is counted as such rather than as a forgery; neither
 * check trusts the fields for anything but the choice of drop cause. */
static enum msg_drop check_frame(const uint8_t *buf, size_t len, size_t *plen)
{
	if (len < 4)
		return MSG_DROP_SHORT;
	if (memcmp(buf + H_MAGIC, MSG_MAGIC, 4) != 0)
		return MSG_DROP_MAGIC;
	if (len > MSG_MAX_LEN)
		return MSG_DROP_OVERSIZE;
	if (len < MSG_HDR_LEN + MSG_MAC_LEN)
		return MSG_DROP_SHORT;
	if (buf[H_VERSION] != MSG_VERSION)
		return MSG_DROP_VERSION;
	if (buf[H_TYPE] < 1 || buf[H_TYPE] > MSG_TYPE_MAX)
		return MSG_DROP_TYPE;
	*plen = wire_get16(buf + H_LEN);
	if (*plen > MSG_MAX_PAYLOAD)
		return MSG_DROP_OVERSIZE;
	if (len < MSG_HDR_LEN + *plen + MSG_MAC_LEN)
		return MSG_DROP_SHORT;
	if (len > MSG_HDR_LEN + *plen + MSG_MAC_LEN)
		return MSG_DROP_OVERSIZE;
	return MSG_OK;
}

enum msg_drop msg_decode(const struct msg_key *key, const uint8_t *buf, size_t len, struct msg *m)
{
	uint8_t mac[MSG_MAC_LEN];
	size_t plen = 0;
	enum msg_drop d;

	memset(m, 0, sizeof(*m));
	if (!buf)
		return MSG_DROP_SHORT;
	d = check_frame(buf, len, &plen);
	if (d != MSG_OK)
		return d;
	/* Without a usable key nothing verifies: fail closed. */
	if (!key_ok(key) || !mac_compute(key, buf, MSG_HDR_LEN + plen, mac))
		return MSG_DROP_MAC;
	/* Constant time, so the comparison leaks nothing about how many
	 * leading bytes of a forged MAC were right. */
	if (CRYPTO_memcmp(mac, buf + MSG_HDR_LEN + plen, MSG_MAC_LEN) != 0)
		return MSG_DROP_MAC;
	m->type = buf[H_TYPE];
	memcpy(&m->sender, buf + H_SENDER, 4);
	m->seq = wire_get64(buf + H_SEQ);
	m->ts_ms = wire_get64(buf + H_TS);
	m->payload = buf + MSG_HDR_LEN;
	m->len = (uint16_t)plen;
	return MSG_OK;
}

/* ---- replay window ---- */

static int replay_find(const struct msg_replay *r, uint32_t sender)
{
	for (unsigned i = 0; i < r->n && i < MSG_MAX_SENDERS; i++)
		if (r->s[i].sender == sender)
			return (int)i;
	return -1;
}

/* A free slot, or the least recently used one when the table is full. */
static unsigned replay_slot(struct msg_replay *r)
{
	unsigned lru = 0;

	if (r->n < MSG_MAX_SENDERS)
		return r->n++;
	for (unsigned i = 1; i < MSG_MAX_SENDERS; i++)
		if (r->s[i].last_used < r->s[lru].last_used)
			lru = i;
	return lru;
}

static void replay_record(struct msg_replay *r, int i, uint32_t sender, uint64_t seq,
			  uint64_t now_ms)
{
	unsigned slot = i >= 0 ? (unsigned)i : replay_slot(r);

	if (i < 0) /* a new sender, or an evicted one's slot */
		r->s[slot].proof_seq = r->s[slot].proof_ms = 0;
	r->s[slot].sender = sender;
	r->s[slot].last_seq = seq;
	r->s[slot].last_used = now_ms;
}

enum msg_drop msg_replay_check(struct msg_replay *r, const struct msg *m, uint64_t now_ms)
{
	int i = replay_find(r, m->sender);

	/* Known sender: the sequence alone decides.  Every boot of a sender
	 * starts above its previous boot (epoch in the high bits), so a
	 * restarted sender continues upward whatever its clock says. */
	if (i >= 0 && m->seq <= r->s[i].last_seq)
		return MSG_DROP_REPLAY;
	/* Unknown sender: no sequence to compare with, and no clock to trust
	 * either; only a proof of freshness (msg_replay_learn) or the
	 * caller's choice to trust a first message lets it in. */
	if (i < 0 && !r->trust_first)
		return MSG_DROP_STALE;
	replay_record(r, i, m->sender, m->seq, now_ms);
	return MSG_OK;
}

void msg_replay_learn(struct msg_replay *r, uint32_t sender, uint64_t seq, uint64_t now_ms)
{
	int i = replay_find(r, sender);

	uint64_t proof = seq;

	if (i >= 0 && r->s[i].last_seq > seq)
		seq = r->s[i].last_seq;
	replay_record(r, i, sender, seq, now_ms);
	i = replay_find(r, sender);
	r->s[i].proof_seq = proof;
	r->s[i].proof_ms = now_ms;
}

bool msg_replay_in_flight_at_proof(const struct msg_replay *r, const struct msg *m,
				   uint64_t now_ms)
{
	int i = replay_find(r, m->sender);

	return i >= 0 && r->s[i].proof_seq && m->seq <= r->s[i].proof_seq &&
	       r->s[i].proof_seq - m->seq <= MSG_PROOF_GRACE_SEQ &&
	       now_ms - r->s[i].proof_ms <= MSG_PROOF_GRACE_MS;
}

uint64_t msg_next_seq(uint64_t *last) { return ++*last; }

/* ---- boot epoch ---- */

/* The stored epoch, or 0 (first start, or a file we cannot trust). */
static uint32_t epoch_read(const char *path)
{
	char txt[32], *end;
	unsigned long long v;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("%s: cannot read the boot epoch; starting from the clock", path);
		return 0;
	}
	n = read(fd, txt, sizeof(txt) - 1);
	close(fd);
	txt[n > 0 ? n : 0] = '\0';
	errno = 0;
	v = strtoull(txt, &end, 10);
	if (n <= 0 || end == txt || (*end && *end != '\n') || errno || v > UINT32_MAX) {
		log_warnx("%s: not a boot epoch (corrupt?); starting from the clock", path);
		return 0;
	}
	return (uint32_t)v;
}

static int write_all(int fd, const char *p, size_t n);

/* Directory part of path, for its fsync after the rename. */
static int dir_fsync(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Replace the file atomically: a power cut leaves the old or the new
 * number, never a torn one. */
static int epoch_write(const char *path, uint32_t epoch)
{
	char tmp[4096], txt[16];
	int n = snprintf(txt, sizeof(txt), "%u\n", epoch), fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, txt, (size_t)n);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc ? rc : dir_fsync(path);
}

int msg_epoch_next(const char *path, uint64_t now_s, uint32_t *epoch)
{
	uint64_t e = (uint64_t)epoch_read(path) + 1;
	int rc;

	if (now_s > e)
		e = now_s;
	if (e > UINT32_MAX)
		e = UINT32_MAX;
	*epoch = (uint32_t)e;
	rc = epoch_write(path, *epoch);
	if (rc < 0)
		log_errno(
			rc,
			"%s: cannot store boot epoch %u (this run is fine; the next start may be "
			"dropped as a replay until it passes this one)",
			path, *epoch);
	return rc;
}

int msg_seq_init(uint64_t *last, const char *path)
{
	struct timespec ts;
	uint32_t epoch;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	rc = msg_epoch_next(path, ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 0, &epoch);
	*last = (uint64_t)epoch << 32;
	return rc;
}

/* ---- key file ---- */

static int key_fail(char *err, size_t errlen, int rc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* "PATH: reason" into err (may be NULL); returns rc. */
static int key_fail(char *err, size_t errlen, int rc, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return rc;
	n = snprintf(err, errlen, "%s: ", path);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/* Open without following a symlink and check type and mode on the opened
 * file itself (fstat), so nothing can be swapped in between the check and
 * the read.  O_NONBLOCK: opening a FIFO must not hang start-up. */
static int key_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	int e = errno;

	if (fd < 0 && e == ELOOP)
		return key_fail(err, errlen, -ELOOP, path,
				"is a symbolic link; key_file must name the key file itself");
	if (fd < 0)
		return key_fail(err, errlen, -e, path, "cannot open: %s", strerror(e));
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return key_fail(err, errlen, -e, path, "fstat: %s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return key_fail(err, errlen, -EINVAL, path,
				"is %s; the key must be a regular file", file_kind(st.st_mode));
	}
	if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
		close(fd);
		return key_fail(err, errlen, -EPERM, path,
				"%s by group or other users (mode %04o); chmod 600 it",
				st.st_mode & (S_IRGRP | S_IROTH) ? "readable" : "writable",
				(unsigned)(st.st_mode & 07777));
	}
	return fd;
}

/* Whole file into buf; -EFBIG when it is bigger than cap - 1 bytes. */
static ssize_t key_read(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
		if (got == cap)
			return -EFBIG;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits with surrounding whitespace into key. */
static int key_parse(const char *path, const char *txt, size_t n, struct msg_key *key, char *err,
		     size_t errlen)
{
	size_t a = 0, b = n, digits;

	while (a < b && isspace((unsigned char)txt[a]))
		a++;
	while (b > a && isspace((unsigned char)txt[b - 1]))
		b--;
	if (a == b)
		return key_fail(err, errlen, -EINVAL, path,
				"empty; create a key with andromeda --gen-key %s", path);
	for (size_t i = a; i < b; i++)
		if (hexval((unsigned char)txt[i]) < 0)
			return key_fail(err, errlen, -EINVAL, path,
					"not hexadecimal (byte 0x%02x at offset %zu)",
					(unsigned char)txt[i], i);
	digits = b - a;
	if (digits % 2)
		return key_fail(err, errlen, -EINVAL, path, "odd number of hex digits (%zu)",
				digits);
	if (digits / 2 < MSG_KEY_MIN)
		return key_fail(err, errlen, -EINVAL, path,
				"key too short: %zu bytes, at least %d", digits / 2, MSG_KEY_MIN);
	if (digits / 2 > MSG_KEY_MAX)
		return key_fail(err, errlen, -EINVAL, path, "key too long: %zu bytes, at most %d",
				digits / 2, MSG_KEY_MAX);
	for (size_t i = 0; i < digits / 2; i++)
		key->bytes[i] = (uint8_t)((unsigned)hexval((unsigned char)txt[a + 2 * i]) << 4 |
					  (unsigned)hexval((unsigned char)txt[a + 2 * i + 1]));
	key->len = digits / 2;
	return 0;
}

int msg_key_load(const char *path, struct msg_key *key, char *err, size_t errlen)
{
	char txt[KEYFILE_CAP];
	ssize_t n;
	int fd, rc;

	if (err && errlen)
		err[0] = '\0';
	memset(key, 0, sizeof(*key));
	fd = key_open(path, err, errlen);
	if (fd < 0)
		return fd;
	n = key_read(fd, txt, sizeof(txt));
	close(fd);
	if (n == -EFBIG)
		rc = key_fail(err, errlen, -EINVAL, path,
			      "too long for a key file (%d bytes or more)", KEYFILE_CAP);
	else if (n < 0)
		rc = key_fail(err, errlen, (int)n, path, "read: %s", strerror((int)-n));
	else
		rc = key_parse(path, txt, (size_t)n, key, err, errlen);
	/* The text is key material too. */
	OPENSSL_cleanse(txt, sizeof(txt));
	if (rc < 0)
		OPENSSL_cleanse(key, sizeof(*key));
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* MSG_KEY_MIN random bytes as lowercase hex and a newline. */
static int key_fill(char txt[2 * MSG_KEY_MIN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[MSG_KEY_MIN];
	size_t got = 0;

	/* getrandom(2) without flags blocks until the kernel's pool is
	 * initialised, which is what a fresh key needs. */
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		txt[2 * i] = hex[raw[i] >> 4];
		txt[2 * i + 1] = hex[raw[i] & 15];
	}
	txt[2 * MSG_KEY_MIN] = '\n';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int msg_key_generate(const char *path)
{
	char txt[2 * MSG_KEY_MIN + 1];
	const char *what = "getrandom";
	int fd, rc;

	/* O_EXCL: never overwrite a key (or anything else); O_NOFOLLOW: a
	 * dangling symlink must not make us create its target. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		log_errno(rc, "%s: cannot create key file%s", path,
			  rc == -EEXIST ? " (refusing to overwrite an existing file)" : "");
		return rc;
	}
	rc = key_fill(txt);
	/* fchmod: exactly 0600 whatever the umask was. */
	if (!rc && fchmod(fd, 0600) < 0)
		what = "fchmod", rc = -errno;
	else if (!rc && (rc = write_all(fd, txt, sizeof(txt))) < 0)
		what = "write";
	else if (!rc && fsync(fd) < 0)
		what = "fsync", rc = -errno;
	OPENSSL_cleanse(txt, sizeof(txt));
	if (close(fd) < 0 && !rc)
		what = "close", rc = -errno;
	if (rc) {
		log_errno(rc, "%s: %s of new key file", path, what);
		unlink(path);
	}
	return rc;
}
