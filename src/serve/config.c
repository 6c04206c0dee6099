/* config.c: reading the configuration of `moat serve` (config.h; the format
 * is in docs/serve.md).  A line is split into words, its directive is looked
 * up in one table that knows its scope, argument count and parser
 * (config_values.c), and every error names FILE:LINE; an unknown directive
 * gets the closest known one as a hint.  Also the command-line form of a
 * site (serve_config_add_arg) and serve_config_init/_free; the checks of the
 * whole configuration are in config_check.c. */
#include "serve/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/file.h"
#include "serve/config_int.h"

#define CFG_ARG_MAX 8192 /* a command-line site */

/* ---- sites -------------------------------------------------------------- */

/* Room for one more site, the array doubling at each power of two. */
static struct serve_site *new_site(struct serve_config *c, struct moat_err *err)
{
	struct serve_site *s;
	size_t n = c->nsites;

	if (n >= SERVE_MAX_SITES) {
		moat_err_set(err, "too many sites (at most %d)", SERVE_MAX_SITES);
		return NULL;
	}
	if (n == 0 || (n & (n - 1)) == 0) {
		s = realloc(c->sites, (n == 0 ? 1 : 2 * n) * sizeof(*s));
		if (s == NULL) {
			moat_err_set(err, "out of memory");
			return NULL;
		}
		c->sites = s;
	}
	s = &c->sites[c->nsites++];
	memset(s, 0, sizeof(*s));
	s->cert = SERVE_CERT_DEFAULT;
	s->redirect = -1;
	s->hsts_max_age = -1;
	return s;
}

int serve_config_add_arg(struct serve_config *c, const char *arg, struct moat_err *err)
{
	char buf[CFG_ARG_MAX], show[96];
	char *names[SERVE_MAX_NAMES + 1], *eq, *tok, *save = NULL;
	struct serve_upstream up;
	struct serve_site *s;
	size_t n = 0;
	int ret = -1;

	moat_escape(show, sizeof(show), arg, strlen(arg));
	if (strlen(arg) >= sizeof(buf)) {
		moat_err_set(err, "invalid site \"%s\": too long", show);
		return -1;
	}
	memcpy(buf, arg, strlen(arg) + 1);
	eq = strchr(buf, '=');
	if (eq == NULL || eq == buf) {
		moat_err_set(err, "invalid site \"%s\": %s", show,
			     eq == NULL ? "no '=' between the names and the upstream" : "no name");
		moat_err_hint(err, "give NAME=http://HOST:PORT, e.g. "
				   "chat.example.com=http://127.0.0.1:3000");
		return -1;
	}
	*eq = '\0';
	if (buf[0] == ',' || eq[-1] == ',' || strstr(buf, ",,") != NULL) {
		moat_err_set(err, "invalid site \"%s\": an empty name", show);
		moat_err_hint(err, "separate names with single commas: a.example,b.example=http://...");
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == SERVE_MAX_NAMES) {
			moat_err_set(err, "invalid site \"%s\": more than %d names", show,
				     SERVE_MAX_NAMES);
			return -1;
		}
		names[n++] = tok;
	}
	if (serve_cfg_parse_upstream(eq + 1, &up, err) != 0 || (s = new_site(c, err)) == NULL)
		goto out;
	s->upstreams[s->nupstreams++] = up;
	if (serve_cfg_add_names(s, names, n, err) != 0) {
		c->nsites--; /* not a site after all */
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		moat_err_prefix(err, "invalid site \"%s\"", show);
	return ret;
}

/* What other servers call these (nginx, Caddy), for the hint. */
static const char *const aliases[][2] = {
	{"server", "site"},
	{"server_name", "site"},
	{"proxy_pass", "upstream"},
	{"reverse_proxy", "upstream"},
	{"add_header", "header"},
	{"ssl_certificate", "cert files"},
	{"ssl_certificate_key", "cert files"},
	{"tls", "cert"},
	{"email", "acme-email"},
};

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static int unknown(struct serve_cfg_parser *p, const char *word)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX, len = strlen(word);
	bool alias = false;
	char show[96];

	moat_escape(show, sizeof(show), word, len);
	moat_err_set(p->err, "unknown directive \"%s\"", show);
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(word, aliases[i][0]) == 0) {
			best = aliases[i][1];
			alias = true;
		}
	for (size_t i = 0; i <= serve_cfg_ndirectives && !alias; i++) {
		const char *name =
			i < serve_cfg_ndirectives ? serve_cfg_directives[i].name : "site";
		size_t dd = distance(word, name);

		if (dd < bd && (dd <= 2 || dd * 3 <= len)) {
			bd = dd;
			best = name;
		}
	}
	if (best != NULL)
		moat_err_hint(p->err, "did you mean \"%s\"?", best);
	else
		moat_err_hint(p->err, "docs/serve.md lists the directives");
	return -1;
}

/* ---- the file ----------------------------------------------------------- */

/* Words separated by spaces and tabs; "quoted" words with \" and \\; a '#'
 * outside quotes starts a comment. */
static int tokenize(struct serve_cfg_parser *p, const char *s, size_t len)
{
	struct serve_cfg_line *l = &p->l;
	size_t i = 0, o = 0;

	l->n = 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)s[k];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			moat_err_set(p->err, "control character \\x%02x in the line", ch);
			return -1;
		}
	}
	while (i < len) {
		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		if (l->n == SERVE_CFG_TOKENS_MAX) {
			moat_err_set(p->err, "too many words on one line (at most %d)",
				     SERVE_CFG_TOKENS_MAX);
			return -1;
		}
		l->tok[l->n] = l->buf + o;
		l->quoted[l->n] = s[i] == '"';
		if (s[i] == '"') {
			for (i++;; i++) {
				if (i == len) {
					moat_err_set(p->err, "a quoted string is not closed");
					moat_err_hint(p->err, "end it with \" on the same line");
					return -1;
				}
				if (s[i] == '"')
					break;
				if (s[i] == '\\' && (i + 1 == len || (s[i + 1] != '"' && s[i + 1] != '\\'))) {
					moat_err_set(p->err, "a backslash in a quoted string must be "
							     "followed by \" or \\");
					moat_err_hint(p->err, "write \\\\ for a backslash");
					return -1;
				}
				if (s[i] == '\\')
					i++;
				l->buf[o++] = s[i];
			}
			i++;
			if (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#') {
				moat_err_set(p->err, "text right after a closing quote");
				moat_err_hint(p->err, "put a space between words");
				return -1;
			}
		} else {
			for (; i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#'; i++) {
				if (s[i] == '"') {
					moat_err_set(p->err, "a quote in the middle of a word");
					moat_err_hint(p->err, "quote the whole word, as in "
							      "\"default-src 'self'\"");
					return -1;
				}
				l->buf[o++] = s[i];
			}
		}
		l->buf[o++] = '\0';
		l->n++;
	}
	return 0;
}

static bool is_word(const struct serve_cfg_line *l, size_t i, const char *w)
{
	return i < l->n && !l->quoted[i] && strcmp(l->tok[i], w) == 0;
}

static int open_site(struct serve_cfg_parser *p)
{
	struct serve_cfg_line *l = &p->l;
	const char *last = l->tok[l->n - 1];
	struct serve_site *s;

	if (p->site != NULL) {
		moat_err_set(p->err, "site blocks cannot be nested (the site on line %d is still "
				     "open)", p->site->line);
		moat_err_hint(p->err, "close it with a line holding only }");
		return -1;
	}
	if (!is_word(l, l->n - 1, "{")) {
		moat_err_set(p->err, "a site line must end with {");
		if (!l->quoted[l->n - 1] && strlen(last) > 1 && last[strlen(last) - 1] == '{')
			moat_err_hint(p->err, "put a space before the {");
		else
			moat_err_hint(p->err, "site chat.example.com {");
		return -1;
	}
	if (l->n == 2) {
		moat_err_set(p->err, "a site needs at least one name");
		moat_err_hint(p->err, "site chat.example.com {");
		return -1;
	}
	if ((s = new_site(p->c, p->err)) == NULL)
		return -1;
	s->line = p->line;
	p->site = s;
	memset(p->seen_site, 0, sizeof(p->seen_site));
	return serve_cfg_add_names(s, l->tok + 1, l->n - 2, p->err);
}

static int close_site(struct serve_cfg_parser *p)
{
	struct serve_site *s = p->site;

	if (s == NULL) {
		moat_err_set(p->err, "} without a site block to close");
		return -1;
	}
	if (s->nupstreams == 0) {
		p->line = s->line;
		moat_err_set(p->err, "site %s has no upstream", s->names[0]);
		moat_err_hint(p->err, "add e.g. \"upstream http://127.0.0.1:3000\" to the block");
		return -1;
	}
	p->site = NULL;
	return 0;
}

static const struct serve_cfg_directive *lookup(const struct serve_cfg_line *l)
{
	for (size_t i = 0; i < serve_cfg_ndirectives; i++)
		if (!l->quoted[0] && strcmp(l->tok[0], serve_cfg_directives[i].name) == 0)
			return &serve_cfg_directives[i];
	return NULL;
}

static int parse_line(struct serve_cfg_parser *p, const char *raw, size_t len)
{
	struct serve_cfg_line *l = &p->l;
	const struct serve_cfg_directive *d;
	int *seen;
	size_t ac;

	if (tokenize(p, raw, len) != 0)
		return -1;
	if (l->n == 0)
		return 0;
	if (is_word(l, 0, "}") && l->n == 1)
		return close_site(p);
	for (size_t i = 0; i < l->n; i++) {
		if (is_word(l, i, "}")) {
			moat_err_set(p->err, "} must be alone on its line");
			return -1;
		}
		if (is_word(l, i, "{") && !(is_word(l, 0, "site") && i == l->n - 1)) {
			if (i > 0 && i == l->n - 1 && lookup(l) == NULL) /* "sites x {" */
				return unknown(p, l->tok[0]);
			moat_err_set(p->err, "{ only ends a site line");
			moat_err_hint(p->err, "site chat.example.com {   (the { on the same line)");
			return -1;
		}
	}
	if (is_word(l, 0, "site"))
		return open_site(p);
	if ((d = lookup(l)) == NULL)
		return unknown(p, l->tok[0]);
	if (p->site == NULL && !(d->flags & SERVE_CFG_GLOBAL)) {
		moat_err_set(p->err, "%s belongs in a site block", d->name);
		moat_err_hint(p->err, "move it into a site block (usage: %s)", d->usage);
		return -1;
	}
	if (p->site != NULL && !(d->flags & SERVE_CFG_SITE)) {
		moat_err_set(p->err, "%s is global: it cannot be set for one site", d->name);
		moat_err_hint(p->err, "move it above the site blocks");
		return -1;
	}
	seen = &(p->site != NULL ? p->seen_site : p->seen_global)[d - serve_cfg_directives];
	if (*seen != 0 && !(d->flags & SERVE_CFG_REPEAT)) {
		moat_err_set(p->err, "%s is given twice (first on line %d)", d->name, *seen);
		if (strcmp(d->name, "upstream") == 0)
			moat_err_hint(p->err, "list all upstreams on one line");
		return -1;
	}
	*seen = p->line;
	ac = l->n - 1;
	if (ac < d->min || ac > d->max) {
		if (d->min == d->max)
			moat_err_set(p->err, "%s takes %zu argument%s (got %zu)", d->name, d->min,
				     d->min == 1 ? "" : "s", ac);
		else
			moat_err_set(p->err, "%s takes %zu to %zu arguments (got %zu)", d->name,
				     d->min, d->max, ac);
		moat_err_hint(p->err, "%s", d->usage);
		return -1;
	}
	if (d->fn(p, d, l->tok + 1, ac) != 0) {
		if (p->err != NULL && p->err->hint[0] == '\0')
			moat_err_hint(p->err, "%s", d->usage);
		return -1;
	}
	return 0;
}

int serve_config_load(struct serve_config *c, const char *path, struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct serve_cfg_parser *p;
	const char *s, *end, *slash;
	bool at_line = false; /* the error is about a line: prefix FILE:LINE */
	int ret = -1;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	p->c = c;
	p->err = err;
	if (strlen(path) >= sizeof(c->file)) {
		moat_err_set(err, "the path of the configuration file is too long");
		goto out;
	}
	if (moat_file_read(path, SERVE_MAX_CONFIG, &b, err) != 0)
		goto out;
	snprintf(c->file, sizeof(c->file), "%s", path);
	slash = strrchr(path, '/');
	if (slash != NULL)
		snprintf(p->dir, sizeof(p->dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	s = (const char *)b.data;
	end = s + b.len;
	if (b.len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark */
		s += 3;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl != NULL ? nl : end) - s);

		p->line++;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		at_line = true;
		if (len > SERVE_CFG_LINE_MAX) {
			moat_err_set(err, "the line is longer than %d bytes", SERVE_CFG_LINE_MAX);
			goto out;
		}
		if (parse_line(p, s, len) != 0)
			goto out;
		s = nl != NULL ? nl + 1 : end;
	}
	if (p->site != NULL) {
		at_line = true;
		p->line = p->site->line;
		moat_err_set(err, "the site block is not closed");
		moat_err_hint(err, "end it with a line holding only }");
		goto out;
	}
	ret = 0;
out:
	if (ret != 0 && at_line)
		moat_err_prefix(err, "%s:%d", c->file, p->line);
	moat_buf_free(&b);
	free(p);
	return ret;
}

/* ---- the whole configuration ------------------------------------------- */

void serve_config_init(struct serve_config *c)
{
	memset(c, 0, sizeof(*c));
	c->http_port = 80;
	c->https_port = 443;
	c->cert = SERVE_CERT_LOCAL;
	snprintf(c->acme_challenge, sizeof(c->acme_challenge), "http-01");
	c->redirect = true;
	c->max_header_size = 16384;
	c->header_timeout_ms = 10000;
	c->idle_timeout_ms = 75000;
	c->upstream_connect_timeout_ms = 5000;
	c->upstream_timeout_ms = 60000;
	c->send_timeout_ms = 60000;
	c->max_connections = 20000;
	c->access_log_format = SERVE_LOG_COMBINED;
}

void serve_config_free(struct serve_config *c)
{
	if (c == NULL)
		return;
	free(c->sites);
	c->sites = NULL;
	c->nsites = 0;
}
