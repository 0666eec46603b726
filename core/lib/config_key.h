/* config_key.h - private to the configuration loaders (config.c for the
 * daemon, config_agent.c for the agent): the key table both read through.
 *
 * A loader describes every key it knows in a table of struct cfg_key:
 * its section, its setter, where its field is and how big, its range.
 * The engine takes each "key = value" line from the line reader
 * (config_file.h), finds the key in the section being read, refuses a
 * key outside any section, an unknown one (naming the nearest key, or
 * the section it belongs in) and a duplicate, calls the setter, and at
 * the end names a missing required key - in the same words for both
 * files.  Sections stay the loader's business: its section callback
 * checks the header and calls cfgk_enter(). */
#ifndef ANDROMEDA_CONFIG_KEY_H
#define ANDROMEDA_CONFIG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_file.h"
#include "config_value.h"

#define CFGK_MAX_KEYS  96 /* keys in one table */
#define CFGK_MAX_SECTS 12 /* section numbers 1..11; 0 is "none yet" */

struct cfgk;
struct cfg_key;

/* Check v and store it (usually at cfgk_field()).  Returns 0, or -1
 * after cfgf_fail(). */
typedef int (*cfgk_set_fn)(struct cfgk *e, const struct cfg_key *k, const char *v);

struct cfg_key {
	const char *name;
	int sect; /* the loader's section number, 1.. */
	cfgk_set_fn set;
	size_t off;          /* in the struct cfgk_enter() gave for the section */
	size_t size;         /* of the field */
	enum cfgv_kind kind; /* numbers */
	uint64_t min, max;   /* numbers: range; strings: min length */
	uint64_t step;       /* numbers: must be a multiple of this (0: any) */
	bool required;
};

/* One file being read.  The loader fills f (path, err, errlen, section),
 * keys, nkeys, sect_names, outside and user; the rest is the engine's. */
struct cfgk {
	struct cfgf f; /* the file: line number, first error */
	const struct cfg_key *keys;
	size_t nkeys;                  /* at most CFGK_MAX_KEYS */
	const char *const *sect_names; /* by section number, for messages */
	const char *outside;           /* "key \"x\" is outside <outside>" */
	void *user;                    /* the loader's, for its setters */
	int sect;                      /* the section being read, 0 before any */
	void *base;                    /* its struct */
	char label[80];                /* its header in messages: "ha", "server web1" */
	int sect_line[CFGK_MAX_SECTS]; /* first header line of each section seen */
	int key_line[CFGK_MAX_KEYS];   /* line of each key seen (in this section) */
};

/* The first error at the current line (cfgf_fail).  Returns -1. */
#define cfgk_fail(e, ...) cfgf_fail(&(e)->f, (e)->f.lineno, __VA_ARGS__)

/* Read the file (cfgf_read: path copied into copy) with the engine as
 * the key handler.  Returns 0, or -1 with the error recorded. */
int cfgk_read(struct cfgk *e, char *copy, size_t size);

/* The loader accepted a header: keys now go to section sect, their
 * fields at base + off; label names it in messages (NULL: its name).
 * The section's keys count as unseen again (each [server NAME] has its
 * own). */
void cfgk_enter(struct cfgk *e, int sect, void *base, const char *label);

/* Where key k of the section being read is stored. */
static inline void *cfgk_field(const struct cfgk *e, const struct cfg_key *k)
{
	return (char *)e->base + k->off;
}

/* The line where key name of section sect was set, 0 if it was not. */
int cfgk_line(const struct cfgk *e, int sect, const char *name);

/* Every required key of the sections in the mask (bit 1 << section) was
 * set; else -1 after "missing required key" at its section's header. */
int cfgk_required(struct cfgk *e, unsigned sects);

/* Setters both loaders use (the same words as config_file.h's checks). */
int cfgk_set_num(struct cfgk *e, const struct cfg_key *k, const char *v);  /* kind, range, step */
int cfgk_set_str(struct cfgk *e, const struct cfg_key *k, const char *v);  /* min..size-1 bytes */
int cfgk_set_name(struct cfgk *e, const struct cfg_key *k, const char *v); /* cfgf_name */
int cfgk_set_host(struct cfgk *e, const struct cfg_key *k, const char *v); /* cfgf_host */
int cfgk_set_bool(struct cfgk *e, const struct cfg_key *k, const char *v); /* into a bool */
int cfgk_set_log_level(struct cfgk *e, const struct cfg_key *k, const char *v); /* into an int */

#endif
