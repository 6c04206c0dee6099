/* ocsp.c: what the CA's OCSP responder needs from the CA -- the delegated
 * signer (made and rotated here), the status of a serial, and a cheap
 * "did anything change" number. */
#include "ca/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SIGNER_CERT "ocsp-signer.pem"
#define SIGNER_KEY "ocsp-signer-key.pem"

/* Good enough to keep: matching key, issued by our intermediate, more than
 * a third of its life left. */
static bool signer_fresh(const struct ca *ca, const struct pki_cert *c, const struct pki_key *k,
			 int64_t now)
{
	struct pki_cert_info i;
	bool ok;

	memset(&i, 0, sizeof(i));
	ok = pki_key_matches_cert(k, c) && pki_cert_issued_by(c, ca->intermediate) &&
	     pki_cert_info(c, &i, NULL) == 0 && i.not_before <= now &&
	     (i.not_after - now) * 3 > i.not_after - i.not_before;
	pki_cert_info_clear(&i);
	return ok;
}

/* The signer from the CA directory, if it is there and fresh. */
static void load_signer(struct ca *ca, int64_t now)
{
	struct moat_buf cb = MOAT_BUF_INIT, kb = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	struct pki_key *k = NULL;
	char path[PATH_MAX];

	if (moat_path_join(path, sizeof(path), ca->dir, SIGNER_CERT, NULL) != 0 ||
	    moat_file_read(path, MOAT_MAX_PEM_FILE, &cb, NULL) != 0 ||
	    moat_path_join(path, sizeof(path), ca->dir, SIGNER_KEY, NULL) != 0 ||
	    moat_file_read(path, MOAT_MAX_PEM_FILE, &kb, NULL) != 0 ||
	    (c = pki_cert_from_pem(cb.data, cb.len, NULL)) == NULL ||
	    (k = pki_key_from_pem(kb.data, kb.len, NULL, 0, NULL)) == NULL ||
	    !signer_fresh(ca, c, k, now))
		goto out;
	ca->ocsp_cert = c;
	ca->ocsp_key = k;
	c = NULL;
	k = NULL;
out:
	pki_cert_free(c);
	pki_key_free(k);
	moat_buf_free(&cb);
	moat_buf_wipe(&kb);
}

/* A new signer, written key and certificate (temp, fsync, rename). */
static int make_signer(struct ca *ca, int64_t now, struct moat_err *err)
{
	struct pki_key *k = NULL;
	struct pki_cert *c = NULL;
	struct pki_cert_info ii;
	struct moat_buf cpem = MOAT_BUF_INIT, kpem = MOAT_BUF_INIT;
	struct moat_fileset *fs = NULL;
	char cn[CA_URL_MAX], path[PATH_MAX];
	int64_t nb = now - CA_BACKDATE, na = nb + (int64_t)CA_OCSP_SIGNER_DAYS * 86400 - 1;
	int ret = -1;

	memset(&ii, 0, sizeof(ii));
	if (ca->int_key == NULL) {
		moat_err_set(err, "the CA's signing key is locked");
		goto out;
	}
	if (pki_cert_info(ca->intermediate, &ii, err) != 0)
		goto out;
	if (na > ii.not_after)
		na = ii.not_after;
	snprintf(cn, sizeof(cn), "%.50s OCSP", ca->name[0] ? ca->name : "moat");
	struct pki_cert_spec spec = {
		.profile = PKI_PROFILE_OCSP_SIGNER, .common_name = cn,
		.not_before = nb, .not_after = na,
	};
	if ((k = pki_key_generate(PKI_KEY_EC_P256, err)) == NULL ||
	    (c = pki_cert_build(&spec, k, ca->intermediate, ca->int_key, err)) == NULL) {
		moat_err_prefix(err, "cannot make the OCSP signing certificate");
		goto out;
	}
	if (pki_cert_to_pem(c, &cpem, err) != 0 || pki_key_to_pem(k, NULL, 0, &kpem, err) != 0)
		goto out;
	if ((fs = moat_fileset_new()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	/* The key first: a crash between the two renames leaves a pair that
	 * does not match, which load_signer refuses (and a new one is made). */
	if (moat_path_join(path, sizeof(path), ca->dir, SIGNER_KEY, err) != 0 ||
	    moat_fileset_add(fs, path, kpem.data, kpem.len, 0600, true, err) != 0 ||
	    moat_path_join(path, sizeof(path), ca->dir, SIGNER_CERT, err) != 0 ||
	    moat_fileset_add(fs, path, cpem.data, cpem.len, 0644, true, err) != 0 ||
	    moat_fileset_commit(fs, err) != 0)
		goto out;
	pki_cert_free(ca->ocsp_cert);
	pki_key_free(ca->ocsp_key);
	ca->ocsp_cert = c;
	ca->ocsp_key = k;
	c = NULL;
	k = NULL;
	ret = 0;
out:
	moat_fileset_free(fs);
	moat_buf_free(&cpem);
	moat_buf_wipe(&kpem);
	pki_cert_info_clear(&ii);
	pki_cert_free(c);
	pki_key_free(k);
	return ret;
}

int ca_ocsp_signer(struct ca *ca, const struct pki_cert **cert, const struct pki_key **key,
		   struct moat_err *err)
{
	int64_t now = time(NULL);

	if (ca->ocsp_cert != NULL && !signer_fresh(ca, ca->ocsp_cert, ca->ocsp_key, now)) {
		pki_cert_free(ca->ocsp_cert);
		pki_key_free(ca->ocsp_key);
		ca->ocsp_cert = NULL;
		ca->ocsp_key = NULL;
	}
	if (ca->ocsp_cert == NULL)
		load_signer(ca, now);
	if (ca->ocsp_cert == NULL && make_signer(ca, now, err) != 0)
		return -1;
	*cert = ca->ocsp_cert;
	*key = ca->ocsp_key;
	return 0;
}

int ca_cert_status(struct ca *ca, const char *serial, struct ca_cert_status *out,
		   struct moat_err *err)
{
	struct ca_record r;
	bool found;

	memset(out, 0, sizeof(*out));
	out->status = PKI_OCSP_UNKNOWN;
	if (ca_db_status(ca->db, serial, &r, &found, err) != 0)
		return -1;
	if (!found)
		return 0;
	out->status = r.revoked ? PKI_OCSP_REVOKED : PKI_OCSP_GOOD;
	out->revoked_at = r.revoked ? r.revoked_at : 0;
	out->reason = r.revoked ? r.reason : 0;
	out->not_after = r.not_after;
	return 0;
}

int ca_db_version(struct ca *ca, int64_t *out, struct moat_err *err)
{
	return ca_db_data_version(ca->db, out, err);
}
