/* curl_check.h - what the daemon's health checks (health.c) and the
 * agent's check of its service (agent_check.c) share of libcurl: the multi
 * interface driven by our event loop, the easy-handle options every check
 * gets, and the reading of a finished transfer.
 *
 * curl never blocks: it tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> loop_add_fd / loop_set_mask / loop_del_fd)
 * and when to wake it (CURLMOPT_TIMERFUNCTION -> one loop_timer); every
 * event goes back through curl_multi_socket_action(), then to the owner's
 * collect(), which reads the finished transfers (curl_multi_info_read). */
#ifndef ANDROMEDA_CURL_CHECK_H
#define ANDROMEDA_CURL_CHECK_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

struct curl_loop {
	struct loop *loop;
	CURLM *multi;               /* the owner's: created and cleaned up there */
	struct loop_timer timer;    /* curl's single timeout */
	void (*collect)(void *arg); /* after every curl_multi_socket_action */
	void *arg;
	const char *watch_error; /* logged as "<watch_error> <fd>" */
};

/* Before anything that can fail, so curl_loop_stop() is always safe. */
void curl_loop_init(struct curl_loop *cl, struct loop *loop, void (*collect)(void *arg), void *arg,
		    const char *watch_error);
/* Drive cl->multi (set by the owner) from cl's loop.  CURLM_OK or curl's
 * error; nothing is logged. */
CURLMcode curl_loop_attach(struct curl_loop *cl);
/* Cancel curl's timer (the owner cleans up the multi handle). */
void curl_loop_stop(struct curl_loop *cl);

/* The options every check has: url (kept by the caller), errbuf
 * (CURL_ERROR_SIZE), only the given protocols, no proxy from the
 * environment (the check is of that server, not of a proxy), no signals
 * (we are not the only thing in the process), timeout_ms for the connect
 * and for the whole check, and a fresh connection each time (a check must
 * prove the server still accepts new ones).  Stops at the first error. */
CURLcode curl_check_setup(CURL *e, const char *url, char *errbuf, const char *protocols,
			  long timeout_ms);
/* An HTTP/1.1 GET with user_agent and headers (kept by the caller); the
 * body goes to write(data). */
CURLcode curl_check_setup_http(CURL *e, const char *user_agent, struct curl_slist *headers,
			       curl_write_callback write, void *data);

/* The extra request headers of a check: "Connection: close" (RFC 9112
 * 9.6: the server need not keep a check's connection around) and, when
 * host is neither NULL nor "", "Host: <host>" in place of the URL's
 * authority, so a check reaches a name-based virtual host while still
 * connecting to the URL's address (RFC 9110 7.2).  The caller frees the
 * list with curl_slist_free_all(); NULL when out of memory. */
struct curl_slist *curl_check_headers(const char *host);

/* How long the finished transfer on e took, in ms. */
uint32_t curl_check_duration_ms(CURL *e);
/* RFC 9110 15.3 and 15.4: 2xx succeeded, and a 3xx (redirects are not
 * followed) still proves the server is up and handled the request. */
bool curl_check_status_ok(long status);

#endif
