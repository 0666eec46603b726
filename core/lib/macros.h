/* macros.h - the few macros every room may use.  (container_of lives
 * with the list it serves, list.h.) */
#ifndef ANDROMEDA_MACROS_H
#define ANDROMEDA_MACROS_H

/* Elements of an array (not of a pointer: sizeof would lie). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
