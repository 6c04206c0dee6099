/* revoke.c: the record of issued certificates, revocation and the CRL. */
#include "ca/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ca_list(struct ca *ca, struct ca_record **out, size_t *n, struct moat_err *err)
{
	return ca_db_list(ca->db, out, n, err);
}

/* Upper-case hex without colons, spaces or leading zeros; false if not hex. */
static bool normalize_serial(const char *in, char *out, size_t n)
{
	size_t o = 0;
	bool lead = true;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == ':' || c == ' ')
			continue;
		if (!isxdigit(c) || o + 1 >= n)
			return false;
		if (lead && c == '0')
			continue;
		lead = false;
		out[o++] = (char)toupper(c);
	}
	out[o] = '\0';
	return o > 0;
}

/* Serial of a certificate file, checking that this CA issued it. */
static int serial_of_file(struct ca *ca, const char *path, char *serial, size_t n,
			  struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	struct pki_cert_info info;
	int ret = -1;

	memset(&info, 0, sizeof(info));
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &b, err) != 0 ||
	    (c = pki_cert_from_pem(b.data, b.len, err)) == NULL ||
	    pki_cert_info(c, &info, err) != 0)
		goto out;
	if (!pki_cert_signed_by(c, ca->intermediate)) {
		moat_err_set(err, "%s was not issued by this CA", path);
		goto out;
	}
	if (!normalize_serial(info.serial_hex, serial, n)) {
		moat_err_set(err, "%s has an unusable serial number", path);
		goto out;
	}
	ret = 0;
out:
	pki_cert_info_clear(&info);
	pki_cert_free(c);
	moat_buf_free(&b);
	return ret;
}

int ca_revoke(struct ca *ca, const char *what, enum pki_reason reason, struct ca_record **out,
	      size_t *n, struct moat_err *err)
{
	struct ca_record *all = NULL, *hit = NULL;
	size_t nall = 0, nhit = 0;
	char serial[80] = "", rs[80];
	struct moat_name name;
	bool by_name = false;
	int64_t now = time(NULL);
	int ret = -1;

	if (moat_file_exists(what)) {
		if (serial_of_file(ca, what, serial, sizeof(serial), err) != 0)
			goto out;
	} else if (moat_name_parse(what, &name, NULL) == 0) {
		by_name = true;
		if (!normalize_serial(what, serial, sizeof(serial)))
			serial[0] = '\0';
	} else if (!normalize_serial(what, serial, sizeof(serial))) {
		moat_err_set(err, "\"%s\" is neither a name, a serial number nor a certificate file",
			     what);
		goto out;
	}
	if (ca_db_list(ca->db, &all, &nall, err) != 0)
		goto out;
	if ((hit = calloc(nall ? nall : 1, sizeof(*hit))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nall; i++) {
		bool match = normalize_serial(all[i].serial, rs, sizeof(rs)) && serial[0] != '\0' &&
			     strcmp(rs, serial) == 0;
		if (!match && by_name) {
			char list[sizeof(all[i].names) + 2];
			char needle[sizeof(name.text) + 2];
			snprintf(list, sizeof(list), ",%s,", all[i].names);
			snprintf(needle, sizeof(needle), ",%s,", name.text);
			match = strcmp(all[i].lineage, name.text) == 0 || strstr(list, needle) != NULL;
		}
		if (match && !all[i].revoked && all[i].not_after > now)
			hit[nhit++] = all[i];
	}
	if (nhit == 0) {
		moat_err_set(err, "no valid certificate of this CA matches \"%s\"", what);
		moat_err_hint(err, "see `moat ca list` for what was issued");
		goto out;
	}
	if (ca_db_begin(ca->db, err) != 0)
		goto out;
	for (size_t i = 0; i < nhit; i++) {
		if (ca_db_revoke(ca->db, hit[i].serial, now, (int)reason, err) != 0) {
			ca_db_rollback(ca->db);
			goto out;
		}
		hit[i].revoked = true;
		hit[i].revoked_at = now;
		hit[i].reason = (int)reason;
	}
	if (ca_write_crl(ca, NULL, NULL, err) != 0) {
		ca_db_rollback(ca->db);
		goto out;
	}
	if (ca_db_commit(ca->db, err) != 0)
		goto out;
	*out = hit;
	*n = nhit;
	hit = NULL;
	ret = 0;
out:
	free(all);
	free(hit);
	return ret;
}

static int write_crl(struct ca *ca, const char *extra_path, struct pki_crl_info *info,
		     struct moat_buf *der, struct moat_err *err)
{
	struct ca_record *all = NULL;
	struct pki_revoked *rv = NULL;
	struct pki_crl *crl = NULL;
	struct moat_buf pem = MOAT_BUF_INIT;
	struct moat_fileset *fs = NULL;
	size_t nall = 0, nrv = 0;
	uint64_t number;
	char path[PATH_MAX];
	int64_t now = time(NULL);
	int ret = -1;

	if (ca->int_key == NULL) {
		moat_err_set(err, "the CA's signing key is locked");
		goto out;
	}
	if (ca_db_list(ca->db, &all, &nall, err) != 0)
		goto out;
	if ((rv = calloc(nall ? nall : 1, sizeof(*rv))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nall; i++) {
		if (!all[i].revoked)
			continue;
		rv[nrv].serial_hex = all[i].serial;
		rv[nrv].revoked_at = all[i].revoked_at;
		rv[nrv].reason = (enum pki_reason)all[i].reason;
		nrv++;
	}
	if (ca_db_next_crl_number(ca->db, &number, err) != 0)
		goto out;
	if ((crl = pki_crl_build(ca->intermediate, ca->int_key, rv, nrv, number, now,
				 now + (int64_t)CA_CRL_DAYS * 86400, err)) == NULL ||
	    pki_crl_to_pem(crl, &pem, err) != 0)
		goto out;
	if ((fs = moat_fileset_new()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (ca_path(ca, "crl.pem", path, sizeof(path), err) != 0 ||
	    moat_fileset_add(fs, path, pem.data, pem.len, 0644, true, err) != 0)
		goto out;
	if (extra_path != NULL &&
	    moat_fileset_add(fs, extra_path, pem.data, pem.len, 0644, true, err) != 0)
		goto out;
	if (moat_fileset_commit(fs, err) != 0)
		goto out;
	if (info != NULL && pki_crl_info(crl, info, err) != 0)
		goto out;
	if (der != NULL && pki_crl_to_der(crl, der, err) != 0)
		goto out;
	ret = 0;
out:
	moat_fileset_free(fs);
	moat_buf_free(&pem);
	pki_crl_free(crl);
	free(rv);
	free(all);
	return ret;
}

int ca_write_crl(struct ca *ca, const char *extra_path, struct pki_crl_info *info,
		 struct moat_err *err)
{
	return write_crl(ca, extra_path, info, NULL, err);
}

int ca_crl_der(struct ca *ca, struct moat_buf *der, struct pki_crl_info *info,
	       struct moat_err *err)
{
	return write_crl(ca, NULL, info, der, err);
}
