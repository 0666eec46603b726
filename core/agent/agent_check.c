/* agent_check.c - the agent's HTTP check of its local service (see
 * agent_check.h for why it runs inside the event loop).
 *
 * One easy handle, reused for every check with a fresh connection each
 * time (a check must prove the service still accepts connections), driven
 * by a multi handle whose sockets and single timeout are loop clients
 * (curl_check.h, shared with the daemon's health checks). */
#include "agent_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_check.h"
#include "log.h"

struct agent_check {
	struct curl_loop cl; /* the multi handle on the loop */
	CURL *easy;
	struct curl_slist *headers;
	agent_check_fn done;
	void *arg;
	uint32_t timeout_ms;
	bool busy;
	bool curl_global;
	char url[1024];
	char errbuf[CURL_ERROR_SIZE];
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg) { return size * nmemb; }

/* The outcome of a finished transfer, in words an operator can act on. */
static void classify(struct agent_check *c, CURLcode rc, struct agent_check_result *r)
{
	long oserr = 0;

	r->duration_ms = curl_check_duration_ms(c->easy);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
		r->ok = curl_check_status_ok(r->http_status);
		snprintf(r->cause, sizeof(r->cause), r->ok ? "%ld" : "http status %ld",
			 r->http_status);
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
		snprintf(r->cause, sizeof(r->cause), "%.120s",
			 c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
}

static void collect(void *arg)
{
	struct agent_check *c = arg;
	struct agent_check_result r;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->cl.multi, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != c->easy)
			continue;
		memset(&r, 0, sizeof(r));
		classify(c, msg->data.result, &r);
		curl_multi_remove_handle(c->cl.multi, c->easy);
		c->busy = false;
		c->done(c->arg, &r);
		return; /* the callback may have started or destroyed anything */
	}
}

/* No proxy from the environment (the check is of *this* host's service),
 * no redirects, http(s) only, a new connection every time. */
static CURLcode setup_easy(struct agent_check *c)
{
	CURLcode rc =
		curl_check_setup(c->easy, c->url, c->errbuf, "http,https", (long)c->timeout_ms);

	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (rc == CURLE_OK)
		rc = curl_check_setup_http(c->easy, "andromeda-agent/" ANDROMEDA_VERSION,
					   c->headers, discard, NULL);
	return rc;
}

static int setup_multi(struct agent_check *c)
{
	CURLMcode mc = curl_loop_attach(&c->cl);

	if (mc != CURLM_OK) {
		log_warnx("agent: libcurl multi setup failed: %s", curl_multi_strerror(mc));
		return -EIO;
	}
	return 0;
}

int agent_check_create(struct agent_check **out, struct loop *loop, const char *url,
		       const char *host, uint32_t timeout_ms, agent_check_fn done, void *arg)
{
	struct agent_check *c = calloc(1, sizeof(*c));
	CURLcode rc;

	if (!c) {
		log_warnx("agent: cannot allocate the health check: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*c = (struct agent_check){ .done = done, .arg = arg, .timeout_ms = timeout_ms };
	curl_loop_init(&c->cl, loop, collect, c, "agent: cannot watch the check's socket");
	snprintf(c->url, sizeof(c->url), "%s", url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("agent: libcurl failed to initialise");
		free(c);
		return -EIO;
	}
	c->curl_global = true;
	c->cl.multi = curl_multi_init();
	c->easy = curl_easy_init();
	c->headers = curl_check_headers(host);
	if (!c->cl.multi || !c->easy || !c->headers || setup_multi(c) < 0) {
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
	mc = curl_multi_add_handle(c->cl.multi, c->easy);
	if (mc != CURLM_OK) {
		log_warnx("agent: cannot start the check of %s: %s", c->url,
			  curl_multi_strerror(mc));
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
	curl_multi_remove_handle(c->cl.multi, c->easy);
	c->busy = false;
}

void agent_check_destroy(struct agent_check *c)
{
	if (!c)
		return;
	if (c->cl.multi && c->easy)
		agent_check_cancel(c);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->cl.multi)
		curl_multi_cleanup(c->cl.multi);
	curl_slist_free_all(c->headers);
	curl_loop_stop(&c->cl);
	if (c->curl_global)
		curl_global_cleanup();
	free(c);
}
