/* agent_check.c - the agent's HTTP check of its local service (see
 * agent_check.h for why it runs inside the event loop).
 *
 * One easy handle, reused for every check with a fresh connection each
 * time (a check must prove the service still accepts connections), driven
 * by a multi handle whose sockets and single timeout are loop clients. */
#include "agent_check.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"

struct agent_check {
	struct loop *loop;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	struct loop_timer curl_timer;  /* curl's single timeout */
	agent_check_fn done;
	void *arg;
	uint32_t timeout_ms;
	bool busy;
	bool curl_global;
	char url[1024];
	char errbuf[CURL_ERROR_SIZE];
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/* The outcome of a finished transfer, in words an operator can act on. */
static void classify(struct agent_check *c, CURLcode rc, struct agent_check_result *r)
{
	long oserr = 0;
	curl_off_t t = 0;

	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &t);
	r->duration_ms = (uint32_t)(t / 1000);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
		/* RFC 9110 15.3 and 15.4: 2xx succeeded; a 3xx still proves the
		 * service is up and answering. */
		r->ok = r->http_status >= 200 && r->http_status < 400;
		snprintf(r->cause, sizeof(r->cause), r->ok ? "%ld" : "http status %ld", r->http_status);
		return;
	}
	curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(r->cause, sizeof(r->cause), "timeout after %" PRIu32 "ms", c->timeout_ms);
	else if (rc == CURLE_COULDNT_CONNECT && oserr == ECONNREFUSED)
		snprintf(r->cause, sizeof(r->cause), "connection refused");
	else if (rc == CURLE_COULDNT_CONNECT && oserr)
		snprintf(r->cause, sizeof(r->cause), "cannot connect: %s", strerror((int)oserr));
	else
		snprintf(r->cause, sizeof(r->cause), "%.120s", c->errbuf[0] ? c->errbuf
								  : curl_easy_strerror(rc));
}

static void collect(struct agent_check *c)
{
	struct agent_check_result r;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != c->easy)
			continue;
		memset(&r, 0, sizeof(r));
		classify(c, msg->data.result, &r);
		curl_multi_remove_handle(c->multi, c->easy);
		c->busy = false;
		c->done(c->arg, &r);
		return; /* the callback may have started or destroyed anything */
	}
}

static void curl_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agent_check *c = arg;
	int flags = 0, running;

	(void)loop;
	if (events & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	collect(c);
}

/* CURLMOPT_SOCKETFUNCTION; socketp is non-NULL once we watch s.  Errors
 * are logged, not returned: -1 would kill the multi handle, while the
 * check's own timeout still ends the transfer. */
static int curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct agent_check *c = userp;
	unsigned mask = 0;
	int err;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		loop_del_fd(c->loop, s);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		mask |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		mask |= LOOP_WRITE;
	if (socketp) {
		err = loop_set_mask(c->loop, s, mask);
	} else {
		err = loop_add_fd(c->loop, s, mask, curl_io, c);
		if (!err)
			curl_multi_assign(c->multi, s, c);
	}
	if (err)
		log_errno(err, "agent: cannot watch the check's socket %d", s);
	return 0;
}

static void curl_timer_fire(struct loop *loop, struct loop_timer *t)
{
	struct agent_check *c = t->arg;
	int running;

	(void)loop;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(c);
}

/* CURLMOPT_TIMERFUNCTION: -1 cancels; 0 runs at the next loop iteration
 * (curl must not be re-entered from inside this callback). */
static int curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct agent_check *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_cancel(c->loop, &c->curl_timer);
	else
		loop_timer_arm(c->loop, &c->curl_timer, (uint64_t)timeout_ms);
	return 0;
}

/* No proxy from the environment (the check is of *this* host's service),
 * no redirects, http(s) only, a new connection every time. */
static CURLcode setup_easy(struct agent_check *c)
{
	CURL *e = c->easy;
	CURLcode rc = CURLE_OK;

#define SETOPT(opt, val) (rc = rc != CURLE_OK ? rc : curl_easy_setopt(e, opt, val))
	SETOPT(CURLOPT_URL, c->url);
	SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	SETOPT(CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(CURLOPT_FORBID_REUSE, 1L);
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_USERAGENT, "andromeda-agent/" ANDROMEDA_VERSION);
	SETOPT(CURLOPT_HTTPHEADER, c->headers);
	SETOPT(CURLOPT_WRITEFUNCTION, discard);
#undef SETOPT
	return rc;
}

static int setup_multi(struct agent_check *c)
{
	CURLMcode mc = CURLM_OK;

#define MSETOPT(opt, val) (mc = mc != CURLM_OK ? mc : curl_multi_setopt(c->multi, opt, val))
	MSETOPT(CURLMOPT_SOCKETFUNCTION, curl_socket);
	MSETOPT(CURLMOPT_SOCKETDATA, c);
	MSETOPT(CURLMOPT_TIMERFUNCTION, curl_timer);
	MSETOPT(CURLMOPT_TIMERDATA, c);
#undef MSETOPT
	if (mc != CURLM_OK) {
		log_warnx("agent: libcurl multi setup failed: %s", curl_multi_strerror(mc));
		return -EIO;
	}
	return 0;
}

int agent_check_create(struct agent_check **out, struct loop *loop, const char *url,
		       uint32_t timeout_ms, agent_check_fn done, void *arg)
{
	struct agent_check *c = calloc(1, sizeof(*c));
	CURLcode rc;

	if (!c) {
		log_warnx("agent: cannot allocate the health check: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*c = (struct agent_check){ .loop = loop, .done = done, .arg = arg, .timeout_ms = timeout_ms };
	loop_timer_init(&c->curl_timer, curl_timer_fire, c);
	snprintf(c->url, sizeof(c->url), "%s", url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("agent: libcurl failed to initialise");
		free(c);
		return -EIO;
	}
	c->curl_global = true;
	c->multi = curl_multi_init();
	c->easy = curl_easy_init();
	/* RFC 9112 9.6: say we close, so the service does not keep the
	 * connection of a check around. */
	c->headers = curl_slist_append(NULL, "Connection: close");
	if (!c->multi || !c->easy || !c->headers || setup_multi(c) < 0) {
		agent_check_destroy(c);
		return -EIO;
	}
	rc = setup_easy(c);
	if (rc != CURLE_OK) {
		log_warnx("agent: health_url %s: %s", url, curl_easy_strerror(rc));
		agent_check_destroy(c);
		return -EIO;
	}
	*out = c;
	return 0;
}

int agent_check_start(struct agent_check *c)
{
	CURLMcode mc;

	if (c->busy)
		return -EBUSY;
	c->errbuf[0] = '\0';
	mc = curl_multi_add_handle(c->multi, c->easy);
	if (mc != CURLM_OK) {
		log_warnx("agent: cannot start the check of %s: %s", c->url, curl_multi_strerror(mc));
		return -EIO;
	}
	c->busy = true;
	return 0;
}

bool agent_check_busy(const struct agent_check *c) { return c->busy; }

void agent_check_cancel(struct agent_check *c)
{
	if (!c->busy)
		return;
	/* Closes the connection; curl_socket() sees CURL_POLL_REMOVE. */
	curl_multi_remove_handle(c->multi, c->easy);
	c->busy = false;
}

void agent_check_destroy(struct agent_check *c)
{
	if (!c)
		return;
	if (c->multi && c->easy)
		agent_check_cancel(c);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	loop_timer_cancel(c->loop, &c->curl_timer);
	if (c->curl_global)
		curl_global_cleanup();
	free(c);
}
