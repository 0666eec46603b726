/* buf.h - fixed-size I/O buffers recycled through a free list, so the data
 * path does not call malloc per request.  A buffer holds bytes in
 * [head, tail); space is [tail, size).  An idle connection holds no buffer. */
#ifndef ANDROMEDA_BUF_H
#define ANDROMEDA_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint32_t head, tail;
	struct buf *next_free;
	char data[];
};

struct buf_pool {
	uint32_t size; /* bytes of data[] in each buffer */
	struct buf *free;
	uint32_t nfree, max_free;
};

void buf_pool_init(struct buf_pool *bp, uint32_t size, uint32_t max_free);
void buf_pool_release(struct buf_pool *bp);
/* An empty buffer, or NULL when out of memory. */
struct buf *buf_get(struct buf_pool *bp);
/* Return b (may be NULL) to the pool. */
void buf_put(struct buf_pool *bp, struct buf *b);

static inline uint32_t buf_len(const struct buf *b) { return b->tail - b->head; }
static inline char *buf_start(struct buf *b) { return b->data + b->head; }
static inline char *buf_end(struct buf *b) { return b->data + b->tail; }
static inline uint32_t buf_room(const struct buf_pool *bp, const struct buf *b)
{
	return bp->size - b->tail;
}
static inline void buf_consume(struct buf *b, uint32_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}
/* Move the bytes to the start of the buffer to make room at the end. */
void buf_compact(struct buf *b);
/* Append n bytes; returns 0 or -ENOSPC (nothing appended). */
int buf_append(struct buf_pool *bp, struct buf *b, const void *p, size_t n);

#endif
