/* curl_check.c - libcurl's multi interface on our event loop and the
 * options of a check, shared by health.c and agent_check.c (see
 * curl_check.h). */
#include "curl_check.h"

#include <stdio.h>

#include "log.h"

static void curl_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct curl_loop *cl = arg;
	int flags = 0, running;

	if (events & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cl->multi, fd, flags, &running);
	cl->collect(cl->arg);
}

/* CURLMOPT_SOCKETFUNCTION.  socketp is non-NULL once we watch s.  A
 * failure is logged and swallowed: returning -1 would make curl mark the
 * whole multi handle dead, while the check's own timeout still ends it. */
static int curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curl_loop *cl = userp;
	unsigned mask = 0;
	int err;

	if (what == CURL_POLL_REMOVE) {
		loop_del_fd(cl->loop, s);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		mask |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		mask |= LOOP_WRITE;
	if (socketp) {
		err = loop_set_mask(cl->loop, s, mask);
	} else {
		err = loop_add_fd(cl->loop, s, mask, curl_io, cl);
		if (!err)
			curl_multi_assign(cl->multi, s, cl);
	}
	if (err)
		log_errno(err, "%s %d", cl->watch_error, s);
	return 0;
}

static void curl_timer_fire(struct loop *loop, struct loop_timer *t)
{
	struct curl_loop *cl = t->arg;
	int running;

	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	cl->collect(cl->arg);
}

/* CURLMOPT_TIMERFUNCTION: -1 cancels; 0 means "as soon as possible", which
 * we honour at the next loop iteration (curl must not be re-entered from
 * inside this callback). */
static int curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop *cl = userp;

	if (timeout_ms < 0)
		loop_timer_cancel(cl->loop, &cl->timer);
	else
		loop_timer_arm(cl->loop, &cl->timer, (uint64_t)timeout_ms);
	return 0;
}

void curl_loop_init(struct curl_loop *cl, struct loop *loop, void (*collect)(void *arg), void *arg,
		    const char *watch_error)
{
	*cl = (struct curl_loop){
		.loop = loop, .collect = collect, .arg = arg, .watch_error = watch_error
	};
	loop_timer_init(&cl->timer, curl_timer_fire, cl);
}

CURLMcode curl_loop_attach(struct curl_loop *cl)
{
	CURLMcode mc = CURLM_OK;

#define MSETOPT(opt, val) (mc = mc != CURLM_OK ? mc : curl_multi_setopt(cl->multi, opt, val))
	MSETOPT(CURLMOPT_SOCKETFUNCTION, curl_socket);
	MSETOPT(CURLMOPT_SOCKETDATA, cl);
	MSETOPT(CURLMOPT_TIMERFUNCTION, curl_timer);
	MSETOPT(CURLMOPT_TIMERDATA, cl);
#undef MSETOPT
	return mc;
}

void curl_loop_stop(struct curl_loop *cl) { loop_timer_cancel(cl->loop, &cl->timer); }

#define SETOPT(opt, val) (rc = rc != CURLE_OK ? rc : curl_easy_setopt(e, opt, val))

CURLcode curl_check_setup(CURL *e, const char *url, char *errbuf, const char *protocols,
			  long timeout_ms)
{
	CURLcode rc = CURLE_OK;

	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_PROTOCOLS_STR, protocols);
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	SETOPT(CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(CURLOPT_FORBID_REUSE, 1L);
	return rc;
}

CURLcode curl_check_setup_http(CURL *e, const char *user_agent, struct curl_slist *headers,
			       curl_write_callback write, void *data)
{
	CURLcode rc = CURLE_OK;

	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_USERAGENT, user_agent);
	SETOPT(CURLOPT_HTTPHEADER, headers);
	SETOPT(CURLOPT_WRITEFUNCTION, write);
	SETOPT(CURLOPT_WRITEDATA, data);
	return rc;
}

#undef SETOPT

struct curl_slist *curl_check_headers(const char *host)
{
	struct curl_slist *l = curl_slist_append(NULL, "Connection: close"), *n;
	char line[300];

	if (!l || !host || !host[0])
		return l;
	/* libcurl sends a custom Host instead of its own (CURLOPT_HTTPHEADER). */
	snprintf(line, sizeof(line), "Host: %s", host);
	if (!(n = curl_slist_append(l, line))) {
		curl_slist_free_all(l);
		return NULL;
	}
	return n;
}

uint32_t curl_check_duration_ms(CURL *e)
{
	curl_off_t t = 0;

	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t);
	return (uint32_t)(t / 1000);
}

bool curl_check_status_ok(long status) { return status >= 200 && status <= 399; }
