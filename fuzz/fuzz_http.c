/* fuzz_http: the HTTP request-head parser, on what any peer may send to
 * the http-01 responder.  Besides crashes and out-of-bounds reads, it
 * checks that the outcome does not depend on how the bytes arrive: parsing
 * a prefix first, then the whole buffer, must end as parsing the whole
 * buffer at once. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"
#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The results must lie in the head, NUL-terminated. */
static void check_done(const char *buf, size_t size, const struct net_http_head *h)
{
	const char *end = buf + h->len;

	if (h->len == 0 || h->len > size || h->len > NET_HTTP_MAX_HEAD)
		abort();
	if (h->method < buf || h->method + strlen(h->method) >= end)
		abort();
	if (h->target < buf || h->target + strlen(h->target) >= end)
		abort();
	if (h->host[0] != '\0' && (h->host < buf || h->host + strlen(h->host) >= end))
		abort();
	if (h->version_minor != 0 && h->version_minor != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly size bytes each, so that ASan sees a read past the end. */
	char *whole = malloc(size ? size : 1);
	char *split = malloc(size ? size : 1);
	struct net_http_head a, b;
	enum net_http_parse ra, rb;
	size_t cut;

	if (whole == NULL || split == NULL)
		goto out;
	memcpy(whole, data, size);
	memcpy(split, data, size);
	net_http_head_reset(&a);
	ra = net_http_parse_head(whole, size, &a);
	if (ra == NET_HTTP_PARSE_DONE)
		check_done(whole, size, &a);
	if (ra == NET_HTTP_PARSE_ERROR && a.status != 400 && a.status != 413 &&
	    a.status != 414 && a.status != 431 && a.status != 505)
		abort();

	cut = size > 0 ? data[0] % (size + 1) : 0;
	net_http_head_reset(&b);
	rb = net_http_parse_head(split, cut, &b);
	if (rb == NET_HTTP_PARSE_MORE)
		rb = net_http_parse_head(split, size, &b);
	if (rb != ra)
		abort();
	if (ra == NET_HTTP_PARSE_ERROR && a.status != b.status)
		abort();
	if (ra == NET_HTTP_PARSE_DONE &&
	    (a.len != b.len || strcmp(a.method, b.method) != 0 ||
	     strcmp(a.target, b.target) != 0 || strcmp(a.host, b.host) != 0 ||
	     a.keep_alive != b.keep_alive || a.version_minor != b.version_minor))
		abort();
out:
	free(whole);
	free(split);
	return 0;
}
