/* h1.h: HTTP/1.1 message heads and body framing, for every server moat
 * runs (h1_server.c) and for the proxy's upstream side (RFC 9110, RFC 9112).
 *
 * It reads requests AND responses with bodies, keeps every header field (as
 * offsets into the caller's buffer, which is never modified), and decides
 * the framing of the body that follows, strictly: whatever could let a
 * front end and a back end disagree about where a message ends (request
 * smuggling) is an error.
 *
 * The buffer holds the head at its front and grows as bytes arrive; call
 * the parser again with the same struct and a longer buffer (same bytes at
 * the front) after NET_H1_MORE.  Nothing past max_head bytes is looked at.
 * No allocation, no locale, no recursion: safe for a fuzzer. */
#ifndef MOAT_NET_H1_H
#define MOAT_NET_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_H1_MAX_FIELDS 128    /* header fields per head; more: 431 */
#define NET_H1_MAX_HEAD 65536    /* the largest max_head a caller may pass */

enum net_h1_result {
	NET_H1_DONE,  /* a complete head: see the results */
	NET_H1_MORE,  /* no error so far; the head is not complete */
	NET_H1_ERROR, /* requests: answer m->status and close; responses: 502 */
};

/* What follows the head. */
enum net_h1_framing {
	NET_H1_NO_BODY,  /* nothing (GET without length, 204, 304, 1xx, HEAD's response) */
	NET_H1_LENGTH,   /* exactly content_length bytes */
	NET_H1_CHUNKED,  /* chunked (final transfer coding); see net_h1_chunked */
	NET_H1_TO_CLOSE, /* responses only: until the server closes */
};

/* Kinds of request-target (RFC 9112 section 3.2). */
enum net_h1_target {
	NET_H1_ORIGIN,    /* "/path?query" */
	NET_H1_ABSOLUTE,  /* "http://host/path" */
	NET_H1_AUTHORITY, /* "host:port" (CONNECT) */
	NET_H1_ASTERISK,  /* "*" (OPTIONS) */
};

/* One header field: [name, name + name_len) and [value, value + value_len)
 * are offsets into the buffer; the value has its surrounding white space
 * removed. */
struct net_h1_field {
	uint32_t name, name_len;
	uint32_t value, value_len;
	bool hop; /* hop-by-hop (RFC 9110 section 7.6.1): Connection,
		   * Keep-Alive, Proxy-Connection, TE, Transfer-Encoding,
		   * Upgrade, Trailer, and any field named in Connection --
		   * a proxy does not forward it as is */
};

struct net_h1_msg {
	/* Scan state between calls (zeroed by net_h1_msg_reset). */
	size_t scanned;
	size_t line_start;
	size_t start; /* offset of the start line (empty lines before a
		       * request line are skipped, RFC 9112 section 2.2;
		       * a response must start with its status line) */
	bool started;
	/* private: where the scan is within the current line, whether the
	 * start line is behind it, what the fields said so far */
	int phase;
	int state;
	bool line1_done;
	size_t colon;
	bool cl_seen, te_seen, te_chunked, te_other;
	bool conn_close, conn_keep_alive, conn_upgrade;
	unsigned conn_tokens;

	/* Results of NET_H1_DONE.  Offsets are into the caller's buffer. */
	size_t head_len;          /* bytes of the head, final CR LF included */
	int version_minor;        /* HTTP/1.0 or 1.1 (1.x > 1 counts as 1) */
	/* requests */
	uint32_t method, method_len;
	uint32_t target, target_len;
	enum net_h1_target target_form;
	int host_field;           /* index into fields of Host, -1 if none */
	/* responses */
	int status;               /* also the error status: see below */
	uint32_t reason, reason_len;
	/* both */
	struct net_h1_field fields[NET_H1_MAX_FIELDS];
	size_t nfields;
	enum net_h1_framing framing;
	uint64_t content_length;  /* for NET_H1_LENGTH (<= 2^62) */
	bool keep_alive;          /* the connection may carry another message
				   * (1.1 without "close"; 1.0 with "keep-alive") */
	bool upgrade;             /* "Connection: upgrade" with an Upgrade field */
	int upgrade_field;        /* index of Upgrade, -1 if none */
	bool expect_continue;     /* requests: "Expect: 100-continue" */
	bool body_declared;       /* responses: a Transfer-Encoding, or a
				   * Content-Length above 0, whatever the
				   * framing: after one that has no body (HEAD,
				   * 204, 304) bytes the server sends late can't
				   * be told from its next response */
};

/* Ready m for a new message (the bytes before it have been consumed).
 * Once a parse has returned NET_H1_DONE or NET_H1_ERROR, calling it again
 * with the same m returns the same without looking at the buffer. */
void net_h1_msg_reset(struct net_h1_msg *m);

/* Parse a request head at the front of buf[0..len); max_head <=
 * NET_H1_MAX_HEAD (a larger one counts as NET_H1_MAX_HEAD).  On
 * NET_H1_ERROR, m->status is the answer: 400 (bad syntax, bare CR or LF,
 * NUL or other control bytes in a field, obs-fold, white space before a
 * colon, no Host in HTTP/1.1, two Hosts in any version, a Host that
 * is neither empty nor net_h1_authority_valid, Content-Length with Transfer-Encoding, two Content-Lengths,
 * a Content-Length that is not digits or is over 2^62, Transfer-Encoding
 * in HTTP/1.0, a transfer coding list that does not end in "chunked" or
 * contains anything but "chunked"), 414 (request line over max_head), 431
 * (head over max_head, or more than NET_H1_MAX_FIELDS fields), 501 (a
 * transfer coding other than chunked), 505 (not HTTP/1.x).  A request
 * without Content-Length or Transfer-Encoding has no body; one with
 * "Content-Length: 0" has NET_H1_LENGTH and content_length 0.
 *
 * Also 400: a request-target of the wrong form for the method (CONNECT
 * takes authority-form and only it, "*" is for OPTIONS only, absolute-form
 * is http or https with a non-empty authority, a "#" anywhere), more than
 * 32 Connection options, a Connection option that is not a token, and
 * Connection naming Host or Content-Length (a proxy that removed the field
 * named would change how the next hop routes or frames the message). */
enum net_h1_result net_h1_parse_request(const char *buf, size_t len, size_t max_head,
					struct net_h1_msg *m);

/* Parse a response head (status-line, fields).  req_method is the method
 * of the request it answers (a HEAD's response has no body, nor has a
 * 2xx answer to CONNECT); framing follows RFC 9112 section 6.3:
 * 1xx/204/304/HEAD -> no body; Transfer-Encoding chunked -> chunked;
 * Content-Length -> length; else until close.  Errors (m->status = 502):
 * bad status line, bare CR/LF, control bytes in a field, obs-fold,
 * Content-Length with Transfer-Encoding, conflicting or invalid
 * Content-Length, a transfer coding other than chunked, head over
 * max_head; also Transfer-Encoding in an HTTP/1.0 response, a 101 without
 * an Upgrade field, and whatever the request parser rejects in fields
 * (Connection options included).  "HTTP/1.1 200\r\n" (no SP after the
 * code, no reason) is accepted.  upgrade is set for a 101 only; after
 * NET_H1_TO_CLOSE keep_alive is false. */
enum net_h1_result net_h1_parse_response(const char *buf, size_t len, size_t max_head,
					 const char *req_method, size_t req_method_len,
					 struct net_h1_msg *m);

/* Whether [p, p+n) is a valid authority (RFC 3986 section 3.2) as a Host
 * value or in an absolute-form target, strictly: a DNS-style reg-name or
 * IPv4 address (letters, digits, "-", ".", "_", "~"; no percent-encoding,
 * no sub-delims, no userinfo) or an IPv6 literal in brackets, then
 * optionally ":" and at most 5 digits.  Empty is not valid. */
bool net_h1_authority_valid(const char *p, size_t n);

/* Field lookup: the index of the first field named name (case-insensitive)
 * at or after index from, or -1. */
int net_h1_find(const struct net_h1_msg *m, const char *buf, const char *name, size_t from);

/* ---- chunked bodies ----------------------------------------------------- */

/* A streaming reader of a chunked body (RFC 9112 section 7.1): it finds
 * where the body ends (net_h1_chunked_scan: a body dropped unread) or hands
 * out its data (net_h1_chunked_next: h1_server.c for request bodies, the
 * proxy for responses), and rejects what is not valid: a chunk size that is not hex or
 * is longer than 15 digits, a missing CR LF after a chunk's data, bare LF,
 * a chunk extension over 4096 bytes or with control bytes, trailer fields
 * over 8192 bytes in all or not shaped like fields. */
struct net_h1_chunked {
	int state;          /* private */
	uint64_t remaining; /* data bytes left in the current chunk */
	size_t count;       /* bytes of the current extension / trailer */
	size_t line;        /* private */
};

enum net_h1_chunk_result {
	NET_H1_CHUNK_MORE,  /* all of the input belongs to the body; more to come */
	NET_H1_CHUNK_DONE,  /* the body ended after *used bytes of the input */
	NET_H1_CHUNK_ERROR, /* invalid: requests get 400, responses 502 */
};

void net_h1_chunked_init(struct net_h1_chunked *c);
/* Scan in[0..len) as the next bytes of the body.  *used = len for MORE,
 * the body's remaining bytes for DONE (the rest is the next message),
 * undefined for ERROR.  Runs of chunk data are skipped in O(1), not per
 * byte. */
enum net_h1_chunk_result net_h1_chunked_scan(struct net_h1_chunked *c, const char *in,
					     size_t len, size_t *used);
/* The same, one step at a time, for a decoder: it stops after the first
 * run of chunk data in in[0..len) and gives where that run is
 * (*data_len 0 when the bytes held none).  MORE with *used < len: call
 * again with the rest. */
enum net_h1_chunk_result net_h1_chunked_next(struct net_h1_chunked *c, const char *in,
					     size_t len, size_t *used, size_t *data_off,
					     size_t *data_len);

/* ---- byte classes: h1.c's table, also read by h1_chunked.c ------------- */

enum {
	NET_H1_TCHAR = 1,    /* tchar (RFC 9110 section 5.6.2) */
	NET_H1_TARGET = 2,   /* of a request-target: visible ASCII */
	NET_H1_VALUE = 4,    /* of a field value or reason phrase but its end: HTAB,
			      * SP, VCHAR, obs-text (RFC 9110 section 5.5) */
	NET_H1_HEX = 8,      /* a hex digit */
	NET_H1_REGNAME = 16, /* of a reg-name as DNS names are written: letters,
			      * digits, "-", ".", "_", "~" */
};
extern const unsigned char net_h1_class[256]; /* each byte value's classes, or-ed */

#endif
