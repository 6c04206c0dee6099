/* handler.c: the small servers' handlers (net_http_handler, net.h) as an
 * application on the engine (http_app.h): the handler gets the request as
 * NUL-terminated strings and fills a whole reply, which goes out with
 * Server, Date, Content-Type, Content-Length and the handler's fields.  A
 * request with a body is answered 413 and the connection closed, unless
 * the listener takes bodies (max_body): then the body is gathered, up to
 * that size, and the handler called once it is whole. */
#include "net/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/http_app.h"
#include "net/http.h"

#define CTYPE_MAX 200 /* bytes of a Content-Type a handler may give */

/* A request whose body is on its way (a listener with max_body). */
struct pending {
	const struct net_listener *l;
	struct net_hx *x;
	struct net_http_strings st;
	char peer[64];
	char ctype[CTYPE_MAX + 1];
	int version_minor;
	bool tls;
	bool answered; /* 413 or 400 sent: the rest of the body is dropped */
	struct moat_buf body;
};

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
		   const struct net_http_reply *rep, unsigned flags)
{
	struct net_hfield f[3 + NET_HTTP_REPLY_FIELDS];
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
	for (size_t i = 0; rep != NULL && i < rep->nfields; i++)
		f[n++] = (struct net_hfield){rep->fields[i].name, strlen(rep->fields[i].name),
					     rep->fields[i].value, strlen(rep->fields[i].value)};
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
	req->content_type = "";
	req->body = NULL;
	req->body_len = 0;
	req->tls = false;
	return true;
}

static bool token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int net_http_reply_field(struct net_http_reply *r, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (r->nfields == NET_HTTP_REPLY_FIELDS || nl == 0 || nl >= sizeof(r->fields[0].name) ||
	    vl >= sizeof(r->fields[0].value))
		return -1;
	for (size_t i = 0; i < nl; i++)
		if (!token_char((unsigned char)name[i]))
			return -1;
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return -1;
	memcpy(r->fields[r->nfields].name, name, nl + 1);
	memcpy(r->fields[r->nfields].value, value, vl + 1);
	r->nfields++;
	return 0;
}

/* Call the handler with req and send what it answers. */
static void handle(const struct net_listener *l, struct net_hx *x, const struct net_http_request *req)
{
	struct net_http_reply *rep = malloc(sizeof(*rep));

	if (rep == NULL) {
		answer(x, 503, NULL, NULL, 0, NULL, NET_HX_CLOSE);
		return;
	}
	rep->status = 404;
	rep->content_type = NULL;
	rep->body = NULL;
	rep->len = 0;
	rep->free_body = false;
	rep->nfields = 0;
	l->handler(l->arg, req, rep);
	if (rep->status < 200 || rep->status > 599 ||
	    (rep->content_type != NULL && !ctype_ok(rep->content_type)))
		answer(x, 500, NULL, NULL, 0, NULL, 0);
	else
		answer(x, rep->status, rep->content_type, rep->body, rep->len, rep, 0);
	if (rep->free_body)
		free((void *)rep->body);
	free(rep);
}

/* The request's Content-Type into out ("" when absent or unusable). */
static void content_type(const struct net_request *r, char *out, size_t n)
{
	int i = net_h1_find(r->m, r->buf, "content-type", 0);

	out[0] = '\0';
	if (i >= 0)
		(void)span(out, n, r->buf + r->m->fields[i].value, r->m->fields[i].value_len);
}

static void on_request(void *arg, struct net_hx *x, const struct net_request *r)
{
	const struct net_listener *l = arg;
	const struct net_h1_msg *m = r->m;
	struct net_http_strings st;
	struct net_http_request req;
	struct pending *p;
	char ctype[CTYPE_MAX + 1];

	net_hx_set_arg(x, NULL);
	if (net_hx_body_complete(x)) { /* no body */
		if (!net_http_request_fill(&req, &st, r->buf, m, r->peer)) {
			answer(x, 400, NULL, NULL, 0, NULL, NET_HX_CLOSE);
			return;
		}
		content_type(r, ctype, sizeof(ctype));
		req.content_type = ctype;
		req.body = NULL;
		req.body_len = 0;
		req.tls = r->tls;
		handle(l, x, &req);
		return;
	}
	if (l->max_body == 0 || (m->framing == NET_H1_LENGTH && m->content_length > l->max_body)) {
		answer(x, 413, NULL, NULL, 0, NULL, NET_HX_CLOSE);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		answer(x, 503, NULL, NULL, 0, NULL, NET_HX_CLOSE);
		return;
	}
	p->l = l;
	p->x = x;
	if (!net_http_request_fill(&req, &p->st, r->buf, m, r->peer)) {
		free(p);
		answer(x, 400, NULL, NULL, 0, NULL, NET_HX_CLOSE);
		return;
	}
	snprintf(p->peer, sizeof(p->peer), "%s", r->peer);
	content_type(r, p->ctype, sizeof(p->ctype));
	p->version_minor = m->version_minor;
	p->tls = r->tls;
	net_hx_set_arg(x, p);
	net_hx_resume(x);
}

static size_t on_body(void *arg, const char *b, size_t n)
{
	struct pending *p = arg;

	if (p->answered)
		return n;
	if (n > p->l->max_body - p->body.len) {
		p->answered = true;
		answer(p->x, 413, NULL, NULL, 0, NULL, NET_HX_CLOSE);
		return n;
	}
	if (moat_buf_append(&p->body, b, n) != 0) {
		p->answered = true;
		answer(p->x, 503, NULL, NULL, 0, NULL, NET_HX_CLOSE);
	}
	return n;
}

static void on_body_end(void *arg)
{
	struct pending *p = arg;
	struct net_http_request req = {
		.method = p->st.method,
		.target = p->st.target,
		.host = p->st.host,
		.peer = p->peer,
		.version_minor = p->version_minor,
		.content_type = p->ctype,
		.body = p->body.data,
		.body_len = p->body.len,
		.tls = p->tls,
	};

	if (p->answered)
		return;
	p->answered = true;
	handle(p->l, p->x, &req);
}

static void on_body_invalid(void *arg)
{
	struct pending *p = arg;

	if (p->answered)
		return;
	p->answered = true;
	answer(p->x, 400, NULL, NULL, 0, NULL, NET_HX_CLOSE);
}

static void on_done(void *arg)
{
	struct pending *p = arg;

	if (p == NULL)
		return;
	moat_buf_free(&p->body);
	free(p);
}

const struct net_app_ops net_handler_app = {
	.request = on_request,
	.body = on_body,
	.body_end = on_body_end,
	.body_invalid = on_body_invalid,
	.done = on_done,
};
