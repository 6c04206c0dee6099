/* cert.c: an order's certificate -- finalize (RFC 8555 7.4: the CSR
 * checked against the order and the CA's policy, signed by ca_sign, which
 * records it before the answer), its download (7.4.2), and revocation
 * (7.6: by the account that ordered it or by the certificate's key). */
#include "caserve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "core/b64.h"
#include "core/names.h"

#define URL_MAX 400

/* Is the CSR's key one the CA signs (EC P-256/P-384, RSA >= 2048)? */
static bool key_ok(const struct pki_key *k)
{
	char d[64];

	pki_key_describe(k, d, sizeof(d));
	if (strcmp(d, "EC P-256") == 0 || strcmp(d, "EC P-384") == 0)
		return true;
	return strncmp(d, "RSA ", 4) == 0 && atoi(d + 4) >= 2048 && atoi(d + 4) <= 8192;
}

/* The CSR asks for exactly the order's identifiers? */
static bool same_names(const json_t *ids, const struct moat_name *names, size_t n)
{
	size_t i;
	json_t *v;

	if (json_array_size(ids) != n)
		return false;
	json_array_foreach(ids, i, v) {
		bool found = false;

		for (size_t k = 0; k < n && !found; k++)
			found = strcmp(names[k].text, caserve_str(v, "value")) == 0;
		if (!found)
			return false;
	}
	for (size_t k = 0; k < n; k++) /* and no name twice */
		for (size_t j = k + 1; j < n; j++)
			if (strcmp(names[k].text, names[j].text) == 0)
				return false;
	return true;
}

void caserve_finalize(struct caserve *s, struct caserve_req *q, int64_t id)
{
	json_t *o = caserve_owned(s, q, "order", id, NULL), *cert = NULL;
	struct moat_buf der = MOAT_BUF_INIT, pem = MOAT_BUF_INIT;
	struct pki_csr *csr = NULL;
	struct pki_key *key = NULL;
	struct moat_name *names = NULL;
	struct ca_signed sig;
	struct moat_err err;
	char cn[256], lineage[64], url[URL_MAX];
	const char *b64;
	size_t n = 0;
	int64_t cid = 0;

	memset(&sig, 0, sizeof(sig));
	if (o == NULL)
		return;
	moat_err_clear(&err);
	if (caserve_order_refresh(s, id, o, &err) != 0) {
		caserve_internal(s, q->reply, &err);
		goto out;
	}
	if (strcmp(caserve_str(o, "status"), "ready") != 0) {
		caserve_problem(s, q->reply, 403, "orderNotReady",
				strcmp(caserve_str(o, "status"), "pending") == 0
					? "the order is not ready: its authorizations are pending"
					: "the order is not ready to be finalized");
		goto out;
	}
	b64 = caserve_str(q->payload, "csr");
	if (b64 == NULL || moat_b64url_decode(&der, b64, strlen(b64)) != 0 || der.len == 0) {
		caserve_problem(s, q->reply, 400, "malformed", "finalize takes a base64url csr");
		goto out;
	}
	if ((csr = pki_csr_from_pem(der.data, der.len, &err)) == NULL ||
	    pki_csr_verify(csr, &err) != 0 || (key = pki_csr_pubkey(csr, &err)) == NULL ||
	    pki_csr_names(csr, &names, &n, cn, sizeof(cn), &err) != 0) {
		char detail[300];

		snprintf(detail, sizeof(detail), "the CSR is not acceptable: %.250s", err.msg);
		caserve_problem(s, q->reply, 400, "badCSR", detail);
		goto out;
	}
	if (!key_ok(key)) {
		caserve_problem(s, q->reply, 400, "badCSR",
				"the CSR's key must be EC P-256, EC P-384 or RSA of 2048 bits or more");
		goto out;
	}
	if (!same_names(json_object_get(o, "identifiers"), names, n)) {
		caserve_problem(s, q->reply, 400, "badCSR",
				"the CSR must ask for exactly the order's identifiers");
		goto out;
	}
	snprintf(lineage, sizeof(lineage), "acme:%lld", (long long)q->account);
	{
		struct ca_sign_opts so = {.names = names, .nnames = n, .key = key, .lineage = lineage,
					  .days = caserve_profile_days(caserve_str(o, "profile"))};

		if (ca_sign(s->ca, &so, &sig, &err) != 0) {
			caserve_log(s, "order %lld: signing failed: %s", (long long)id, err.msg);
			caserve_internal(s, q->reply, &err);
			goto out;
		}
	}
	if (moat_buf_append(&pem, sig.cert_pem.data, sig.cert_pem.len) != 0 ||
	    moat_buf_append(&pem, sig.chain_pem.data, sig.chain_pem.len) != 0 ||
	    moat_buf_append(&pem, "", 1) != 0 ||
	    (cert = json_pack("{s:s, s:s, s:b, s:I, s:I}", "pem", (const char *)pem.data, "serial",
			      sig.serial, "revoked", false, "not_before", (json_int_t)sig.not_before,
			      "not_after", (json_int_t)sig.not_after)) == NULL ||
	    caserve_store_begin(s->db, &err) != 0) {
		caserve_internal(s, q->reply, &err);
		goto out;
	}
	json_object_set_new(o, "status", json_string("valid"));
	if (caserve_str(o, "replaces") != NULL) {
		int64_t rid = 0;
		json_t *old = caserve_ari_find(s, caserve_str(o, "replaces"), &rid, NULL, &err);

		if (old != NULL) {
			json_object_set_new(old, "replaced_by", json_integer(id));
			if (caserve_store_put(s->db, rid, old, &err) != 0) {
				json_decref(old);
				caserve_store_rollback(s->db);
				caserve_internal(s, q->reply, &err);
				goto out;
			}
			json_decref(old);
		}
	}
	if (caserve_store_add(s->db, "cert", id, q->account, sig.serial, cert, &cid, &err) != 0 ||
	    json_object_set_new(o, "_cert", json_integer(cid)) != 0 ||
	    caserve_store_put(s->db, id, o, &err) != 0 || caserve_store_commit(s->db, &err) != 0) {
		caserve_store_rollback(s->db);
		caserve_internal(s, q->reply, &err);
		goto out;
	}
	caserve_count(s->counters, CASERVE_C_ISSUED);
	caserve_log(s, "issued %s for %s (%zu name(s)) to account %lld, order %lld", sig.serial,
		    names[0].text, n, (long long)q->account, (long long)id);
	caserve_url(s, url, sizeof(url), "order", id);
	caserve_json(s, q->reply, 200, caserve_order_view(s, id, o), url);
out:
	ca_signed_clear(&sig);
	json_decref(o);
	json_decref(cert);
	moat_buf_free(&der);
	moat_buf_free(&pem);
	pki_csr_free(csr);
	pki_key_free(key);
	free(names);
}

void caserve_cert(struct caserve *s, struct caserve_req *q, int64_t id)
{
	json_t *c = caserve_owned(s, q, "cert", id, NULL);
	const char *pem;

	if (c == NULL)
		return;
	if (q->payload != NULL) {
		caserve_problem(s, q->reply, 400, "malformed",
				"the certificate is read with POST-as-GET (an empty payload)");
		json_decref(c);
		return;
	}
	pem = caserve_str(c, "pem");
	caserve_json(s, q->reply, 200, NULL, NULL);
	q->reply->status = 200;
	q->reply->content_type = "application/pem-certificate-chain";
	q->reply->body = pem != NULL ? strdup(pem) : NULL;
	q->reply->len = q->reply->body != NULL ? strlen(q->reply->body) : 0;
	q->reply->free_body = q->reply->body != NULL;
	if (q->reply->body == NULL)
		q->reply->status = 500;
	json_decref(c);
}

/* ---- revocation --------------------------------------------------------------------- */

void caserve_revoke(struct caserve *s, struct caserve_req *q)
{
	const char *b64 = caserve_str(q->payload, "certificate");
	json_t *reason_v = json_object_get(q->payload, "reason"), *doc = NULL;
	struct moat_buf der = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	struct pki_cert_info info;
	struct ca_record *out = NULL;
	struct ca_cert_status st;
	struct moat_err err;
	int64_t reason = 0, id = 0, owner = 0;
	size_t nout = 0;

	memset(&info, 0, sizeof(info));
	moat_err_clear(&err);
	if (reason_v != NULL) {
		reason = json_integer_value(reason_v);
		if (!json_is_integer(reason_v) || reason < 0 || reason == 2 || reason == 7 ||
		    (reason > 5 && reason != 9)) {
			caserve_problem(s, q->reply, 400, "badRevocationReason",
					"reason must be 0, 1, 3, 4, 5 or 9 (RFC 5280)");
			goto out;
		}
	}
	if (b64 == NULL || moat_b64url_decode(&der, b64, strlen(b64)) != 0 ||
	    (c = pki_cert_from_pem(der.data, der.len, &err)) == NULL ||
	    pki_cert_info(c, &info, &err) != 0) {
		caserve_problem(s, q->reply, 400, "malformed", "certificate must be a base64url DER "
							       "certificate");
		goto out;
	}
	if (!pki_cert_signed_by(c, ca_intermediate(s->ca))) {
		caserve_problem(s, q->reply, 404, "malformed", "this CA did not issue the certificate");
		goto out;
	}
	doc = caserve_store_find(s->db, "cert", info.serial_hex, &id, &owner, &err);
	if (doc == NULL && err.msg[0] != '\0') {
		caserve_internal(s, q->reply, &err);
		goto out;
	}
	/* Who may revoke: the account that ordered it, or the certificate's key. */
	if (!(q->account != 0 && doc != NULL && owner == q->account) &&
	    !(q->account == 0 && pki_key_matches_cert(q->key, c))) {
		caserve_problem(s, q->reply, 403, "unauthorized",
				"neither the account that ordered this certificate nor its key");
		goto out;
	}
	if (ca_cert_status(s->ca, info.serial_hex, &st, &err) != 0) {
		caserve_internal(s, q->reply, &err);
		goto out;
	}
	if (st.status == PKI_OCSP_REVOKED || (doc != NULL && json_is_true(json_object_get(doc, "revoked")))) {
		caserve_problem(s, q->reply, 400, "alreadyRevoked", "the certificate is revoked");
		goto out;
	}
	if (st.status == PKI_OCSP_UNKNOWN) {
		caserve_problem(s, q->reply, 404, "malformed", "this CA has no record of the certificate");
		goto out;
	}
	if (ca_revoke(s->ca, info.serial_hex, (enum pki_reason)reason, &out, &nout, &err) != 0) {
		caserve_problem(s, q->reply, 400, "malformed", err.msg); /* e.g. expired */
		goto out;
	}
	if (doc != NULL) {
		json_object_set_new(doc, "revoked", json_true());
		(void)caserve_store_put(s->db, id, doc, &err);
	}
	caserve_revocation_changed(s->rev);
	caserve_count(s->counters, CASERVE_C_REVOKED);
	caserve_log(s, "revoked %s (reason %lld) by %s %lld", info.serial_hex, (long long)reason,
		    q->account != 0 ? "account" : "the certificate's key", (long long)q->account);
	caserve_json(s, q->reply, 200, json_object(), NULL);
	q->reply->content_type = "application/json";
out:
	free(out);
	json_decref(doc);
	pki_cert_info_clear(&info);
	pki_cert_free(c);
	moat_buf_free(&der);
}
