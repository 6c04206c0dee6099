/* ca.c: creating and opening the CA. */
#include "ca/internal.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CA_ORG "moat private CA"
#define CA_NAME_MAX 50 /* leaves room for " Intermediate" in a 64-byte CN */

static void default_name(char *out, size_t n)
{
	char host[64] = "localhost";
	const char *user = NULL;
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		user = pw->pw_name;
	if (user == NULL)
		user = getenv("USER");
	(void)gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, n, "moat %.16s@%.24s", user ? user : "user", host);
}

static int check_ca_name(const char *name, struct moat_err *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > CA_NAME_MAX) {
		moat_err_set(err, "the CA name must be 1 to %d characters long", CA_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f) {
			moat_err_set(err, "the CA name must not contain control characters");
			return -1;
		}
	}
	return 0;
}

static int permits_to_text(const struct moat_permit *p, size_t n, struct moat_buf *out)
{
	for (size_t i = 0; i < n; i++)
		if (moat_buf_printf(out, "%s%s", i ? "\n" : "", p[i].text) != 0)
			return -1;
	return moat_buf_append(out, "", 0);
}

void ca_init_result_clear(struct ca_init_result *r)
{
	pki_cert_info_clear(&r->root);
	pki_cert_info_clear(&r->intermediate);
}

/* Write everything into a fresh private directory beside the final one. */
static int init_stage(const char *stage, const struct ca_init_opts *o, const char *name,
		      struct ca_init_result *res, struct moat_err *err)
{
	struct pki_key *rkey = NULL, *ikey = NULL;
	struct pki_cert *root = NULL, *inter = NULL;
	struct pki_crl *crl = NULL;
	struct moat_buf rkey_pem = MOAT_BUF_INIT, ikey_pem = MOAT_BUF_INIT;
	struct moat_buf root_pem = MOAT_BUF_INIT, inter_pem = MOAT_BUF_INIT;
	struct moat_buf crl_pem = MOAT_BUF_INIT, permits = MOAT_BUF_INIT;
	struct moat_fileset *fs = NULL;
	struct ca_db *db = NULL;
	char path[PATH_MAX], iname[128], now_s[32];
	int64_t now = time(NULL), nb = now - CA_BACKDATE;
	int ret = -1;

	snprintf(iname, sizeof(iname), "%s Intermediate", name);
	struct pki_cert_spec rspec = {
		.profile = PKI_PROFILE_ROOT, .common_name = name, .organization = CA_ORG,
		.permits = o->permits, .npermits = o->npermits,
		.not_before = nb, .not_after = nb + (int64_t)CA_ROOT_DAYS * 86400 - 1,
	};
	struct pki_cert_spec ispec = {
		.profile = PKI_PROFILE_INTERMEDIATE, .common_name = iname, .organization = CA_ORG,
		.permits = o->permits, .npermits = o->npermits,
		.not_before = nb, .not_after = nb + (int64_t)CA_INTERMEDIATE_DAYS * 86400 - 1,
	};

	if ((rkey = pki_key_generate(o->key_type, err)) == NULL ||
	    (ikey = pki_key_generate(o->key_type, err)) == NULL)
		goto out;
	if ((root = pki_cert_build(&rspec, rkey, NULL, rkey, err)) == NULL) {
		moat_err_prefix(err, "cannot make the root certificate");
		goto out;
	}
	if ((inter = pki_cert_build(&ispec, ikey, root, rkey, err)) == NULL) {
		moat_err_prefix(err, "cannot make the intermediate certificate");
		goto out;
	}
	if ((crl = pki_crl_build(inter, ikey, NULL, 0, 1, now, now + CA_CRL_DAYS * 86400, err)) ==
	    NULL)
		goto out;
	if (pki_key_to_pem(rkey, o->root_pass, o->root_passlen, &rkey_pem, err) != 0 ||
	    pki_key_to_pem(ikey, o->int_pass, o->int_passlen, &ikey_pem, err) != 0 ||
	    pki_cert_to_pem(root, &root_pem, err) != 0 ||
	    pki_cert_to_pem(inter, &inter_pem, err) != 0 || pki_crl_to_pem(crl, &crl_pem, err) != 0)
		goto out;
	if ((fs = moat_fileset_new()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
#define STAGE(file, buf, mode)                                                                \
	(moat_path_join(path, sizeof(path), stage, file, err) != 0 ||                          \
	 moat_fileset_add(fs, path, (buf).data, (buf).len, mode, false, err) != 0)
	if (STAGE("root-key.pem", rkey_pem, 0600) || STAGE("intermediate-key.pem", ikey_pem, 0600) ||
	    STAGE("root.pem", root_pem, 0644) || STAGE("intermediate.pem", inter_pem, 0644) ||
	    STAGE("crl.pem", crl_pem, 0644))
		goto out;
#undef STAGE
	if (moat_fileset_commit(fs, err) != 0)
		goto out;
	if (moat_path_join(path, sizeof(path), stage, "ca.db", err) != 0 ||
	    (db = ca_db_open(path, true, err)) == NULL)
		goto out;
	snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
	if (permits_to_text(o->permits, o->npermits, &permits) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (ca_db_begin(db, err) != 0)
		goto out;
	if (ca_db_meta_set(db, "name", name, err) != 0 ||
	    ca_db_meta_set(db, "permits", (const char *)permits.data, err) != 0 ||
	    ca_db_meta_set(db, "created", now_s, err) != 0 ||
	    ca_db_meta_set(db, "crl_number", "1", err) != 0 ||
	    (o->url != NULL && ca_db_meta_set(db, "url", o->url, err) != 0) ||
	    ca_db_commit(db, err) != 0) {
		ca_db_rollback(db);
		goto out;
	}
	if (pki_cert_info(root, &res->root, err) != 0 ||
	    pki_cert_info(inter, &res->intermediate, err) != 0)
		goto out;
	ret = 0;
out:
	ca_db_free(db);
	moat_fileset_free(fs);
	pki_key_free(rkey);
	pki_key_free(ikey);
	pki_cert_free(root);
	pki_cert_free(inter);
	pki_crl_free(crl);
	moat_buf_wipe(&rkey_pem);
	moat_buf_wipe(&ikey_pem);
	moat_buf_free(&root_pem);
	moat_buf_free(&inter_pem);
	moat_buf_free(&crl_pem);
	moat_buf_free(&permits);
	return ret;
}

int ca_init(const char *home, const struct ca_init_opts *o, struct ca_init_result *res,
	    struct moat_err *err)
{
	char stage[PATH_MAX], dir[PATH_MAX], backup[PATH_MAX] = "", name[CA_NAME_MAX + 1];
	char url[CA_URL_MAX + 1];
	struct ca_init_opts oo = *o;
	bool staged = false, home_created = !moat_dir_exists(home);
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (o->name != NULL)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		default_name(name, sizeof(name));
	if (check_ca_name(o->name ? o->name : name, err) != 0)
		goto out;
	if (o->url != NULL && ca_url_check(o->url, url, sizeof(url), err) != 0)
		goto out;
	if (o->npermits > CA_MAX_PERMITS) {
		moat_err_set(err, "too many --permit constraints (at most %d)", CA_MAX_PERMITS);
		goto out;
	}
	if (moat_fileset_mkdir(NULL, home, 0700, err) != 0)
		goto out;
	if (moat_path_join(dir, sizeof(dir), home, "ca", err) != 0)
		goto out;
	if (moat_file_exists(dir) && !o->force) {
		moat_err_set(err, "a CA already exists in %s", dir);
		moat_err_hint(err, "use --force to replace it (the old CA is kept as a backup)");
		goto out;
	}
	if (snprintf(stage, sizeof(stage), "%s/.ca-new-XXXXXX", home) >= (int)sizeof(stage)) {
		moat_err_set(err, "path too long: %s", home);
		goto out;
	}
	if (mkdtemp(stage) == NULL) {
		moat_err_errno(err, errno, "cannot create the CA in %s", home);
		goto out;
	}
	staged = true;
	oo.url = o->url != NULL ? url : NULL; /* normalised */
	if (init_stage(stage, &oo, name, res, err) != 0)
		goto out;
	if (moat_file_exists(dir)) {
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(backup, sizeof(backup), "%s/ca.replaced-%s", home, stamp);
		if (rename(dir, backup) != 0) {
			moat_err_errno(err, errno, "cannot move the old CA aside to %s", backup);
			goto out;
		}
	}
	if (rename(stage, dir) != 0) {
		moat_err_errno(err, errno, "cannot create %s", dir);
		if (backup[0] != '\0')
			(void)rename(backup, dir);
		goto out;
	}
	staged = false;
	(void)moat_dir_sync(home); /* make the renames durable */
	snprintf(res->dir, sizeof(res->dir), "%s", dir);
	snprintf(res->backup, sizeof(res->backup), "%s", backup);
	snprintf(res->name, sizeof(res->name), "%s", name);
	ret = 0;
out:
	if (staged)
		moat_dir_remove_flat(stage);
	if (ret != 0) {
		ca_init_result_clear(res);
		if (home_created)
			(void)rmdir(home);
	}
	return ret;
}

static struct pki_cert *load_cert(const char *dir, const char *file, struct moat_err *err)
{
	char path[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;

	if (moat_path_join(path, sizeof(path), dir, file, err) != 0)
		return NULL;
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &b, err) != 0) {
		moat_err_hint(err, "the CA in %s is incomplete; recreate it with `moat ca init --force`", dir);
		return NULL;
	}
	c = pki_cert_from_pem(b.data, b.len, err);
	if (c == NULL) {
		moat_err_prefix(err, "the CA file %s is corrupt", path);
		moat_err_hint(err, "restore it from a backup, or recreate the CA with `moat ca init --force`");
	}
	moat_buf_free(&b);
	return c;
}

struct ca *ca_open(const char *home, struct moat_err *err)
{
	struct ca *ca = calloc(1, sizeof(*ca));
	struct ca *ret = NULL;
	char path[PATH_MAX], permits[4096];

	if (ca == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	snprintf(ca->home, sizeof(ca->home), "%s", home);
	if (moat_path_join(ca->dir, sizeof(ca->dir), home, "ca", err) != 0)
		goto out;
	if (!moat_dir_exists(ca->dir)) {
		moat_err_set(err, "there is no CA in %s", home);
		moat_err_hint(err, "create one with `moat ca init` (or set MOAT_HOME to where your CA lives)");
		goto out;
	}
	if ((ca->root = load_cert(ca->dir, "root.pem", err)) == NULL ||
	    (ca->intermediate = load_cert(ca->dir, "intermediate.pem", err)) == NULL)
		goto out;
	/* Names and key identifiers only: the signatures are checked whenever
	 * a certificate is issued (pki_verify_chain) and by `moat ca show`. */
	if (!pki_cert_issued_by(ca->intermediate, ca->root)) {
		moat_err_set(err, "the CA in %s is inconsistent: intermediate.pem is not signed by root.pem",
			     ca->dir);
		moat_err_hint(err, "restore the CA from a backup, or recreate it with `moat ca init --force`");
		goto out;
	}
	if (moat_path_join(path, sizeof(path), ca->dir, "intermediate-key.pem", err) != 0)
		goto out;
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &ca->int_key_pem, err) != 0)
		goto out;
	ca->int_key_encrypted = pki_key_pem_is_encrypted(ca->int_key_pem.data, ca->int_key_pem.len);
	if (moat_path_join(path, sizeof(path), ca->dir, "ca.db", err) != 0 ||
	    (ca->db = ca_db_open(path, false, err)) == NULL)
		goto out;
	if (ca_db_meta_get(ca->db, "name", ca->name, sizeof(ca->name), err) != 0 ||
	    ca_db_meta_get(ca->db, "permits", permits, sizeof(permits), err) != 0 ||
	    ca_url_load(ca, err) != 0)
		goto out;
	for (char *save = NULL, *t = strtok_r(permits, "\n", &save); t != NULL;
	     t = strtok_r(NULL, "\n", &save)) {
		if (ca->npermits >= CA_MAX_PERMITS ||
		    moat_permit_parse(t, &ca->permits[ca->npermits], err) != 0) {
			moat_err_prefix(err, "the CA database lists a bad constraint");
			goto out;
		}
		ca->npermits++;
	}
	ret = ca;
	ca = NULL;
out:
	ca_free(ca);
	return ret;
}

int ca_check(const struct ca *ca, struct moat_err *err)
{
	const char *bad = NULL;

	if (!pki_cert_signed_by(ca->root, ca->root))
		bad = "root.pem does not carry a valid signature of its own key";
	else if (!pki_cert_signed_by(ca->intermediate, ca->root))
		bad = "intermediate.pem is not signed by root.pem";
	if (bad == NULL)
		return 0;
	moat_err_set(err, "the CA in %s is inconsistent: %s", ca->dir, bad);
	moat_err_hint(err, "restore the CA from a backup, or recreate it with `moat ca init --force`");
	return -1;
}

void ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	pki_cert_free(ca->root);
	pki_cert_free(ca->intermediate);
	pki_key_free(ca->int_key);
	pki_cert_free(ca->ocsp_cert);
	pki_key_free(ca->ocsp_key);
	moat_buf_wipe(&ca->int_key_pem);
	ca_db_free(ca->db);
	free(ca);
}

const char *ca_name(const struct ca *ca) { return ca->name; }
const struct pki_cert *ca_root(const struct ca *ca) { return ca->root; }
const struct pki_cert *ca_intermediate(const struct ca *ca) { return ca->intermediate; }
bool ca_signing_key_encrypted(const struct ca *ca) { return ca->int_key_encrypted; }

const struct moat_permit *ca_permits(const struct ca *ca, size_t *n)
{
	*n = ca->npermits;
	return ca->permits;
}

int ca_path(const struct ca *ca, const char *file, char *out, size_t n, struct moat_err *err)
{
	return moat_path_join(out, n, ca->dir, file, err);
}

int ca_unlock(struct ca *ca, const char *pass, size_t passlen, struct moat_err *err)
{
	struct pki_key *k = NULL;
	int ret = -1;

	if (ca->int_key != NULL)
		return 0;
	k = pki_key_from_pem(ca->int_key_pem.data, ca->int_key_pem.len,
			     ca->int_key_encrypted ? pass : NULL, ca->int_key_encrypted ? passlen : 0,
			     err);
	if (k == NULL) {
		moat_err_prefix(err, "cannot open the CA's signing key");
		goto out;
	}
	if (!pki_key_matches_cert(k, ca->intermediate)) {
		moat_err_set(err, "%s/intermediate-key.pem does not belong to intermediate.pem",
			     ca->dir);
		moat_err_hint(err, "restore the CA from a backup, or recreate it with `moat ca init --force`");
		goto out;
	}
	/* The text is no longer needed once the key is open. */
	moat_buf_wipe(&ca->int_key_pem);
	ca->int_key = k;
	k = NULL;
	ret = 0;
out:
	pki_key_free(k);
	return ret;
}

static void permits_list(const struct ca *ca, char *out, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ca->npermits && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%s", i ? ", " : "", ca->permits[i].text);
}

int ca_check_names(const struct ca *ca, const struct moat_name *names, size_t n,
		   struct moat_err *err)
{
	char list[1024];

	for (size_t i = 0; i < n; i++) {
		if (moat_permits_allow(ca->permits, ca->npermits, true, &names[i]))
			continue;
		permits_list(ca, list, sizeof(list));
		moat_err_set(err, "\"%s\" is outside this CA's name constraints (permitted: %s)",
			     names[i].text, list);
		moat_err_hint(err, "this CA was created with --permit and can only certify names under those; "
			      "clients would reject anything else");
		return -1;
	}
	return 0;
}
