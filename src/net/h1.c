/* h1.c: HTTP/1.1 message heads for the reverse proxy (RFC 9112, RFC 9110);
 * chunked bodies are h1_chunked.c's.
 *
 * The head is read by a state machine that resumes where the last call
 * stopped, so a head that arrives one byte per read costs little more than
 * one that arrives at once; within a line, each run of bytes that only
 * continues a part (method, target, name, value) is skipped in a tight loop
 * over a table of byte classes.  Every byte is checked as it comes (method
 * and field names are tokens, the target is visible ASCII, the version and
 * status line have a fixed shape, no bare CR or LF, no control bytes), so
 * that a TLS ClientHello or other garbage fails on its first byte instead
 * of after a timeout.  Each line is taken apart once, when its LF arrives;
 * what needs the whole head (Host present, the framing, the fields named by
 * Connection) is decided on the empty line. */
#include "net/h1.h"

#include <stddef.h>
#include <string.h>

#define METHOD_MAX 32                     /* longer methods are not methods */
#define CONN_TOKENS_MAX 32                /* Connection options per head */
#define LENGTH_MAX ((uint64_t)1 << 62)    /* largest Content-Length */

/* Where the scan is in the current line of the head. */
enum phase {
	P_START,   /* requests: before the request line (empty lines skipped) */
	P_METHOD,  /* request line: method */
	P_TARGET,  /* request line: request-target */
	P_VERSION, /* request line: HTTP-version */
	P_STATUS,  /* status line */
	P_NAME,    /* field line: name (or the empty line) */
	P_VALUE,   /* field line: value */
	P_CR,      /* a CR: LF must follow (the last phase) */
};

enum { S_SCAN, S_DONE, S_ERROR };

/* A marker of eol(): the head is complete. */
#define HEAD_DONE (-1)

#define DIGIT(c) ((c) >= '0' && (c) <= '9')
#define ALNUM(c) (DIGIT(c) || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define TCHAR(c)                                                                                  \
	(ALNUM(c) || (c) == '!' || ((c) >= '#' && (c) <= '\'') || (c) == '*' || (c) == '+' ||      \
	 (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define CLASS(c)                                                                                  \
	((TCHAR(c) ? NET_H1_TCHAR : 0) | ((c) > 0x20 && (c) < 0x7f ? NET_H1_TARGET : 0) |          \
	 ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f) ? NET_H1_VALUE : 0) |                         \
	 (DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F') ? NET_H1_HEX : 0) |  \
	 (ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' ? NET_H1_REGNAME : 0))
#define CLASS4(c) CLASS(c), CLASS((c) + 1), CLASS((c) + 2), CLASS((c) + 3)
#define CLASS16(c) CLASS4(c), CLASS4((c) + 4), CLASS4((c) + 8), CLASS4((c) + 12)
#define CLASS64(c) CLASS16(c), CLASS16((c) + 16), CLASS16((c) + 32), CLASS16((c) + 48)

/* Computed by the compiler from the definitions above. */
const unsigned char net_h1_class[256] = {CLASS64(0), CLASS64(64), CLASS64(128), CLASS64(192)};

/* The first byte in buf[i .. end) not of class k, or end. */
static size_t skip(const char *buf, size_t i, size_t end, unsigned k)
{
	while (i < end && (net_h1_class[(unsigned char)buf[i]] & k))
		i++;
	return i;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII case-insensitive comparison; no locale. */
static bool ascii_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x |= 0x20;
		if (y >= 'A' && y <= 'Z')
			y |= 0x20;
		if (x != y)
			return false;
	}
	return true;
}

/* [s, s + n) is the string literal want (lower case), ignoring case. */
#define IS_NAME(s, n, want) ((n) == sizeof(want) - 1 && ascii_ieq(s, want, n))

static bool all_tchar(const char *s, size_t n)
{
	return n > 0 && skip(s, 0, n, NET_H1_TCHAR) == n;
}

/* Narrow [*a, *b) in buf to leave out white space at both ends. */
static void trim(const char *buf, size_t *a, size_t *b)
{
	while (*a < *b && is_ows(buf[*a]))
		(*a)++;
	while (*b > *a && is_ows(buf[*b - 1]))
		(*b)--;
}

/* The next element of the comma-separated list in buf[*p .. end), white
 * space around it removed, as [*t, *te); false once the list is done.
 * *p starts at the beginning of the value: "" has one (empty) element,
 * "a," two. */
static bool list_next(const char *buf, size_t *p, size_t end, size_t *t, size_t *te)
{
	size_t a = *p, b = a;

	if (a > end)
		return false;
	while (b < end && buf[b] != ',')
		b++;
	*p = b + 1;
	trim(buf, &a, &b);
	*t = a;
	*te = b;
	return true;
}

static enum net_h1_result fail(struct net_h1_msg *m, bool response, int status)
{
	m->status = response ? 502 : status;
	m->keep_alive = false;
	m->upgrade = false;
	m->state = S_ERROR;
	return NET_H1_ERROR;
}

void net_h1_msg_reset(struct net_h1_msg *m)
{
	/* Everything but fields[] (2 KB, once per message on the proxy's
	 * path): an entry is written whole when its field is parsed, and
	 * only the first nfields are ever read. */
	memset(m, 0, offsetof(struct net_h1_msg, fields));
	memset(&m->nfields, 0, sizeof(*m) - offsetof(struct net_h1_msg, nfields));
	m->host_field = -1;
	m->upgrade_field = -1;
}

/* ---- the start line ------------------------------------------------------ */

bool net_h1_authority_valid(const char *p, size_t n)
{
	size_t i = 0, digits;

	if (n == 0)
		return false;
	if (p[0] == '[') {
		/* An IPv6 literal: hex digits, ":" and "." (an embedded IPv4),
		 * at least one ":"; no IPvFuture, no zone. */
		bool colon = false;

		for (i = 1; i < n && p[i] != ']'; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c == ':')
				colon = true;
			else if (c != '.' && !(net_h1_class[c] & NET_H1_HEX))
				return false;
		}
		if (i == n || i < 3 || i > 46 || !colon)
			return false;
		i++;
	} else {
		/* reg-name or IPv4address, as DNS names are written: no
		 * percent-encoding, no sub-delims, no userinfo. */
		i = skip(p, 0, n, NET_H1_REGNAME);
		if (i == 0)
			return false;
	}
	if (i == n)
		return true;
	if (p[i] != ':')
		return false;
	for (digits = 0, i++; i < n; i++, digits++)
		if (!DIGIT(p[i]))
			return false;
	return digits <= 5;
}

/* authority-form: uri-host ":" port (RFC 9112 section 3.2.3). */
static bool authority_form(const char *t, size_t n)
{
	const char *colon = n > 0 ? memrchr(t, ':', n) : NULL;

	return colon != NULL && colon < t + n - 1 && memchr(colon, ']', (size_t)(t + n - colon)) == NULL &&
	       net_h1_authority_valid(t, n);
}

/* absolute-form (RFC 9112 section 3.2.2), http and https only, with a
 * valid non-empty authority (so no userinfo: "@" is not in one). */
static bool absolute_form(const char *t, size_t n)
{
	size_t a, e;

	if (n >= 7 && ascii_ieq(t, "http://", 7))
		a = 7;
	else if (n >= 8 && ascii_ieq(t, "https://", 8))
		a = 8;
	else
		return false;
	for (e = a; e < n && t[e] != '/' && t[e] != '?'; e++)
		;
	return net_h1_authority_valid(t + a, e - a);
}

/* Which form the target has, and whether the method allows it. */
static int target_form(const char *buf, struct net_h1_msg *m)
{
	const char *t = buf + m->target, *meth = buf + m->method;
	size_t n = m->target_len;
	bool connect = m->method_len == 7 && memcmp(meth, "CONNECT", 7) == 0;
	bool options = m->method_len == 7 && memcmp(meth, "OPTIONS", 7) == 0;

	/* A fragment is never part of a request-target (RFC 9112 section 3.2). */
	if (memchr(t, '#', n) != NULL)
		return 400;
	if (connect) {
		if (!authority_form(t, n))
			return 400;
		m->target_form = NET_H1_AUTHORITY;
	} else if (t[0] == '/') {
		m->target_form = NET_H1_ORIGIN;
	} else if (n == 1 && t[0] == '*') {
		if (!options)
			return 400;
		m->target_form = NET_H1_ASTERISK;
	} else if (absolute_form(t, n)) {
		m->target_form = NET_H1_ABSOLUTE;
	} else {
		return 400;
	}
	return 0;
}

/* The request line is complete; the scan checked its shape: method SP
 * target SP "HTTP/" DIGIT "." DIGIT. */
static int request_line(const char *buf, struct net_h1_msg *m)
{
	const char *v = buf + m->target + m->target_len + 1;

	/* A 1.x later than 1.1 is 1.1 (RFC 9110 section 6.2); other majors
	 * are not this protocol. */
	if (v[5] != '1')
		return 505;
	m->version_minor = v[7] == '0' ? 0 : 1;
	return target_form(buf, m);
}

/* The status line [start, cr) is complete; the scan checked its shape:
 * "HTTP/" DIGIT "." DIGIT SP 3DIGIT [SP reason]. */
static int status_line(const char *buf, size_t cr, struct net_h1_msg *m)
{
	const char *s = buf + m->start;

	if (s[5] != '1')
		return 502;
	m->version_minor = s[7] == '0' ? 0 : 1;
	m->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (m->status < 100 || m->status > 599)
		return 502;
	m->reason = (uint32_t)(cr > m->start + 12 ? m->start + 13 : cr);
	m->reason_len = (uint32_t)(cr - m->reason);
	return 0;
}

/* ---- header fields ------------------------------------------------------- */

static bool is_hop_name(const char *s, size_t n)
{
	return IS_NAME(s, n, "connection") || IS_NAME(s, n, "keep-alive") ||
	       IS_NAME(s, n, "proxy-connection") || IS_NAME(s, n, "te") ||
	       IS_NAME(s, n, "transfer-encoding") || IS_NAME(s, n, "upgrade") ||
	       IS_NAME(s, n, "trailer");
}

/* Digits only: no sign, no list, no white space inside; at most 2^62.
 * Nothing else is ever done with the value than framing. */
static int field_content_length(const char *buf, size_t v, size_t ve, struct net_h1_msg *m)
{
	uint64_t n = 0;

	if (m->cl_seen || v == ve)
		return 400;
	for (size_t i = v; i < ve; i++) {
		unsigned d = (unsigned char)buf[i] - '0';

		if (d > 9 || n > (LENGTH_MAX - d) / 10)
			return 400;
		n = n * 10 + d;
	}
	m->cl_seen = true;
	m->content_length = n;
	return 0;
}

/* The codings of all Transfer-Encoding fields form one list (RFC 9112
 * section 6.1), which must be exactly "chunked": nothing may follow
 * chunked (not even chunked again), and what precedes it is a coding we
 * do not implement (501).  Without chunked at all, where the body ends
 * cannot be known: 400, found when the head is complete. */
static int field_transfer_encoding(const char *buf, size_t v, size_t ve, struct net_h1_msg *m)
{
	size_t p = v, t, te;

	/* RFC 9112 section 6.1: HTTP/1.0 framing is faulty with it. */
	if (m->version_minor == 0)
		return 400;
	m->te_seen = true;
	while (list_next(buf, &p, ve, &t, &te)) {
		if (!all_tchar(buf + t, te - t) || m->te_chunked)
			return 400;
		if (IS_NAME(buf + t, te - t, "chunked"))
			m->te_chunked = true;
		else
			m->te_other = true;
	}
	return 0;
}

/* Connection options (RFC 9110 section 7.6.1); the fields they name are
 * marked hop-by-hop once the head is complete. */
static int field_connection(const char *buf, size_t v, size_t ve, struct net_h1_msg *m)
{
	size_t p = v, t, te;

	while (list_next(buf, &p, ve, &t, &te)) {
		const char *s = buf + t;
		size_t n = te - t;

		if (n == 0)
			continue; /* empty elements are allowed (RFC 9110 section 5.6.1) */
		if (!all_tchar(s, n) || ++m->conn_tokens > CONN_TOKENS_MAX)
			return 400;
		/* Dropping these would change how the next hop routes or
		 * frames the message: no honest sender lists them. */
		if (IS_NAME(s, n, "host") || IS_NAME(s, n, "content-length"))
			return 400;
		if (IS_NAME(s, n, "close"))
			m->conn_close = true;
		else if (IS_NAME(s, n, "keep-alive"))
			m->conn_keep_alive = true;
		else if (IS_NAME(s, n, "upgrade"))
			m->conn_upgrade = true;
	}
	return 0;
}

/* The field line [line_start, cr) is complete, its name (a token) before
 * m->colon, every byte of its value checked. */
static int field_line(const char *buf, size_t cr, bool response, struct net_h1_msg *m)
{
	size_t v = m->colon + 1, ve = cr, idx = m->nfields;
	struct net_h1_field *f;
	const char *name = buf + m->line_start;
	size_t n = m->colon - m->line_start;

	if (idx == NET_H1_MAX_FIELDS)
		return 431;
	trim(buf, &v, &ve);
	f = &m->fields[idx];
	f->name = (uint32_t)m->line_start;
	f->name_len = (uint32_t)n;
	f->value = (uint32_t)v;
	f->value_len = (uint32_t)(ve - v);
	f->hop = is_hop_name(name, n);
	m->nfields++;

	if (IS_NAME(name, n, "content-length"))
		return field_content_length(buf, v, ve, m);
	if (IS_NAME(name, n, "transfer-encoding"))
		return field_transfer_encoding(buf, v, ve, m);
	if (IS_NAME(name, n, "connection"))
		return field_connection(buf, v, ve, m);
	if (IS_NAME(name, n, "upgrade")) {
		if (m->upgrade_field < 0)
			m->upgrade_field = (int)idx;
	} else if (IS_NAME(name, n, "host") && !response) {
		/* RFC 9112 section 3.2: more than one Host, or an invalid one */
		if (m->host_field >= 0)
			return 400;
		/* Empty is allowed: a target without an authority (RFC 9112
		 * section 3.2). */
		if (ve > v && !net_h1_authority_valid(buf + v, ve - v))
			return 400;
		m->host_field = (int)idx;
	} else if (IS_NAME(name, n, "expect") && !response) {
		if (IS_NAME(buf + v, ve - v, "100-continue"))
			m->expect_continue = true;
	}
	return 0;
}

/* Every field named by a Connection option is hop-by-hop. */
static void mark_connection_options(const char *buf, struct net_h1_msg *m)
{
	for (size_t i = 0; i < m->nfields; i++) {
		const struct net_h1_field *c = &m->fields[i];
		size_t p = c->value, end = (size_t)c->value + c->value_len, t, te;

		if (!IS_NAME(buf + c->name, c->name_len, "connection"))
			continue;
		while (list_next(buf, &p, end, &t, &te)) {
			if (t == te)
				continue;
			for (size_t j = 0; j < m->nfields; j++) {
				struct net_h1_field *f = &m->fields[j];

				if (f->name_len == te - t && ascii_ieq(buf + f->name, buf + t, te - t))
					f->hop = true;
			}
		}
	}
}

/* ---- the complete head --------------------------------------------------- */

/* The framing of a complete head, and the rest that needs all of it but
 * Connection's options and keep_alive (eol() does those for both). */
static int finish_request(struct net_h1_msg *m)
{
	if (m->version_minor == 1 && m->host_field < 0)
		return 400;
	/* Both framings at once is how requests are smuggled (RFC 9112
	 * section 6.1). */
	if (m->te_seen && m->cl_seen)
		return 400;
	if (m->te_seen) {
		if (!m->te_chunked)
			return 400; /* RFC 9112 section 6.3: length unknown */
		if (m->te_other)
			return 501;
		m->framing = NET_H1_CHUNKED;
	} else if (m->cl_seen) {
		m->framing = NET_H1_LENGTH;
	} else {
		m->framing = NET_H1_NO_BODY;
	}
	/* RFC 9110 section 7.8: Upgrade in an HTTP/1.0 request is ignored. */
	m->upgrade = m->version_minor == 1 && m->conn_upgrade && m->upgrade_field >= 0;
	return 0;
}

static int finish_response(const char *req_method, size_t req_method_len, struct net_h1_msg *m)
{
	bool head = req_method_len == 4 && memcmp(req_method, "HEAD", 4) == 0;
	bool connect = req_method_len == 7 && memcmp(req_method, "CONNECT", 7) == 0;
	int s = m->status;

	/* The proxy forwards the body as it comes: only a framing it can
	 * follow byte by byte is accepted. */
	if (m->te_seen && (m->cl_seen || !m->te_chunked || m->te_other))
		return 502;
	/* RFC 9110 section 15.2.2: a 101 says what it switches to. */
	if (s == 101 && m->upgrade_field < 0)
		return 502;
	if (s < 200 || s == 204 || s == 304 || head || (connect && s < 300))
		m->framing = NET_H1_NO_BODY;
	else if (m->te_seen)
		m->framing = NET_H1_CHUNKED;
	else if (m->cl_seen)
		m->framing = NET_H1_LENGTH;
	else
		m->framing = NET_H1_TO_CLOSE;
	m->body_declared = m->te_seen || (m->cl_seen && m->content_length > 0);
	m->upgrade = s == 101;
	return 0;
}

/* ---- the scan ------------------------------------------------------------ */

/* The LF at i ends a line (buf[i - 1] is its CR): 0 to go on, HEAD_DONE,
 * or an error status. */
static int eol(const char *buf, size_t i, bool response, const char *req_method,
	       size_t req_method_len, struct net_h1_msg *m)
{
	int st;

	if (!m->started) {
		/* An empty line before the request line (RFC 9112 section 2.2). */
		m->line_start = i + 1;
		m->phase = P_START;
		return 0;
	}
	if (!m->line1_done) {
		st = response ? status_line(buf, i - 1, m) : request_line(buf, m);
		if (st != 0)
			return st;
		m->line1_done = true;
	} else if (i - 1 == m->line_start) {
		m->head_len = i + 1;
		st = response ? finish_response(req_method, req_method_len, m) : finish_request(m);
		if (st != 0)
			return st;
		mark_connection_options(buf, m);
		/* 1.1 unless "close", 1.0 only with "keep-alive"; never when the
		 * body ends with the connection. */
		m->keep_alive = (m->version_minor == 1 || m->conn_keep_alive) && !m->conn_close &&
				m->framing != NET_H1_TO_CLOSE;
		return HEAD_DONE;
	} else {
		st = field_line(buf, i - 1, response, m);
		if (st != 0)
			return st;
	}
	m->line_start = i + 1;
	m->phase = P_NAME;
	return 0;
}

/* Whether byte c at position pos of a shape such as "HTTP/d.d" fits. */
static bool fits(const char *shape, size_t pos, unsigned char c)
{
	return shape[pos] == 'd' ? DIGIT(c) : c == (unsigned char)shape[pos];
}

/* The bytes that only continue the part of the line being read, by phase:
 * parse() runs over them in a tight loop, step() sees the byte that ends
 * the part.  (The reason phrase only from its 14th byte on.) */
static const unsigned char run_class[P_CR + 1] = {
	[P_METHOD] = NET_H1_TCHAR, [P_TARGET] = NET_H1_TARGET, [P_STATUS] = NET_H1_VALUE,
	[P_NAME] = NET_H1_TCHAR,   [P_VALUE] = NET_H1_VALUE,
};

/* One byte of the head, c = buf[i]: 0 to go on, HEAD_DONE, or an error
 * status.  Only local checks: each needs no more than the line so far.
 * Runs of run_class bytes do not come here. */
static int step(const char *buf, size_t i, bool response, const char *req_method,
		size_t req_method_len, struct net_h1_msg *m)
{
	unsigned char c = (unsigned char)buf[i];
	size_t pos;

	switch (m->phase) {
	case P_START:
		if (c == '\r') {
			m->phase = P_CR;
			return 0;
		}
		m->started = true;
		m->start = i;
		m->line_start = i;
		m->method = (uint32_t)i;
		m->phase = P_METHOD;
		/* fall through */
	case P_METHOD:
		if (c == ' ' && i > m->start) {
			m->method_len = (uint32_t)(i - m->start);
			m->target = (uint32_t)(i + 1);
			m->phase = P_TARGET;
		} else if (!(net_h1_class[c] & NET_H1_TCHAR) || i - m->start >= METHOD_MAX) {
			return 400;
		}
		return 0;
	case P_TARGET:
		if (c == ' ' && i > m->target) {
			m->target_len = (uint32_t)(i - m->target);
			m->phase = P_VERSION;
		} else if (!(net_h1_class[c] & NET_H1_TARGET)) {
			return 400;
		}
		return 0;
	case P_VERSION:
		pos = i - (m->target + m->target_len + 1);
		if (pos == 8 && c == '\r')
			m->phase = P_CR;
		else if (pos >= 8 || !fits("HTTP/d.d", pos, c))
			return 400;
		return 0;
	case P_STATUS:
		pos = i - m->start;
		if (pos >= 12 && c == '\r')
			m->phase = P_CR; /* an empty reason, with or without its SP */
		else if (pos < 12 ? !fits("HTTP/d.d ddd", pos, c) :
				    pos == 12 ? c != ' ' : !(net_h1_class[c] & NET_H1_VALUE))
			return 502;
		return 0;
	case P_NAME:
		/* A line starting with white space (obs-fold, or white
		 * space after the start line) and white space before the
		 * colon are errors (RFC 9112 sections 2.2 and 5.1). */
		if (c == '\r' && i == m->line_start)
			m->phase = P_CR;
		else if (c == ':' && i > m->line_start) {
			m->colon = i;
			m->phase = P_VALUE;
		} else if (!(net_h1_class[c] & NET_H1_TCHAR)) {
			return 400;
		}
		return 0;
	case P_VALUE:
		if (c == '\r')
			m->phase = P_CR;
		else if (!(net_h1_class[c] & NET_H1_VALUE))
			return 400; /* NUL, other controls, DEL, bare LF */
		return 0;
	default: /* P_CR */
		if (c != '\n')
			return 400; /* a bare CR */
		return eol(buf, i, response, req_method, req_method_len, m);
	}
}

static enum net_h1_result parse(const char *buf, size_t len, size_t max_head, bool response,
				const char *req_method, size_t req_method_len,
				struct net_h1_msg *m)
{
	size_t limit = max_head < NET_H1_MAX_HEAD ? max_head : NET_H1_MAX_HEAD;
	size_t end = len < limit ? len : limit;

	if (m->state == S_DONE)
		return NET_H1_DONE;
	if (m->state == S_ERROR)
		return NET_H1_ERROR;
	if (response && !m->started) {
		/* No empty lines before a status line: it starts at once. */
		m->started = true;
		m->phase = P_STATUS;
	}
	for (size_t i = m->scanned; i < end; i++) {
		/* Runs end at METHOD_MAX bytes of a method: step() rejects more. */
		size_t stop = m->phase == P_METHOD && end - m->start > METHOD_MAX ?
				      m->start + METHOD_MAX : end;
		int st;

		if (m->phase != P_STATUS || i - m->start > 12)
			i = skip(buf, i, stop, run_class[m->phase]);
		if (i == end)
			break;
		st = step(buf, i, response, req_method, req_method_len, m);
		if (st == HEAD_DONE) {
			m->scanned = i + 1;
			m->state = S_DONE;
			return NET_H1_DONE;
		}
		if (st != 0) {
			m->scanned = i + 1;
			return fail(m, response, st);
		}
	}
	if (end > m->scanned)
		m->scanned = end;
	if (end == limit) {
		/* Nothing past limit is looked at: the head cannot end. */
		if (!m->started)
			return fail(m, response, 400);
		return fail(m, response, m->line1_done ? 431 : 414);
	}
	return NET_H1_MORE;
}

enum net_h1_result net_h1_parse_request(const char *buf, size_t len, size_t max_head,
					struct net_h1_msg *m)
{
	return parse(buf, len, max_head, false, NULL, 0, m);
}

enum net_h1_result net_h1_parse_response(const char *buf, size_t len, size_t max_head,
					 const char *req_method, size_t req_method_len,
					 struct net_h1_msg *m)
{
	if (req_method == NULL)
		req_method_len = 0;
	return parse(buf, len, max_head, true, req_method, req_method_len, m);
}

int net_h1_find(const struct net_h1_msg *m, const char *buf, const char *name, size_t from)
{
	size_t n = strlen(name);

	for (size_t i = from; i < m->nfields; i++)
		if (m->fields[i].name_len == n && ascii_ieq(buf + m->fields[i].name, name, n))
			return (int)i;
	return -1;
}
