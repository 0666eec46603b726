/* agent_check.h - andromeda-agent's check of its local service: one HTTP
 * GET of health_url at a time, through libcurl's multi interface driven by
 * the event loop (with core/lib/curl_check.c, shared with the health checks).
 *
 * Why the multi interface rather than a blocking curl_easy_perform(): while
 * a check waits for a hung service (up to health_timeout), the agent still
 * answers SIGTERM at once with its withdraw, still reads acknowledgements
 * and keeps its announcement cadence.  The daemon's health module works
 * the same way, so there is one model of "a check" in the project. */
#ifndef ANDROMEDA_AGENT_CHECK_H
#define ANDROMEDA_AGENT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct agent_check;

struct agent_check_result {
	bool ok;          /* 2xx or 3xx (redirects are not followed) */
	long http_status; /* 0 when no response came */
	uint32_t duration_ms;
	char cause[160]; /* "200", "http status 503", "connection refused",
			  * "timeout after 1000ms", ... */
};

/* Called from the loop when a check ends (never from agent_check_start). */
typedef void (*agent_check_fn)(void *arg, const struct agent_check_result *r);

/* Prepare checks of url (copied) with a whole-check timeout; host, when
 * neither NULL nor "", is sent as the Host header instead of the URL's
 * authority (health_host: a name-based virtual host).  The loop must
 * outlive the checker.  Returns 0, or -ENOMEM / -EIO (libcurl refused an
 * option, e.g. an unsupported protocol), logged. */
int agent_check_create(struct agent_check **out, struct loop *loop, const char *url,
		       const char *host, uint32_t timeout_ms, agent_check_fn done, void *arg);
/* Start one check.  Returns 0, -EBUSY while one is in flight, or -EIO. */
int agent_check_start(struct agent_check *c);
bool agent_check_busy(const struct agent_check *c);
/* Abandon a check in flight (its callback never runs).  No-op when idle. */
void agent_check_cancel(struct agent_check *c);
/* Cancel and free; NULL is a no-op. */
void agent_check_destroy(struct agent_check *c);

#endif
