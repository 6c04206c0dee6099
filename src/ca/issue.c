/* issue.c: leaf certificates, for a generated key or a CSR's key. */
#include "ca/internal.h"
#include "core/parse.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The PEM texts of a lineage, in certbot's layout. */
struct ca_bundle {
	struct moat_buf privkey; /* empty when signing a CSR */
	struct moat_buf cert;
	struct moat_buf chain;
	struct moat_buf fullchain;
	struct moat_buf p12;     /* empty unless asked for */
};

int ca_check_days(const struct ca *ca, int days, struct moat_err *err)
{
	struct pki_cert_info ii;
	int64_t not_after;
	char date[32];
	int ret = -1;

	memset(&ii, 0, sizeof(ii));
	if (days < 1) {
		moat_err_set(err, "--days must be at least 1");
		return -1;
	}
	if (days > CA_MAX_DAYS) {
		moat_err_set(err, "%d days is too long: Apple platforms reject certificates from private "
			     "CAs valid for more than %d days", days, CA_MAX_DAYS);
		moat_err_hint(err, "use --days %d or fewer (the default, %d, also suits public-CA rules)",
			      CA_MAX_DAYS, CA_DEFAULT_DAYS);
		return -1;
	}
	if (pki_cert_info(ca->intermediate, &ii, err) != 0)
		goto out;
	not_after = time(NULL) - CA_BACKDATE + (int64_t)days * 86400 - 1;
	if (not_after > ii.not_after) {
		moat_date(ii.not_after, date, sizeof(date));
		moat_err_set(err, "the CA's intermediate certificate expires on %s, before a certificate "
			     "valid for %d days would", date, days);
		moat_err_hint(err, "use --days %lld or fewer, or create a new CA",
			      (long long)((ii.not_after - time(NULL)) / 86400));
		goto out;
	}
	ret = 0;
out:
	pki_cert_info_clear(&ii);
	return ret;
}

/*
 * The subject CN of a leaf: the first DNS (or wildcard) name that fits the
 * 64-character limit of RFC 5280's ub-common-name.  Never an IP address:
 * with name constraints in the chain, OpenSSL (and other verifiers) treat a
 * CN that looks like a host name as a DNS name and check it against the DNS
 * constraints, so "192.168.1.10" as CN would fail a CA permitted only
 * 192.168.0.0/16.  Without a CN the subject is empty and subjectAltName is
 * marked critical (RFC 5280 4.2.1.6).
 */
static const char *leaf_common_name(const struct moat_name *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((names[i].type == MOAT_NAME_DNS || names[i].type == MOAT_NAME_WILDCARD) &&
		    strlen(names[i].text) <= 64)
			return names[i].text;
	return NULL;
}

static int join_names(const struct moat_name *names, size_t n, char *out, size_t outlen,
		      struct moat_err *err)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, outlen - o, "%s%s", i ? "," : "", names[i].text);
		if (w < 0 || (size_t)w >= outlen - o) {
			moat_err_set(err, "too many names for one certificate");
			return -1;
		}
		o += (size_t)w;
	}
	return 0;
}

/* Build the PEM texts of a new lineage. */
static int make_bundle(struct ca *ca, const struct ca_issue_opts *o, const struct pki_key *key,
		       struct pki_cert *leaf, struct ca_bundle *b, struct moat_err *err)
{
	struct pki_cert *chain[1] = {ca->intermediate};

	if (o->csr_key == NULL && pki_key_to_pem(key, NULL, 0, &b->privkey, err) != 0)
		return -1;
	if (pki_cert_to_pem(leaf, &b->cert, err) != 0 ||
	    pki_cert_to_pem(ca->intermediate, &b->chain, err) != 0 ||
	    moat_buf_append(&b->fullchain, b->cert.data, b->cert.len) != 0 ||
	    moat_buf_append(&b->fullchain, b->chain.data, b->chain.len) != 0) {
		moat_err_prefix(err, "cannot encode the certificate");
		return -1;
	}
	if (o->p12_pass != NULL && o->csr_key == NULL &&
	    pki_p12_build(key, leaf, chain, 1, o->names[0].text, o->p12_pass, o->p12_passlen,
			  &b->p12, err) != 0)
		return -1;
	return 0;
}

static void bundle_free(struct ca_bundle *b)
{
	moat_buf_wipe(&b->privkey);
	moat_buf_free(&b->cert);
	moat_buf_free(&b->chain);
	moat_buf_free(&b->fullchain);
	moat_buf_wipe(&b->p12);
}

/* Stage the bundle's files into dir (created if needed). */
static int bundle_stage(struct moat_fileset *fs, const char *dir, const struct ca_bundle *b,
			bool overwrite, struct moat_err *err)
{
	const struct {
		const char *name;
		const struct moat_buf *buf;
		mode_t mode;
	} files[] = {
		{"privkey.pem", &b->privkey, 0600},
		{"cert.pem", &b->cert, 0644},
		{"chain.pem", &b->chain, 0644},
		{"fullchain.pem", &b->fullchain, 0644},
		{"cert.p12", &b->p12, 0600},
	};
	char path[PATH_MAX];

	if (moat_fileset_mkdir(fs, dir, 0755, err) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].buf->len == 0)
			continue;
		if (moat_path_join(path, sizeof(path), dir, files[i].name, err) != 0 ||
		    moat_fileset_add(fs, path, files[i].buf->data, files[i].buf->len, files[i].mode,
				     overwrite, err) != 0)
			return -1;
	}
	return 0;
}

static void remove_stale(const char *dir, const struct ca_bundle *b)
{
	char p[PATH_MAX];

	if (b->privkey.len == 0 && moat_path_join(p, sizeof(p), dir, "privkey.pem", NULL) == 0)
		(void)unlink(p);
	if (b->p12.len == 0 && moat_path_join(p, sizeof(p), dir, "cert.p12", NULL) == 0)
		(void)unlink(p);
}

/* Sign key for names as a leaf -- with the CA's URLs when it has them --
 * and check the result as a strict client would.  li receives its reading. */
static struct pki_cert *sign_leaf(struct ca *ca, const struct moat_name *names, size_t n,
				  const struct pki_key *key, int days, bool client,
				  struct pki_cert_info *li, struct moat_err *err)
{
	struct pki_cert *leaf = NULL;
	struct ca_urls u;
	int64_t nb = time(NULL) - CA_BACKDATE;

	ca_urls_of(ca, &u);
	struct pki_cert_spec spec = {
		.profile = PKI_PROFILE_LEAF,
		.common_name = leaf_common_name(names, n),
		.names = names, .nnames = n, .client_auth = client,
		.not_before = nb, .not_after = nb + (int64_t)days * 86400 - 1,
		.crl_url = u.crl, .ocsp_url = u.ocsp, .ca_issuers_url = u.ca_issuers,
	};
	if ((leaf = pki_cert_build(&spec, key, ca->intermediate, ca->int_key, err)) == NULL) {
		moat_err_prefix(err, "cannot sign the certificate");
		return NULL;
	}
	if (pki_verify_chain(leaf, &ca->intermediate, 1, ca->root, NULL, 0, err) != 0) {
		moat_err_prefix(err, "the new certificate does not verify (nothing was written)");
		goto fail;
	}
	if (pki_cert_info(leaf, li, err) != 0)
		goto fail;
	return leaf;
fail:
	pki_cert_free(leaf);
	return NULL;
}

/* The database row of a new certificate. */
static int make_record(const struct moat_name *names, size_t n, const char *lineage,
		       const struct pki_cert_info *li, struct ca_record *rec, struct moat_err *err)
{
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->serial, sizeof(rec->serial), "%s", li->serial_hex);
	snprintf(rec->lineage, sizeof(rec->lineage), "%s", lineage);
	if (join_names(names, n, rec->names, sizeof(rec->names), err) != 0)
		return -1;
	rec->not_before = li->not_before;
	rec->not_after = li->not_after;
	rec->issued_at = time(NULL);
	return 0;
}

/* What ca_issue and ca_sign check before signing. */
static int check_request(struct ca *ca, const struct moat_name *names, size_t n, int days,
			 struct moat_err *err)
{
	if (n == 0) {
		moat_err_set(err, "no names given");
		return -1;
	}
	if (ca->int_key == NULL) {
		moat_err_set(err, "the CA's signing key is locked");
		return -1;
	}
	return ca_check_names(ca, names, n, err) != 0 || ca_check_days(ca, days, err) != 0 ? -1 : 0;
}

int ca_issue(struct ca *ca, const struct ca_issue_opts *o, struct ca_issued *res,
	     struct moat_err *err)
{
	struct pki_key *gen = NULL;
	const struct pki_key *key;
	struct pki_cert *leaf = NULL;
	struct pki_cert_info li;
	struct ca_bundle b = {MOAT_BUF_INIT, MOAT_BUF_INIT, MOAT_BUF_INIT, MOAT_BUF_INIT,
			      MOAT_BUF_INIT};
	struct moat_fileset *fs = NULL;
	struct ca_record rec;
	char live[PATH_MAX];
	int days = o->days ? o->days : CA_DEFAULT_DAYS;
	bool in_tx = false;
	int ret = -1;

	memset(&li, 0, sizeof(li));
	memset(res, 0, sizeof(*res));
	if (check_request(ca, o->names, o->nnames, days, err) != 0)
		goto out;
	moat_name_lineage(&o->names[0], res->lineage, sizeof(res->lineage));
	if (moat_path_join(live, sizeof(live), ca->home, "live", err) != 0 ||
	    moat_path_join(res->dir, sizeof(res->dir), live, res->lineage, err) != 0)
		goto out;
	if (moat_file_exists(res->dir) && !o->force) {
		moat_err_set(err, "a certificate for %s already exists in %s", o->names[0].text,
			     res->dir);
		moat_err_hint(err, "use --force to replace it");
		goto out;
	}
	if (o->csr_key != NULL) {
		key = o->csr_key;
	} else {
		if ((gen = pki_key_generate(o->key_type, err)) == NULL)
			goto out;
		key = gen;
	}

	if ((leaf = sign_leaf(ca, o->names, o->nnames, key, days, o->client, &li, err)) == NULL ||
	    make_bundle(ca, o, key, leaf, &b, err) != 0 ||
	    make_record(o->names, o->nnames, res->lineage, &li, &rec, err) != 0)
		goto out;

	if ((fs = moat_fileset_new()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (bundle_stage(fs, res->dir, &b, o->force, err) != 0)
		goto out;
	if (o->out_dir != NULL && bundle_stage(fs, o->out_dir, &b, o->force, err) != 0)
		goto out;
	if (ca_db_begin(ca->db, err) != 0)
		goto out;
	in_tx = true;
	if (ca_db_add(ca->db, &rec, (const char *)b.cert.data, err) != 0 ||
	    moat_fileset_commit(fs, err) != 0 || ca_db_commit(ca->db, err) != 0)
		goto out;
	in_tx = false;
	if (o->force) /* a replaced lineage must not keep a stale key or bundle */
		remove_stale(res->dir, &b);
	snprintf(res->serial, sizeof(res->serial), "%s", li.serial_hex);
	res->not_before = li.not_before;
	res->not_after = li.not_after;
	res->has_key = b.privkey.len > 0;
	res->has_p12 = b.p12.len > 0;
	ret = 0;
out:
	if (in_tx)
		ca_db_rollback(ca->db);
	moat_fileset_free(fs);
	bundle_free(&b);
	pki_cert_info_clear(&li);
	pki_cert_free(leaf);
	pki_key_free(gen);
	return ret;
}

/* ---- ca_sign: a leaf for a given key, recorded, no files ------------------ */

void ca_signed_clear(struct ca_signed *s)
{
	if (s == NULL)
		return;
	moat_buf_free(&s->cert_pem);
	moat_buf_free(&s->chain_pem);
	memset(s, 0, sizeof(*s));
}

int ca_sign(struct ca *ca, const struct ca_sign_opts *o, struct ca_signed *out,
	    struct moat_err *err)
{
	struct pki_cert *leaf = NULL;
	struct pki_cert_info li;
	struct ca_record rec;
	int days = o->days ? o->days : CA_DEFAULT_DAYS;
	bool in_tx = false;
	int ret = -1;

	memset(&li, 0, sizeof(li));
	memset(out, 0, sizeof(*out));
	if (o->key == NULL) {
		moat_err_set(err, "ca_sign: no key to certify");
		goto out;
	}
	if (check_request(ca, o->names, o->nnames, days, err) != 0 ||
	    (leaf = sign_leaf(ca, o->names, o->nnames, o->key, days, o->client, &li, err)) == NULL ||
	    make_record(o->names, o->nnames, o->lineage ? o->lineage : "", &li, &rec, err) != 0)
		goto out;
	if (pki_cert_to_pem(leaf, &out->cert_pem, err) != 0 ||
	    pki_cert_to_pem(ca->intermediate, &out->chain_pem, err) != 0) {
		moat_err_prefix(err, "cannot encode the certificate");
		goto out;
	}
	/* Recorded (committed; synchronous=FULL syncs it) before anyone sees it. */
	if (ca_db_begin(ca->db, err) != 0)
		goto out;
	in_tx = true;
	if (ca_db_add(ca->db, &rec, (const char *)out->cert_pem.data, err) != 0 ||
	    ca_db_commit(ca->db, err) != 0)
		goto out;
	in_tx = false;
	snprintf(out->serial, sizeof(out->serial), "%s", li.serial_hex);
	out->not_before = li.not_before;
	out->not_after = li.not_after;
	ret = 0;
out:
	if (in_tx)
		ca_db_rollback(ca->db);
	if (ret != 0)
		ca_signed_clear(out);
	pki_cert_info_clear(&li);
	pki_cert_free(leaf);
	return ret;
}
