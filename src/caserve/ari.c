/* ari.c: ACME Renewal Information (RFC 9773) -- when a client should renew
 * a certificate this server issued, and the "replaces" of a new order.
 *
 * The window: from two thirds of the certificate's lifetime to three
 * quarters of it, so that a fleet of clients spreads its renewals and
 * still has a quarter of the lifetime to retry; for a revoked certificate,
 * a window that has already begun (renew now). */
#include "caserve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca.h"
#include "core/b64.h"

#define ARI_RETRY_AFTER "21600" /* seconds: ask again in six hours */
#define ARI_ID_MAX 256

json_t *caserve_ari_find(struct caserve *s, const char *certid, int64_t *id, int64_t *account,
			 struct moat_err *err)
{
	const char *dot = strchr(certid, '.');
	struct moat_buf ser = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	char hex[80], got[ARI_ID_MAX];
	json_t *doc = NULL;
	size_t at = 0, k = 0;

	moat_err_clear(err);
	if (dot == NULL || strlen(certid) >= ARI_ID_MAX ||
	    moat_b64url_decode(&ser, dot + 1, strlen(dot + 1)) != 0 || ser.len == 0 ||
	    ser.len > 32)
		goto out;
	while (at + 1 < ser.len && ser.data[at] == 0) /* as pki_cert_info's serial_hex */
		at++;
	for (; at < ser.len; at++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "%02X", ser.data[at]);
	if ((doc = caserve_store_find(s->db, "cert", hex, id, account, err)) == NULL)
		goto out;
	/* The whole identifier must be the certificate's (its issuer's key id too). */
	{
		const char *pem = json_string_value(json_object_get(doc, "pem"));

		if (pem == NULL || (c = pki_cert_from_pem(pem, strlen(pem), err)) == NULL ||
		    pki_cert_ari_id(c, got, sizeof(got), err) != 0 || strcmp(got, certid) != 0) {
			json_decref(doc);
			doc = NULL;
			moat_err_clear(err);
		}
	}
out:
	pki_cert_free(c);
	moat_buf_free(&ser);
	return doc;
}

void caserve_renewal_info(struct caserve *s, const char *certid, struct net_http_reply *r)
{
	struct moat_err err;
	int64_t id = 0, nb, na, start, end, now = time(NULL);
	struct ca_cert_status st;
	json_t *doc = caserve_ari_find(s, certid, &id, NULL, &err);
	char a[32], b[32];

	if (doc == NULL) {
		if (err.msg[0] != '\0')
			caserve_problem(s, r, 500, "serverInternal", err.msg);
		else
			caserve_problem(s, r, 404, "malformed",
					"no certificate of this server has this identifier");
		return;
	}
	nb = json_integer_value(json_object_get(doc, "not_before"));
	na = json_integer_value(json_object_get(doc, "not_after"));
	/* revoked here, or by `moat revoke` beside the server */
	if (json_is_true(json_object_get(doc, "revoked")) ||
	    (ca_cert_status(s->ca, json_string_value(json_object_get(doc, "serial")), &st, &err) ==
		     0 &&
	     st.status == PKI_OCSP_REVOKED)) {
		start = now - 86400;
		end = now;
	} else {
		start = nb + (na - nb) * 2 / 3;
		end = nb + (na - nb) * 3 / 4;
	}
	caserve_time(start, a);
	caserve_time(end, b);
	caserve_json(s, r, 200, json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start", a, "end", b),
		     NULL);
	(void)net_http_reply_field(r, "Retry-After", ARI_RETRY_AFTER);
	json_decref(doc);
}
