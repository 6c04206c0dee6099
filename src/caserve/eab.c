/* eab.c: external account binding (RFC 8555 section 7.3.4) -- keys the
 * CA's operator hands out (moat ca eab add), each binding one account.
 *
 * A key is an object of kind "eab" in ca/acme.db: its key id (the lookup
 * key), a name for the operator, the HMAC key (base64url) and the account
 * it bound, once it has. */
#include "caserve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64.h"

#define EAB_KEY_BYTES 32

int caserve_eab_add(const char *home, const char *name, char *kid, size_t kn, char *hmac, size_t hn,
		    struct moat_err *err)
{
	unsigned char raw[EAB_KEY_BYTES], idraw[12];
	struct moat_buf k = MOAT_BUF_INIT, id = MOAT_BUF_INIT;
	char path[4200];
	struct caserve_store *st = NULL;
	json_t *doc = NULL;
	int64_t oid = 0;
	int ret = -1;

	snprintf(path, sizeof(path), "%s/ca/acme.db", home);
	if (pki_random(raw, sizeof(raw)) != 0 || pki_random(idraw, sizeof(idraw)) != 0 ||
	    moat_b64url_encode(&k, raw, sizeof(raw)) != 0 ||
	    moat_b64url_encode(&id, idraw, sizeof(idraw)) != 0 || k.len >= hn || id.len >= kn) {
		moat_err_set(err, "cannot make a key");
		goto out;
	}
	if ((st = caserve_store_open(path, err)) == NULL ||
	    (doc = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "hmac", (const char *)k.data,
			     "account", (json_int_t)0, "created", (json_int_t)time(NULL))) == NULL ||
	    caserve_store_add(st, "eab", 0, 0, (const char *)id.data, doc, &oid, err) != 0)
		goto out;
	memcpy(kid, id.data, id.len + 1);
	memcpy(hmac, k.data, k.len + 1);
	ret = 0;
out:
	if (ret != 0 && err->msg[0] == '\0')
		moat_err_set(err, "out of memory");
	json_decref(doc);
	caserve_store_free(st);
	moat_buf_wipe(&k);
	moat_buf_free(&id);
	memset(raw, 0, sizeof(raw));
	return ret;
}

int caserve_eab_check(struct caserve *s, struct caserve_req *q, const json_t *eab, int64_t *eab_id,
		      json_t **eab_doc)
{
	const char *prot = json_string_value(json_object_get(eab, "protected"));
	const char *pay = json_string_value(json_object_get(eab, "payload"));
	const char *sig = json_string_value(json_object_get(eab, "signature"));
	struct moat_buf h = MOAT_BUF_INIT, p = MOAT_BUF_INIT, sg = MOAT_BUF_INIT, key = MOAT_BUF_INIT;
	json_t *hdr = NULL, *jwk = NULL, *doc = NULL;
	struct pki_jwk canon;
	struct moat_err err;
	unsigned char mac[32];
	char tp[64], *input = NULL;
	const char *kid;
	int ret = -1;

	memset(&canon, 0, sizeof(canon));
	moat_err_clear(&err);
	*eab_doc = NULL;
	if (!json_is_object(eab) || json_object_size(eab) != 3 || prot == NULL || pay == NULL ||
	    sig == NULL || moat_b64url_decode(&h, prot, strlen(prot)) != 0 ||
	    moat_b64url_decode(&p, pay, strlen(pay)) != 0 ||
	    moat_b64url_decode(&sg, sig, strlen(sig)) != 0 ||
	    (hdr = json_loadb((const char *)h.data, h.len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (jwk = json_loadb((const char *)p.data, p.len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		caserve_problem(s, q->reply, 400, "malformed",
				"externalAccountBinding is not a flattened JWS");
		goto out;
	}
	if (json_string_value(json_object_get(hdr, "alg")) == NULL ||
	    strcmp(json_string_value(json_object_get(hdr, "alg")), "HS256") != 0 ||
	    json_object_get(hdr, "nonce") != NULL ||
	    !json_equal(json_object_get(hdr, "url"), json_object_get(q->protected_hdr, "url")) ||
	    (kid = json_string_value(json_object_get(hdr, "kid"))) == NULL) {
		caserve_problem(s, q->reply, 400, "malformed",
				"the external account binding must be HS256 with kid and this url, "
				"no nonce");
		goto out;
	}
	{
		struct pki_key *k = caserve_jwk_key(jwk, &canon, tp, sizeof(tp), &err);

		pki_key_free(k);
		if (k == NULL || strcmp(tp, q->thumbprint) != 0) {
			caserve_problem(s, q->reply, 400, "malformed",
					"the external account binding must sign the account's key");
			goto out;
		}
	}
	doc = caserve_store_find(s->db, "eab", kid, eab_id, NULL, &err);
	if (doc == NULL || json_string_value(json_object_get(doc, "hmac")) == NULL) {
		caserve_problem(s, q->reply, 401, "unauthorized", "unknown external account key id");
		goto out;
	}
	if (json_integer_value(json_object_get(doc, "account")) != 0) {
		caserve_problem(s, q->reply, 401, "unauthorized",
				"this external account key has bound an account already");
		goto out;
	}
	{
		const char *hk = json_string_value(json_object_get(doc, "hmac"));
		size_t pl = strlen(prot), yl = strlen(pay);

		if ((input = malloc(pl + 1 + yl)) == NULL ||
		    moat_b64url_decode(&key, hk, strlen(hk)) != 0)
			goto out;
		memcpy(input, prot, pl);
		input[pl] = '.';
		memcpy(input + pl + 1, pay, yl);
		if (pki_hmac_sha256(key.data, key.len, input, pl + 1 + yl, mac, &err) != 0 ||
		    sg.len != sizeof(mac) || !pki_mem_equal(mac, sg.data, sizeof(mac))) {
			caserve_problem(s, q->reply, 401, "unauthorized",
					"the external account binding's MAC does not verify");
			goto out;
		}
	}
	*eab_doc = doc;
	doc = NULL;
	ret = 0;
out:
	free(input);
	pki_jwk_clear(&canon);
	json_decref(hdr);
	json_decref(jwk);
	json_decref(doc);
	moat_buf_free(&h);
	moat_buf_free(&p);
	moat_buf_free(&sg);
	moat_buf_wipe(&key);
	return ret;
}
