/* config_int.h: what the three files of the `moat serve` configuration
 * share -- config.c (reading the file: words, blocks, scopes, errors),
 * config_values.c (the directive table and the value parsers) and
 * config_check.c (the whole configuration).  Private to them; the API is
 * config.h. */
#ifndef MOAT_SERVE_CONFIG_INT_H
#define MOAT_SERVE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "serve/config.h"

#define SERVE_CFG_LINE_MAX 4096     /* bytes of one line */
#define SERVE_CFG_TOKENS_MAX 128    /* words on one line: "site", 100 names, "{" fit */
#define SERVE_CFG_MAX_DIRECTIVES 32 /* room in seen_global/seen_site */
#define SERVE_CFG_MAX_WORKERS 256

/* Where a directive may appear; may it repeat; a number's unit (d_number:
 * milliseconds from a duration, bytes from a size, else a plain number). */
enum { SERVE_CFG_GLOBAL = 1, SERVE_CFG_SITE = 2, SERVE_CFG_REPEAT = 4, SERVE_CFG_MS = 8,
       SERVE_CFG_BYTES = 16 };

struct serve_cfg_line {
	size_t n;
	char *tok[SERVE_CFG_TOKENS_MAX];
	bool quoted[SERVE_CFG_TOKENS_MAX];
	char buf[SERVE_CFG_LINE_MAX + 1]; /* the words, unescaped, NUL-separated */
};

struct serve_cfg_parser {
	struct serve_config *c;
	struct moat_err *err;
	char dir[4096];          /* of the file, for relative paths; "" for none */
	int line;
	struct serve_site *site; /* the open block, or NULL */
	/* the line where each directive was given, 0 if not */
	int seen_global[SERVE_CFG_MAX_DIRECTIVES];
	int seen_site[SERVE_CFG_MAX_DIRECTIVES];
	struct serve_cfg_line l;
};

struct serve_cfg_directive {
	const char *name;
	int flags;       /* SERVE_CFG_GLOBAL | SERVE_CFG_SITE | SERVE_CFG_REPEAT, _MS, _BYTES */
	size_t min, max; /* arguments */
	long lo, hi;     /* range of a number */
	size_t off;      /* of the field in struct serve_config */
	int (*fn)(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		  size_t ac);
	const char *usage;
};

/* config_values.c: every directive, by name (at most SERVE_CFG_MAX_DIRECTIVES). */
extern const struct serve_cfg_directive serve_cfg_directives[];
extern const size_t serve_cfg_ndirectives;

/* http://HOST[:PORT][/] into u; errors say "upstream: ...". */
int serve_cfg_parse_upstream(const char *url, struct serve_upstream *u, struct moat_err *err);
/* http-01 or tls-alpn-01. */
bool serve_cfg_challenge_ok(const char *s);
/* Add names to a site, normalised, each once (at most SERVE_MAX_NAMES). */
int serve_cfg_add_names(struct serve_site *s, char *const *names, size_t n,
			struct moat_err *err);

#endif
