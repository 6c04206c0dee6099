/* handler.c: the small servers' handlers (net_http_handler, net.h) as an
 * application on the engine (http_app.h): the handler gets the request as
 * NUL-terminated strings and fills a whole reply, which goes out with
 * Server, Date, Content-Type and Content-Length; a request with a body is
 * answered 413 and the connection closed (these servers take none). */
#include "net/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_app.h"
#include "net/http.h"

#define CTYPE_MAX 200 /* bytes of a Content-Type a handler may give */

#define F(n, v) ((struct net_hfield){(n), sizeof(n) - 1, (v), strlen(v)})

/* Copy [p, p+len) as a string into out (n bytes); false if it does not fit. */
static bool span(char *out, size_t n, const char *p, size_t len)
{
	if (len >= n)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* A Content-Type a client can be given: printable ASCII, not too long. */
static bool ctype_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > CTYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
			return false;
	return true;
}

static void answer(struct net_hx *x, int status, const char *ctype, const void *body, size_t len,
		   unsigned flags)
{
	struct net_hfield f[4];
	char text[64];
	size_t n = 0;
	bool content = net_http_status_has_body(status);

	if (content && body == NULL) {
		int k = snprintf(text, sizeof(text), "%d %s\n", status, net_http_reason(status));

		body = text;
		len = k > 0 ? (size_t)k : 0;
		ctype = NULL;
	}
	f[n++] = F("Server", "moat");
	f[n++] = F("Date", net_http_date_now());
	if (content)
		f[n++] = F("Content-Type", ctype != NULL ? ctype : "text/plain; charset=utf-8");
	if (net_hx_head(x, status, NULL, 0, f, n, content ? NET_BODY_LENGTH : NET_BODY_NONE,
			len, flags) != 0) {
		net_hx_abort(x);
		return;
	}
	if (content)
		net_hx_body(x, body, len);
	net_hx_end(x);
}

bool net_http_request_fill(struct net_http_request *req, struct net_http_strings *st,
			   const char *buf, const struct net_h1_msg *m, const char *peer)
{
	st->host[0] = '\0';
	if (!span(st->method, sizeof(st->method), buf + m->method, m->method_len) ||
	    !span(st->target, sizeof(st->target), buf + m->target, m->target_len) ||
	    (m->host_field >= 0 &&
	     !span(st->host, sizeof(st->host), buf + m->fields[m->host_field].value,
		   m->fields[m->host_field].value_len)))
		return false;
	req->method = st->method;
	req->target = st->target;
	req->host = st->host;
	req->peer = peer;
	req->version_minor = m->version_minor;
	return true;
}

static void on_request(void *arg, struct net_hx *x, const struct net_request *r)
{
	const struct net_listener *l = arg;
	const struct net_h1_msg *m = r->m;
	struct net_http_strings st;
	struct net_http_request req;
	struct net_http_reply rep = {404, NULL, NULL, 0, false};

	net_hx_set_arg(x, NULL);
	if (!net_hx_body_complete(x)) { /* a body: none has been handed over yet */
		answer(x, 413, NULL, NULL, 0, NET_HX_CLOSE);
		return;
	}
	if (!net_http_request_fill(&req, &st, r->buf, m, r->peer)) {
		answer(x, 400, NULL, NULL, 0, NET_HX_CLOSE);
		return;
	}
	l->handler(l->arg, &req, &rep);
	if (rep.status < 200 || rep.status > 599 ||
	    (rep.content_type != NULL && !ctype_ok(rep.content_type)))
		answer(x, 500, NULL, NULL, 0, 0);
	else
		answer(x, rep.status, rep.content_type, rep.body, rep.len, 0);
	if (rep.free_body)
		free((void *)rep.body);
}

const struct net_app_ops net_handler_app = {
	.request = on_request,
};
