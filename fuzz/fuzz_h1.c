/* fuzz_h1: the reverse proxy's HTTP/1.1 parser (src/net/h1.c) on what any
 * client or back end may send: request heads, response heads and chunked
 * bodies.  Besides crashes and out-of-bounds reads, it checks that the
 * results lie in the head and that the outcome does not depend on how the
 * bytes arrive (all at once, or in two or more pieces).
 *
 * The first input byte steers: bits 0-1 the method the response answers
 * (GET, HEAD, CONNECT, POST), bit 2 a small max_head, the rest where the
 * input is cut.  The message is the rest of the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "HEAD", "CONNECT", "POST"};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool within(uint32_t off, uint32_t len, size_t end)
{
	return (uint64_t)off + len <= end;
}

/* The results of a complete head lie in it and make sense. */
static void check_done(const struct net_h1_msg *m, size_t size, size_t max_head, bool response)
{
	check(m->head_len > 0 && m->head_len <= size && m->head_len <= max_head &&
	      m->head_len <= NET_H1_MAX_HEAD);
	check(m->nfields <= NET_H1_MAX_FIELDS);
	check(m->version_minor == 0 || m->version_minor == 1);
	for (size_t i = 0; i < m->nfields; i++) {
		check(within(m->fields[i].name, m->fields[i].name_len, m->head_len));
		check(within(m->fields[i].value, m->fields[i].value_len, m->head_len));
		check(m->fields[i].name_len > 0);
	}
	check(m->host_field >= -1 && m->host_field < (int)m->nfields);
	check(m->upgrade_field >= -1 && m->upgrade_field < (int)m->nfields);
	check(m->content_length <= (uint64_t)1 << 62);
	check(m->framing != NET_H1_LENGTH || m->content_length <= (uint64_t)1 << 62);
	if (response) {
		check(m->status >= 100 && m->status <= 599);
		check(within(m->reason, m->reason_len, m->head_len));
		check(m->framing != NET_H1_TO_CLOSE || !m->keep_alive);
		check(!m->upgrade || m->status == 101);
	} else {
		check(m->method_len > 0 && within(m->method, m->method_len, m->head_len));
		check(m->target_len > 0 && within(m->target, m->target_len, m->head_len));
		check(m->framing != NET_H1_TO_CLOSE);
		check(m->version_minor == 0 || m->host_field >= 0);
		check(!m->upgrade || m->upgrade_field >= 0);
	}
}

static void check_same(const struct net_h1_msg *a, const struct net_h1_msg *b)
{
	check(a->head_len == b->head_len && a->version_minor == b->version_minor);
	check(a->method == b->method && a->method_len == b->method_len);
	check(a->target == b->target && a->target_len == b->target_len);
	check(a->target_form == b->target_form && a->host_field == b->host_field);
	check(a->status == b->status && a->reason == b->reason && a->reason_len == b->reason_len);
	check(a->nfields == b->nfields);
	for (size_t i = 0; i < a->nfields; i++)
		check(a->fields[i].name == b->fields[i].name &&
		      a->fields[i].name_len == b->fields[i].name_len &&
		      a->fields[i].value == b->fields[i].value &&
		      a->fields[i].value_len == b->fields[i].value_len &&
		      a->fields[i].hop == b->fields[i].hop);
	check(a->framing == b->framing && a->content_length == b->content_length);
	check(a->keep_alive == b->keep_alive && a->upgrade == b->upgrade &&
	      a->upgrade_field == b->upgrade_field && a->expect_continue == b->expect_continue &&
	      a->body_declared == b->body_declared);
}

static enum net_h1_result parse(const char *buf, size_t len, size_t max_head, const char *meth,
				struct net_h1_msg *m)
{
	if (meth == NULL)
		return net_h1_parse_request(buf, len, max_head, m);
	return net_h1_parse_response(buf, len, max_head, meth, strlen(meth), m);
}

/* Parse buf whole and in two pieces (cut first); the same outcome. */
static enum net_h1_result head(const char *buf, size_t size, size_t cut, size_t max_head, const char *meth,
		 struct net_h1_msg *a)
{
	struct net_h1_msg b;
	enum net_h1_result ra, rb;

	net_h1_msg_reset(a);
	ra = parse(buf, size, max_head, meth, a);
	if (ra == NET_H1_DONE)
		check_done(a, size, max_head, meth != NULL);
	if (ra == NET_H1_DONE && meth == NULL && a->host_field >= 0) {
		/* A Host that got through is empty or a valid authority: only
		 * name characters, at most one ":" outside brackets. */
		const struct net_h1_field *h = &a->fields[a->host_field];
		const char *v = buf + h->value;

		check(h->value_len == 0 || net_h1_authority_valid(v, h->value_len));
		check(memchr(v, '%', h->value_len) == NULL && memchr(v, '@', h->value_len) == NULL);
	}
	if (ra == NET_H1_DONE && meth != NULL && a->framing == NET_H1_NO_BODY && a->body_declared)
		check(a->status == 204 || a->status == 304 || a->status < 200 ||
		      strcmp(meth, "HEAD") == 0 || strcmp(meth, "CONNECT") == 0);
	if (ra == NET_H1_ERROR) {
		check(!a->keep_alive);
		if (meth != NULL)
			check(a->status == 502);
		else
			check(a->status == 400 || a->status == 414 || a->status == 431 ||
			      a->status == 501 || a->status == 505);
	}
	net_h1_msg_reset(&b);
	rb = parse(buf, cut, max_head, meth, &b);
	if (rb == NET_H1_MORE)
		rb = parse(buf, size, max_head, meth, &b);
	check(rb == ra);
	if (ra == NET_H1_ERROR)
		check(a->status == b.status);
	if (ra == NET_H1_DONE)
		check_same(a, &b);
	return ra;
}

/* Scan a chunked body in pieces whose lengths come from seed; -1 more,
 * -2 error, else where the body ends. */
static long chunked(const char *buf, size_t size, unsigned seed)
{
	struct net_h1_chunked c;
	size_t off = 0, used;

	net_h1_chunked_init(&c);
	for (;;) {
		size_t n = size - off;
		enum net_h1_chunk_result r;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			n = (seed >> 16) % 17;
			if (n > size - off)
				n = size - off;
		}
		r = net_h1_chunked_scan(&c, buf + off, n, &used);
		if (r == NET_H1_CHUNK_ERROR)
			return -2;
		if (r == NET_H1_CHUNK_DONE) {
			check(used <= n);
			return (long)(off + used);
		}
		check(used == n);
		off += n;
		if (off == size)
			return -1;
	}
}

/* Decode with net_h1_chunked_next in pieces from seed: the data lands in
 * out (size bytes at most, as data is never more than the body); returns
 * as chunked() does. */
static long decoded(const char *buf, size_t size, unsigned seed, char *out, size_t *outlen)
{
	struct net_h1_chunked c;
	size_t off = 0, end = 0;

	*outlen = 0;
	net_h1_chunked_init(&c);
	while (off < size) {
		size_t used, d, dl;
		enum net_h1_chunk_result r;

		if (end == off) {
			end = size;
			if (seed != 0) {
				seed = seed * 1103515245u + 12345u;
				end = off + (seed >> 16) % 17;
				if (end > size)
					end = size;
			}
		}
		r = net_h1_chunked_next(&c, buf + off, end - off, &used, &d, &dl);
		if (r == NET_H1_CHUNK_ERROR)
			return -2;
		check(used <= end - off && d + dl <= used && *outlen + dl <= size);
		memcpy(out + *outlen, buf + off + d, dl);
		*outlen += dl;
		off += used;
		if (r == NET_H1_CHUNK_DONE)
			return (long)off;
		check(used > 0 || end == off);
	}
	return -1;
}

static void body(const char *buf, size_t size, unsigned seed)
{
	long whole = chunked(buf, size, 0);
	char *a = malloc(size ? size : 1), *b = malloc(size ? size : 1);
	size_t alen, blen;

	check(whole < 0 || (size_t)whole <= size);
	check(chunked(buf, size, seed | 1) == whole);
	if (a != NULL && b != NULL) {
		long da = decoded(buf, size, 0, a, &alen), db = decoded(buf, size, seed | 1, b, &blen);

		check(da == whole);
		check(db == whole);
		if (whole != -2) {
			check(alen == blen);
			check(memcmp(a, b, alen) == 0);
		}
	}
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_h1_msg *m = malloc(sizeof(*m));
	char *buf = NULL;
	size_t n, cut, max_head;
	const char *meth;

	if (m == NULL || size == 0)
		goto out;
	/* Exactly n bytes, so that ASan sees a read past the end. */
	n = size - 1;
	buf = malloc(n ? n : 1);
	if (buf == NULL)
		goto out;
	memcpy(buf, data + 1, n);
	meth = methods[data[0] & 3];
	max_head = data[0] & 4 ? 64 : NET_H1_MAX_HEAD;
	cut = (size_t)(data[0] >> 3) * (n + 1) / 32;

	/* A chunked body behind its head, as the proxy would read it. */
	if (head(buf, n, cut, max_head, NULL, m) == NET_H1_DONE && m->framing == NET_H1_CHUNKED)
		body(buf + m->head_len, n - m->head_len, data[0]);
	if (head(buf, n, cut, max_head, meth, m) == NET_H1_DONE && m->framing == NET_H1_CHUNKED)
		body(buf + m->head_len, n - m->head_len, data[0]);
	body(buf, n, data[0]);
out:
	free(buf);
	free(m);
	return 0;
}
