/* resp.c: what a response leaves in struct fetch_resp -- the header lines
 * the caller asked for, capped in number and size -- and freeing it.  No
 * libcurl here: the lines come from the peer, and fuzz/ reads them
 * through this file too. */
#include "fetch/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The spelling in q->want of the header name (len bytes), or NULL. */
static const char *wanted(const struct fetch_req *q, const char *name, size_t len)
{
	if (q == NULL || q->want == NULL)
		return NULL;
	for (const char *const *w = q->want; *w != NULL; w++)
		if (strlen(*w) == len && strncasecmp(*w, name, len) == 0)
			return *w;
	return NULL;
}

static void drop_fields(struct fetch_resp *r)
{
	for (size_t i = 0; i < r->nfields; i++)
		free(r->fields[i].value);
	memset(r->fields, 0, sizeof(r->fields));
	r->nfields = 0;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

void fetch_resp_header_line(const struct fetch_req *q, struct fetch_resp *r, const char *line,
			    size_t len)
{
	const char *colon, *name, *v;
	struct fetch_field *f;
	size_t vlen;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue, or a redirect that is
		 * followed): only its own fields count. */
		drop_fields(r);
		return;
	}
	if ((colon = memchr(line, ':', len)) == NULL || colon == line ||
	    (name = wanted(q, line, (size_t)(colon - line))) == NULL ||
	    r->nfields == FETCH_MAX_FIELDS)
		return;
	v = colon + 1;
	vlen = len - (size_t)(v - line);
	while (vlen > 0 && blank(*v)) {
		v++;
		vlen--;
	}
	while (vlen > 0 && blank(v[vlen - 1]))
		vlen--;
	if (vlen >= FETCH_MAX_VALUE)
		return; /* too long for anything moat reads: dropped, never cut */
	f = &r->fields[r->nfields];
	if ((f->value = malloc(vlen + 1)) == NULL)
		return;
	memcpy(f->value, v, vlen);
	f->value[vlen] = '\0';
	snprintf(f->name, sizeof(f->name), "%s", name);
	r->nfields++;
}

const char *fetch_resp_header(const struct fetch_resp *r, const char *name)
{
	for (size_t i = r->nfields; i > 0; i--)
		if (strcasecmp(r->fields[i - 1].name, name) == 0)
			return r->fields[i - 1].value;
	return NULL;
}

void fetch_resp_clear(struct fetch_resp *r)
{
	if (r == NULL)
		return;
	moat_buf_free(&r->body);
	drop_fields(r);
	memset(r, 0, sizeof(*r));
}
