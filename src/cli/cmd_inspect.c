/* cmd_inspect.c: moat inspect FILE... — a concise reading of PKI files. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/pass.h"
#include "pki/pki.h"

struct item {
	const char *file;
	size_t index;  /* within the file */
	size_t count;  /* objects in the file */
	struct pki_object *obj;
	struct pki_object *next_in_file; /* for chain order */
};

static json_t *san_json(char **san, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(san[i]));
	return a;
}

static void validity_text(int64_t nb, int64_t na, char *out, size_t n)
{
	char d1[16], d2[16];
	long left = cli_days_left(na);

	moat_date(nb, d1, sizeof(d1));
	moat_date(na, d2, sizeof(d2));
	if (cli_days_left(nb) > 0)
		snprintf(out, n, "%s to %s (NOT YET VALID)", d1, d2);
	else if (left < 0)
		snprintf(out, n, "%s to %s (EXPIRED %ld days ago)", d1, d2, -left);
	else
		snprintf(out, n, "%s to %s (%ld days left)", d1, d2, left);
}

static json_t *describe_cert(const struct item *it, bool json, struct moat_err *err)
{
	struct pki_cert_info i;
	json_t *j = NULL;
	char valid[96], nb[32], na[32];
	const char *order = NULL;

	memset(&i, 0, sizeof(i));
	if (pki_cert_info(it->obj->cert, &i, err) != 0)
		return NULL;
	if (it->next_in_file != NULL && it->next_in_file->kind == PKI_OBJ_CERT)
		order = pki_cert_signed_by(it->obj->cert, it->next_in_file->cert) ? "ok" : "wrong";
	validity_text(i.not_before, i.not_after, valid, sizeof(valid));
	if (json) {
		moat_time_iso(i.not_before, nb, sizeof(nb));
		moat_time_iso(i.not_after, na, sizeof(na));
		j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:b, "
			      "s:b, s:s, s:s, s:s, s:s?}",
			      "type", "certificate", "file", it->file, "index", (json_int_t)it->index,
			      "subject", i.subject, "issuer", i.issuer, "names", san_json(i.san, i.nsan),
			      "not_before", nb, "not_after", na, "days_left",
			      (json_int_t)cli_days_left(i.not_after), "key", i.key_desc, "signature",
			      i.sig_alg, "key_usage", i.key_usage, "extended_key_usage",
			      i.ext_key_usage, "ca", i.is_ca, "self_signed", i.self_signed, "serial",
			      i.serial_hex, "sha256", i.sha256, "name_constraints", i.name_constraints,
			      "signed_by_next", order);
		goto out;
	}
	printf("%s: certificate", it->file);
	if (it->count > 1)
		printf(" %zu of %zu", it->index + 1, it->count);
	printf("\n  subject      %s\n  names        ", i.subject);
	if (i.nsan == 0)
		printf("none (no subjectAltName%s)", i.is_ca ? "" : ": browsers and phones will reject it");
	for (size_t k = 0; k < i.nsan; k++)
		printf("%s%s", k ? ", " : "", i.san[k]);
	printf("\n  issuer       %s%s\n  valid        %s\n  key          %s, signed with %s\n",
	       i.issuer, i.self_signed ? " (self-signed)" : "", valid, i.key_desc, i.sig_alg);
	if (i.is_ca) {
		printf("  CA           yes");
		if (i.pathlen >= 0)
			printf(", path length %d", i.pathlen);
		printf("\n");
	}
	if (i.key_usage[0] || i.ext_key_usage[0])
		printf("  usage        %s%s%s\n", i.key_usage,
		       i.key_usage[0] && i.ext_key_usage[0] ? "; " : "", i.ext_key_usage);
	if (i.name_constraints[0])
		printf("  constraints  %s\n", i.name_constraints);
	printf("  serial       %s\n  SHA-256      %s\n", i.serial_hex, i.sha256);
	if (order != NULL)
		printf("  chain        %s\n", strcmp(order, "ok") == 0
						   ? "signed by the next certificate in the file"
						   : "NOT signed by the next certificate in the file (wrong order or wrong intermediate)");
	j = json_true();
out:
	pki_cert_info_clear(&i);
	return j;
}

static json_t *describe_csr(const struct item *it, bool json, struct moat_err *err)
{
	struct pki_csr_info i;
	json_t *j = NULL;

	memset(&i, 0, sizeof(i));
	if (pki_csr_info(it->obj->csr, &i, err) != 0)
		return NULL;
	if (json) {
		j = json_pack("{s:s, s:s, s:I, s:s, s:o, s:s, s:s, s:b}", "type", "csr", "file",
			      it->file, "index", (json_int_t)it->index, "subject", i.subject, "names",
			      san_json(i.san, i.nsan), "key", i.key_desc, "signature", i.sig_alg,
			      "signature_ok", i.signature_ok);
		goto out;
	}
	printf("%s: certificate signing request\n  subject      %s\n  names        ", it->file,
	       i.subject);
	if (i.nsan == 0)
		printf("none (no subjectAltName; `moat sign` copies the Common Name)");
	for (size_t k = 0; k < i.nsan; k++)
		printf("%s%s", k ? ", " : "", i.san[k]);
	printf("\n  key          %s\n  signature    %s, %s\n", i.key_desc, i.sig_alg,
	       i.signature_ok ? "verifies" : "DOES NOT VERIFY (altered or damaged)");
	j = json_true();
out:
	pki_csr_info_clear(&i);
	return j;
}

static json_t *describe_key(const struct item *it, bool json, struct pki_object *const *certs,
			    size_t ncerts, struct moat_err *err)
{
	char desc[64] = "", spki[100] = "", subject[512] = "";
	struct pki_cert_info ci;
	json_t *matches = json_array();
	bool any = false;

	if (it->obj->key != NULL) {
		pki_key_describe(it->obj->key, desc, sizeof(desc));
		if (pki_key_spki_sha256(it->obj->key, spki, sizeof(spki), err) != 0) {
			json_decref(matches);
			return NULL;
		}
		for (size_t k = 0; k < ncerts; k++) {
			if (!pki_key_matches_cert(it->obj->key, certs[k]->cert))
				continue;
			memset(&ci, 0, sizeof(ci));
			if (pki_cert_info(certs[k]->cert, &ci, NULL) == 0) {
				if (!any)
					snprintf(subject, sizeof(subject), "%s", ci.subject);
				json_array_append_new(matches, json_string(ci.subject));
				pki_cert_info_clear(&ci);
			}
			any = true;
		}
	}
	if (json)
		return json_pack("{s:s, s:s, s:I, s:b, s:s, s:s, s:o, s:b}", "type", "private key",
				 "file", it->file, "index", (json_int_t)it->index, "encrypted",
				 it->obj->encrypted, "key", desc, "spki_sha256", spki, "matches",
				 matches, "key_matches", any);
	json_decref(matches);
	printf("%s: private key\n", it->file);
	if (it->obj->key == NULL) {
		printf("  encrypted    yes (not decrypted; --decrypt opens it)\n");
		return json_true();
	}
	printf("  key          %s%s\n  SPKI SHA-256 %s\n", desc,
	       it->obj->encrypted ? " (encrypted)" : "", spki);
	if (ncerts > 0)
		printf("  %s\n", any ? "key matches the certificate" : "key does NOT match any certificate given");
	if (any)
		printf("               %s\n", subject);
	return json_true();
}

static json_t *describe_crl(const struct item *it, bool json, struct moat_err *err)
{
	struct pki_crl_info i;
	char tu[32], nu[32];

	memset(&i, 0, sizeof(i));
	if (pki_crl_info(it->obj->crl, &i, err) != 0)
		return NULL;
	moat_time_iso(i.this_update, tu, sizeof(tu));
	if (i.next_update != 0)
		moat_time_iso(i.next_update, nu, sizeof(nu));
	else
		snprintf(nu, sizeof(nu), "none");
	if (json)
		return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I}", "type", "crl", "file",
				 it->file, "index", (json_int_t)it->index, "issuer", i.issuer,
				 "this_update", tu, "next_update", nu, "number", i.number, "revoked",
				 (json_int_t)i.nrevoked);
	printf("%s: certificate revocation list\n  issuer       %s\n  updated      %s, next %s%s\n"
	       "  number       %s\n  revoked      %zu certificate%s\n",
	       it->file, i.issuer, tu, nu,
	       i.next_update != 0 && cli_days_left(i.next_update) < 0 ? " (OUT OF DATE)" : "",
	       i.number[0] ? i.number : "none", i.nrevoked, i.nrevoked == 1 ? "" : "s");
	return json_true();
}

/*
 * --decrypt: open the encrypted keys among the inputs, so that inspect can
 * say what they are and whether they match a certificate -- the way to
 * check that an offline root key and its passphrase still work.  One
 * passphrase for all of them; a file may hold one encrypted key.
 */
static int decrypt_keys(char **paths, struct pki_object **objs, const size_t *nobjs,
			size_t nfiles, const char *pass_file, struct moat_err *err)
{
	struct moat_buf pass = MOAT_BUF_INIT, b = MOAT_BUF_INIT;
	int ret = -1;

	for (size_t f = 0; f < nfiles; f++) {
		struct pki_object *enc = NULL;
		size_t count = 0;
		for (size_t i = 0; i < nobjs[f]; i++) {
			if (objs[f][i].kind == PKI_OBJ_KEY && objs[f][i].key == NULL) {
				enc = &objs[f][i];
				count++;
			}
		}
		if (count == 0)
			continue;
		if (count > 1) {
			moat_err_set(err, "%s holds %zu encrypted keys; --decrypt reads files with one",
				     paths[f], count);
			moat_err_hint(err, "split the file, one key per file");
			goto out;
		}
		if (pass.data == NULL &&
		    moat_pass_get(pass_file, CLI_ENV_CA_PASS, "Passphrase for the key: ", false,
				  &pass, err) != 0)
			goto out;
		if (moat_file_read(paths[f], PKI_MAX_INPUT, &b, err) != 0)
			goto out;
		enc->key = pki_key_from_pem(b.data, b.len, (const char *)pass.data, pass.len, err);
		moat_buf_wipe(&b);
		if (enc->key == NULL) {
			moat_err_prefix(err, "%s", paths[f]);
			moat_err_hint(err, "the passphrase comes from --passphrase-file, %s, or the "
					   "terminal, in that order",
				      CLI_ENV_CA_PASS);
			goto out;
		}
	}
	ret = 0;
out:
	moat_buf_wipe(&pass);
	moat_buf_wipe(&b);
	return ret;
}

int cli_cmd_inspect(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"decrypt", no_argument, NULL, 'd'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0}};
	struct moat_err err;
	bool json = false, decrypt = false;
	const char *pass_file = NULL;
	size_t nfiles = 0, nitems = 0, ncerts = 0;
	struct pki_object **objs = NULL, **certs = NULL;
	size_t *nobjs = NULL;
	struct item *items = NULL;
	json_t *arr = NULL;
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': decrypt = true; break;
		case 'p':
			pass_file = optarg;
			decrypt = true;
			break;
		default: return cli_bad_option("inspect", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("inspect", "which files? e.g. moat inspect fullchain.pem privkey.pem");
	nfiles = (size_t)(argc - optind);
	objs = calloc(nfiles, sizeof(*objs));
	nobjs = calloc(nfiles, sizeof(*nobjs));
	if (objs == NULL || nobjs == NULL) {
		moat_err_set(&err, "out of memory");
		goto out;
	}
	for (size_t f = 0; f < nfiles; f++) {
		struct moat_buf b = MOAT_BUF_INIT;
		const char *path = argv[optind + (int)f];
		int r = moat_file_read(path, PKI_MAX_INPUT, &b, &err);
		if (r == 0)
			r = pki_objects_parse(b.data, b.len, &objs[f], &nobjs[f], &err);
		moat_buf_wipe(&b);
		if (r != 0) {
			moat_err_prefix(&err, "%s", path);
			goto out;
		}
		nitems += nobjs[f];
	}
	if (decrypt &&
	    decrypt_keys(argv + optind, objs, nobjs, nfiles, pass_file, &err) != 0)
		goto out;
	items = calloc(nitems ? nitems : 1, sizeof(*items));
	certs = calloc(nitems ? nitems : 1, sizeof(*certs));
	if (items == NULL || certs == NULL) {
		moat_err_set(&err, "out of memory");
		goto out;
	}
	for (size_t f = 0, k = 0; f < nfiles; f++) {
		for (size_t i = 0; i < nobjs[f]; i++, k++) {
			items[k] = (struct item){argv[optind + (int)f], i, nobjs[f], &objs[f][i],
						 i + 1 < nobjs[f] ? &objs[f][i + 1] : NULL};
			if (objs[f][i].kind == PKI_OBJ_CERT)
				certs[ncerts++] = &objs[f][i];
		}
	}
	arr = json_array();
	for (size_t k = 0; k < nitems; k++) {
		json_t *j = NULL;
		switch (items[k].obj->kind) {
		case PKI_OBJ_CERT: j = describe_cert(&items[k], json, &err); break;
		case PKI_OBJ_CSR: j = describe_csr(&items[k], json, &err); break;
		case PKI_OBJ_KEY: j = describe_key(&items[k], json, certs, ncerts, &err); break;
		case PKI_OBJ_CRL: j = describe_crl(&items[k], json, &err); break;
		}
		if (j == NULL) {
			moat_err_prefix(&err, "%s", items[k].file);
			goto out;
		}
		if (json)
			json_array_append_new(arr, j);
		else
			json_decref(j);
		if (!json && k + 1 < nitems)
			printf("\n");
	}
	if (json) {
		ret = cli_json_print(json_pack("{s:o}", "objects", arr));
		arr = NULL;
		goto out;
	}
	ret = CLI_OK;
out:
	json_decref(arr);
	for (size_t f = 0; objs != NULL && f < nfiles; f++)
		pki_objects_free(objs[f], nobjs[f]);
	free(objs);
	free(nobjs);
	free(items);
	free(certs);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
