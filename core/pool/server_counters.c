/* server_counters.c - a server's per-thread counters summed for the
 * metrics endpoint, and the response timing each proxy thread records.
 * Each struct server_thread has one writer (its thread); readers on the
 * main thread take relaxed snapshots, as status does (pool.h). */
#include "pool.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

static const unsigned rt_bounds_ms[SERVER_RT_BUCKETS] = SERVER_RT_BOUNDS_MS;

static void add_thread(struct server_counters *c, const struct server_thread *th)
{
	c->requests += LOAD(&th->requests);
	c->bytes_in += LOAD(&th->bytes_in);
	c->bytes_out += LOAD(&th->bytes_out);
	c->retries += LOAD(&th->retries);
	c->redispatched += LOAD(&th->redispatched);
	for (int k = 0; k < SERVER_NCLASSES; k++)
		c->responses[k] += LOAD(&th->responses[k]);
	for (int b = 0; b < SERVER_RT_BUCKETS; b++)
		c->rt_bucket[b] += LOAD(&th->rt_bucket[b]);
	c->rt_count += LOAD(&th->rt_count);
	c->rt_sum_ms += LOAD(&th->rt_sum_ms);
	c->queued += LOAD(&th->queued);
	c->idle += LOAD(&th->nidle);
}

void server_get_counters(const struct server *s, struct server_counters *out)
{
	*out = (struct server_counters){ .requests = s->requests_base };
	for (unsigned i = 0; i < s->nthreads; i++)
		add_thread(out, &s->th[i]);
	/* Prometheus buckets are cumulative; the threads count each
	 * response once, in its own bucket, which keeps their writes cheap. */
	for (int b = 1; b < SERVER_RT_BUCKETS; b++)
		out->rt_bucket[b] += out->rt_bucket[b - 1];
}

void server_count_response(struct server *s, unsigned tid, unsigned status, uint64_t ms)
{
	struct server_thread *th = &s->th[tid];
	unsigned cls = status / 100;
	int b = 0;

	server_count(&th->responses[cls < SERVER_NCLASSES ? cls : 0], 1);
	while (b < SERVER_RT_BUCKETS && ms > rt_bounds_ms[b])
		b++;
	if (b < SERVER_RT_BUCKETS) /* slower than the last bound: +Inf only */
		server_count(&th->rt_bucket[b], 1);
	server_count(&th->rt_count, 1);
	server_count(&th->rt_sum_ms, ms);
}
