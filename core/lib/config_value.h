/* config_value.h - private to the configuration loaders (config.c,
 * config_agent.c, config_file.c): value helpers behind the public parsers
 * in config.h. */
#ifndef ANDROMEDA_CONFIG_VALUE_H
#define ANDROMEDA_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CFGV_SEC  1000ULL
#define CFGV_MIN  (60 * CFGV_SEC)
#define CFGV_HOUR (60 * CFGV_MIN)

/* How a numeric value is written, for parsing and for error messages. */
enum cfgv_kind {
	CFGV_NUM,
	CFGV_DUR,
	CFGV_SIZE
};

/* Non-empty and only ASCII digits. */
bool cfgv_all_digits(const char *s);
/* Digits only: no sign, blanks or hex.  0, -EINVAL or -ERANGE. */
int cfgv_parse_uint(const char *s, uint64_t *out);
/* Store n in a field of size bytes: uint16_t, uint32_t (and unsigned),
 * else uint64_t.  The range was checked before. */
void cfgv_store_uint(void *field, size_t size, uint64_t n);
/* n as an operator would write it in that kind: "1s", "64k", "40950ms". */
void cfgv_format(enum cfgv_kind kind, uint64_t n, char *buf, size_t len);
/* 1..CFG_NAME_MAX-1 of [A-Za-z0-9._-] (node and server names). */
bool cfgv_valid_name(const char *s);
/* Next item of a list separated by blanks and commas, copied into tok;
 * returns where to continue, or NULL at the end.  An item too long for
 * tok comes back as "" so the caller reports it as invalid. */
const char *cfgv_next_token(const char *s, char *tok, size_t len);
/* "a.b.c.d/len", len 1..32, address not 0.0.0.0; or "ipv6/len", len
 * 1..128, a global or unique-local unicast address (family says which;
 * text is canonical).  0 or -EINVAL. */
int cfgv_parse_vip(const char *tok, struct cfg_vip *vip);
/* Levenshtein distance (SIZE_MAX for strings of 64 bytes or more). */
size_t cfgv_edit_distance(const char *a, const char *b);

#endif
