/* buf.c - buffer free list. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_pool_init(struct buf_pool *bp, uint32_t size, uint32_t max_free)
{
	*bp = (struct buf_pool){ .size = size, .max_free = max_free };
}

void buf_pool_release(struct buf_pool *bp)
{
	while (bp->free) {
		struct buf *b = bp->free;

		bp->free = b->next_free;
		free(b);
	}
	bp->nfree = 0;
}

struct buf *buf_get(struct buf_pool *bp)
{
	struct buf *b = bp->free;

	if (b) {
		bp->free = b->next_free;
		bp->nfree--;
	} else {
		b = malloc(sizeof(*b) + bp->size);
		if (!b)
			return NULL;
	}
	b->head = b->tail = 0;
	b->next_free = NULL;
	return b;
}

void buf_put(struct buf_pool *bp, struct buf *b)
{
	if (!b)
		return;
	if (bp->nfree >= bp->max_free) {
		free(b);
		return;
	}
	b->next_free = bp->free;
	bp->free = b;
	bp->nfree++;
}

void buf_compact(struct buf *b)
{
	if (!b->head)
		return;
	memmove(b->data, b->data + b->head, b->tail - b->head);
	b->tail -= b->head;
	b->head = 0;
}

int buf_append(struct buf_pool *bp, struct buf *b, const void *p, size_t n)
{
	if (n > buf_room(bp, b)) {
		buf_compact(b);
		if (n > buf_room(bp, b))
			return -ENOSPC;
	}
	memcpy(b->data + b->tail, p, n);
	b->tail += (uint32_t)n;
	return 0;
}
