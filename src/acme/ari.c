/* ari.c: ACME Renewal Information (RFC 9773): the CA says when to renew. */
#include "acme/acme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 3339 "2025-01-02T03:04:05Z", with optional fraction and offset. */
static int parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	int64_t t;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = atoi(p + 1), m = atoi(p + 4);
		int64_t off = (int64_t)(h * 3600 + m * 60);
		t += *p == '+' ? -off : off;
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	*out = t;
	return 0;
}

int acme_renewal_info(struct acme_client *c, const struct pki_cert *cert, int64_t *start,
		      int64_t *end, struct moat_err *err)
{
	const struct acme_directory *d = acme_client_directory(c);
	struct acme_resp r = {0};
	char id[512], url[ACME_HTTP_MAX_URL + 600];
	json_t *doc = NULL, *win;
	int ret = -1;

	if (d->renewal_info[0] == '\0') {
		moat_err_set(err, "the CA offers no renewal information");
		return -1;
	}
	if (pki_cert_ari_id(cert, id, sizeof(id), err) != 0)
		return -1;
	snprintf(url, sizeof(url), "%s%s%s", d->renewal_info,
		 d->renewal_info[strlen(d->renewal_info) - 1] == '/' ? "" : "/", id);
	if (acme_client_get(c, url, &r, err) != 0)
		goto out;
	if (r.status != 200) {
		moat_err_set(err, "the CA's renewal information answered HTTP %ld", r.status);
		goto out;
	}
	if ((doc = acme_json_object(&r.body, "the renewal information", err)) == NULL)
		goto out;
	win = json_object_get(doc, "suggestedWindow");
	if (parse_time(acme_json_str(win, "start"), start) != 0 ||
	    parse_time(acme_json_str(win, "end"), end) != 0 || *end < *start) {
		moat_err_set(err, "the CA's renewal window is malformed");
		goto out;
	}
	ret = 0;
out:
	json_decref(doc);
	acme_resp_clear(&r);
	return ret;
}
