/* http_parse.c: the HTTP/1.x request-head parser (RFC 9112 section 2-5).
 *
 * Two steps.  The scan runs as bytes arrive: it finds the empty line that
 * ends the head and rejects, as early as it can, what can never become a
 * valid head (a NUL, a CR not followed by LF, a LF not preceded by CR, a
 * method that is not a token), so that garbage such as a TLS ClientHello
 * on the HTTP port is answered at once instead of after a timeout.  Once
 * the head is complete, the parse takes the request line and the header
 * fields apart.  Every line is then known to end in CR LF, and every read
 * stays inside [start, len). */
#include "net/http_parse.h"

#include <string.h>
#include <strings.h>

#include "net/h1.h"
#include "net/net.h"

#define METHOD_MAX 32 /* longer methods are not methods */

/* What the header fields said, before it is committed to the head. */
struct fields {
	char *host, *host_end;
	bool content_length;  /* a Content-Length field was seen */
	bool body;            /* ... with a value other than 0 */
	bool transfer_coding; /* a Transfer-Encoding field was seen */
	bool close;           /* Connection: close */
};

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A character of the request-target: visible ASCII, no space. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static enum net_http_parse fail(struct net_http_head *h, int status)
{
	h->status = status;
	h->keep_alive = false;
	return NET_HTTP_PARSE_ERROR;
}

void net_http_head_reset(struct net_http_head *h)
{
	memset(h, 0, sizeof(*h));
}

/* Find the end of the head in buf[0..len), resuming where the last call
 * stopped.  Only local checks here: each needs the byte and the one
 * before it. */
static enum net_http_parse scan(const char *buf, size_t len, struct net_http_head *h)
{
	size_t end = len < NET_HTTP_MAX_HEAD ? len : NET_HTTP_MAX_HEAD;

	for (size_t i = h->scanned; i < end; i++) {
		unsigned char c = (unsigned char)buf[i];
		bool after_cr = i > 0 && buf[i - 1] == '\r';

		if (c == '\0' || (after_cr && c != '\n'))
			return fail(h, 400);
		if (c == '\n') {
			if (!after_cr)
				return fail(h, 400);
			if (h->started && i - h->line_start == 1) {
				h->len = i + 1;
				h->scanned = i + 1;
				return NET_HTTP_PARSE_DONE;
			}
			/* Empty lines before the request line are skipped
			 * (RFC 9112 section 2.2). */
			if (h->started)
				h->lines++;
			h->line_start = i + 1;
			continue;
		}
		if (!h->started && c != '\r') {
			h->started = true;
			h->start = i;
		}
		if (h->started && h->lines == 0 && !h->method_done) {
			if (c == ' ' && i > h->start)
				h->method_done = true;
			else if (!is_tchar(c) || i - h->start >= METHOD_MAX)
				return fail(h, 400);
		}
	}
	h->scanned = end;
	if (end == NET_HTTP_MAX_HEAD) {
		if (!h->started)
			return fail(h, 400);
		/* The request line alone does not fit: its target is too long. */
		return fail(h, h->lines == 0 ? 414 : 431);
	}
	return NET_HTTP_PARSE_MORE;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3).  A 1.x later than 1.1
 * is served as 1.1, as RFC 9110 section 6.2 asks; other majors get 505. */
static int parse_version(const char *v, size_t n, int *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	*minor = v[7] == '0' ? 0 : 1;
	return 0;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

static int field_host(char *v, char *ve, struct fields *f)
{
	if (f->host != NULL)
		return 400; /* RFC 9112 section 3.2: more than one Host */
	/* Empty, or an authority as the proxy's parser takes it; anything
	 * else is a 400 and never reaches a handler. */
	if (ve > v && !net_h1_authority_valid(v, (size_t)(ve - v)))
		return 400;
	f->host = v;
	f->host_end = ve;
	return 0;
}

/* Only "digits" is accepted: no sign, no list.  The value itself is never
 * converted, so no length the peer sends can overflow anything. */
static int field_content_length(const char *v, const char *ve, struct fields *f)
{
	if (f->content_length || v == ve)
		return 400;
	f->content_length = true;
	for (const char *p = v; p < ve; p++) {
		if (*p < '0' || *p > '9')
			return 400;
		if (*p != '0')
			f->body = true;
	}
	return 0;
}

static void field_connection(const char *v, const char *ve, struct fields *f)
{
	const char *p = v;

	while (p < ve) {
		const char *t = p, *te;

		while (p < ve && *p != ',')
			p++;
		te = p;
		while (t < te && is_ows(*t))
			t++;
		while (te > t && is_ows(te[-1]))
			te--;
		if (name_is(t, (size_t)(te - t), "close"))
			f->close = true;
		if (p < ve)
			p++;
	}
}

/* One field line, [line, eol). */
static int field(char *line, char *eol, struct fields *f)
{
	char *colon = line, *v, *ve;
	size_t n;

	/* Also rejects obs-fold (a line starting with white space) and white
	 * space before the colon (RFC 9112 section 5.1). */
	while (colon < eol && is_tchar((unsigned char)*colon))
		colon++;
	if (colon == line || colon == eol || *colon != ':')
		return 400;
	n = (size_t)(colon - line);
	v = colon + 1;
	ve = eol;
	while (v < ve && is_ows(*v))
		v++;
	while (ve > v && is_ows(ve[-1]))
		ve--;
	for (const char *p = v; p < ve; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 400;
	}
	if (name_is(line, n, "host"))
		return field_host(v, ve, f);
	if (name_is(line, n, "content-length"))
		return field_content_length(v, ve, f);
	if (name_is(line, n, "transfer-encoding")) {
		if (v == ve)
			return 400;
		f->transfer_coding = true;
	} else if (name_is(line, n, "connection")) {
		field_connection(v, ve, f);
	}
	return 0;
}

/* The complete head is buf[h->start .. h->len), every line ending in CR LF
 * (the scan made sure of it), the last line empty. */
static enum net_http_parse parse(char *buf, struct net_http_head *h)
{
	char *line = buf + h->start;
	char *end = buf + h->len - 2; /* the empty line */
	char *eol, *sp1, *sp2;
	struct fields f = {0};
	int minor = 0, st;

	eol = memchr(line, '\r', (size_t)(end - line));
	if (eol == NULL)
		return fail(h, 400);
	sp1 = memchr(line, ' ', (size_t)(eol - line));
	if (sp1 == NULL || sp1 == line)
		return fail(h, 400);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return fail(h, 400);
	for (const char *p = sp1 + 1; p < sp2; p++)
		if (!is_target_char((unsigned char)*p))
			return fail(h, 400);
	st = parse_version(sp2 + 1, (size_t)(eol - sp2 - 1), &minor);
	if (st != 0)
		return fail(h, st);

	for (line = eol + 2; line < end; line = eol + 2) {
		eol = memchr(line, '\r', (size_t)(end - line));
		if (eol == NULL)
			return fail(h, 400);
		st = field(line, eol, &f);
		if (st != 0)
			return fail(h, st);
	}
	/* Both framings at once is how requests are smuggled (RFC 9112
	 * section 6.1); either with a body is more than this engine reads. */
	if (f.transfer_coding && f.content_length)
		return fail(h, 400);
	if (f.transfer_coding || f.body)
		return fail(h, 413);

	*sp1 = '\0';
	*sp2 = '\0';
	h->method = buf + h->start;
	h->target = sp1 + 1;
	if (f.host != NULL) {
		*f.host_end = '\0';
		h->host = f.host;
	} else {
		h->host = "";
	}
	h->version_minor = minor;
	h->keep_alive = minor == 1 && !f.close;
	return NET_HTTP_PARSE_DONE;
}

enum net_http_parse net_http_parse_head(char *buf, size_t len, struct net_http_head *h)
{
	enum net_http_parse r = scan(buf, len, h);

	if (r != NET_HTTP_PARSE_DONE)
		return r;
	return parse(buf, h);
}
