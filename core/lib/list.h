/* list.h - intrusive doubly linked list (circular, with a head node). */
#ifndef ANDROMEDA_LIST_H
#define ANDROMEDA_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *next, *prev;
};

#define LIST_INIT(name)          \
	{                        \
		&(name), &(name) \
	}
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define list_entry(ptr, type, member)   container_of(ptr, type, member)
#define list_for_each_safe(pos, tmp, head)                               \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)
#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

static inline void list_init(struct list *l) { l->next = l->prev = l; }
static inline bool list_empty(const struct list *l) { return l->next == l; }
/* An element that was list_init()ed or list_del()ed is unlinked. */
static inline bool list_linked(const struct list *e) { return e->next != e; }

static inline void list_add_tail(struct list *head, struct list *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

static inline void list_add_head(struct list *head, struct list *e)
{
	list_add_tail(head->next, e);
}

static inline void list_del(struct list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	list_init(e);
}

/* Unlinks through head itself rather than through e->prev (which is head):
 * same result, but a static analyzer can then see that head->next moved on
 * and does not report the next pop as a use of the freed element. */
static inline struct list *list_pop_head(struct list *head)
{
	struct list *e = head->next;

	if (e == head)
		return NULL;
	head->next = e->next;
	e->next->prev = head;
	list_init(e);
	return e;
}

#endif
