/* store.c: accounts and certificate lineages on disk (see store.h). */
#include "acme/store.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

#define MAX_JSON (64 * 1024)

/* snprintf of a path into out (n bytes); -1 with err if it does not fit. */
static int path_printf(char *out, size_t n, struct moat_err *err, const char *fmt, ...)
	MOAT_PRINTF(4, 5);

static int path_printf(char *out, size_t n, struct moat_err *err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (r >= 0 && (size_t)r < n)
		return 0;
	moat_err_set(err, "path too long");
	return -1;
}

int acme_store_account_dir(const char *home, const char *directory_url, char *out, size_t n,
			   struct moat_err *err)
{
	const char *h = strstr(directory_url, "://");
	char server[256];
	size_t len = 0;

	h = h != NULL ? h + 3 : directory_url;
	for (; *h != '\0' && *h != '/' && len + 1 < sizeof(server); h++) {
		char c = *h;
		/* ':' (before the port) and anything unsafe in a file name: '_' */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '[' || c == ']'))
			c = '_';
		server[len++] = c;
	}
	server[len] = '\0';
	if (len == 0) {
		moat_err_set(err, "no host in the server URL");
		return -1;
	}
	if (len > 4 && strcmp(server + len - 4, "_443") == 0)
		server[len - 4] = '\0';
	return path_printf(out, n, err, "%s/acme/accounts/%s", home, server);
}

int acme_store_account_save(const char *dir, const struct pki_key *key,
			    const struct acme_stored_account *a, bool replace, struct moat_err *err)
{
	struct moat_fileset *fs = NULL;
	struct moat_buf pem = MOAT_BUF_INIT;
	json_t *j = NULL;
	char *text = NULL, path[PATH_MAX];
	int ret = -1;

	j = json_pack("{s:i, s:s, s:s, s:s}", "version", 1, "directory", a->directory, "url",
		      a->url, "contact", a->contact);
	if (j == NULL || (text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL ||
	    (fs = moat_fileset_new()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (pki_key_to_pem(key, NULL, 0, &pem, err) != 0 ||
	    moat_fileset_mkdir(fs, dir, 0700, err) != 0 ||
	    moat_path_join(path, sizeof(path), dir, "account-key.pem", err) != 0 ||
	    moat_fileset_add(fs, path, pem.data, pem.len, 0600, replace, err) != 0 ||
	    moat_path_join(path, sizeof(path), dir, "account.json", err) != 0 ||
	    moat_fileset_add(fs, path, text, strlen(text), 0600, replace, err) != 0 ||
	    moat_fileset_commit(fs, err) != 0)
		goto out;
	ret = 0;
out:
	moat_fileset_free(fs);
	moat_buf_wipe(&pem);
	json_decref(j);
	free(text);
	return ret;
}

static void copy_str(char *dst, size_t n, const json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	snprintf(dst, n, "%s", json_is_string(v) ? json_string_value(v) : "");
}

struct pki_key *acme_store_account_load(const char *dir, struct acme_stored_account *a,
					struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_key *k = NULL;
	json_t *j = NULL;
	json_error_t je;
	char path[PATH_MAX];

	memset(a, 0, sizeof(*a));
	if (moat_path_join(path, sizeof(path), dir, "account.json", err) != 0)
		goto out;
	if (!moat_file_exists(path)) {
		moat_err_set(err, "no ACME account for this server yet (%s)", dir);
		moat_err_hint(err, "register one: moat acme register --email YOU --agree-tos "
				   "(with the same --server)");
		goto out;
	}
	if (moat_file_read(path, MAX_JSON, &b, err) != 0)
		goto out;
	j = json_loadb((const char *)b.data, b.len, 0, &je);
	copy_str(a->url, sizeof(a->url), j, "url");
	copy_str(a->directory, sizeof(a->directory), j, "directory");
	copy_str(a->contact, sizeof(a->contact), j, "contact");
	if (j == NULL || a->url[0] == '\0') {
		moat_err_set(err, "%s is damaged", path);
		moat_err_hint(err, "register again with --force to replace it");
		goto out;
	}
	moat_buf_free(&b);
	if (moat_path_join(path, sizeof(path), dir, "account-key.pem", err) != 0 ||
	    moat_file_read(path, MOAT_MAX_PEM_FILE, &b, err) != 0)
		goto out;
	if ((k = pki_key_from_pem(b.data, b.len, NULL, 0, err)) == NULL)
		moat_err_prefix(err, "%s", path);
out:
	moat_buf_wipe(&b);
	json_decref(j);
	return k;
}

/* The highest N of archive/NAME/certN.pem, 0 if none. */
static int last_version(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int max = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		int v;
		char tail[8];
		if (sscanf(e->d_name, "cert%d.pe%7s", &v, tail) == 2 && strcmp(tail, "m") == 0 &&
		    v > max)
			max = v;
	}
	closedir(d);
	return max;
}

/* live/NAME exists and holds real files (the private CA's layout). */
static bool private_ca_lineage(const char *live)
{
	char p[PATH_MAX];
	struct stat st;

	return snprintf(p, sizeof(p), "%s/privkey.pem", live) < (int)sizeof(p) &&
	       lstat(p, &st) == 0 && !S_ISLNK(st.st_mode);
}

static int relink(const char *live, const char *name, const char *target, struct moat_err *err)
{
	char final[PATH_MAX], tmp[PATH_MAX];

	if (path_printf(final, sizeof(final), err, "%s/%s", live, name) != 0 ||
	    path_printf(tmp, sizeof(tmp), err, "%s/.%s.tmp-%ld", live, name, (long)getpid()) != 0)
		return -1;
	(void)unlink(tmp);
	if (symlink(target, tmp) != 0 || rename(tmp, final) != 0) {
		moat_err_errno(err, errno, "cannot update %s", final);
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

static int renewal_text(const struct acme_renewal *rn, bool revoked, struct moat_buf *out)
{
	if (revoked && moat_buf_printf(out, "revoked_serial = %s\nrevoked_at = %lld\n",
				       rn->revoked_serial, (long long)rn->revoked_at) != 0)
		return -1;
	return moat_buf_printf(out,
			       "# moat acme renewal configuration (written by moat; edit with care)\n"
			       "version = 1\nserver = %s\nca_bundle = %s\nnames = %s\nkey_type = %s\n"
			       "challenge = %s\nwebroot = %s\nhttp_port = %d\nhttp_address = %s\n"
			       "profile = %s\npreferred_chain = %s\ndeploy_hook = %s\n"
			       "dns_hook = %s\ndns_resolver = %s\ndns_wait = %d\nmanual = %d\n"
			       "manual_hook = %s\ntls_port = %d\n",
			       rn->server, rn->ca_bundle, rn->names, rn->key_type, rn->challenge,
			       rn->webroot, rn->http_port, rn->http_address, rn->profile,
			       rn->preferred_chain, rn->deploy_hook, rn->dns_hook, rn->dns_resolver,
			       rn->dns_wait, rn->manual, rn->manual_hook, rn->tls_port);
}

int acme_store_lineage_save(const char *home, const char *lineage, const struct moat_buf *privkey,
			    const struct moat_buf *chain_pem, const struct acme_renewal *rn,
			    bool force, int *version, struct moat_err *err)
{
	static const char *const parts[] = {"cert", "chain", "fullchain", "privkey"};
	char archive[PATH_MAX], live[PATH_MAX], path[PATH_MAX], target[PATH_MAX];
	struct moat_buf text[4] = {MOAT_BUF_INIT, MOAT_BUF_INIT, MOAT_BUF_INIT, MOAT_BUF_INIT};
	struct moat_buf conf = MOAT_BUF_INIT;
	struct pki_cert **certs = NULL;
	struct moat_fileset *fs = NULL;
	size_t n = 0;
	int v, ret = -1;

	if (path_printf(archive, sizeof(archive), err, "%s/archive/%s", home, lineage) != 0 ||
	    path_printf(live, sizeof(live), err, "%s/live/%s", home, lineage) != 0)
		goto out;
	if (private_ca_lineage(live) && !force) {
		moat_err_set(err, "%s holds a certificate from your private CA", live);
		moat_err_hint(err, "use --force to replace it with the ACME certificate");
		goto out;
	}
	if (pki_certs_from_pem(chain_pem->data, chain_pem->len, &certs, &n, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (pki_cert_to_pem(certs[i], i == 0 ? &text[0] : &text[1], err) != 0 ||
		    pki_cert_to_pem(certs[i], &text[2], err) != 0)
			goto out;
	if (moat_buf_append(&text[3], privkey->data, privkey->len) != 0 ||
	    moat_buf_append(&text[1], "", 0) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	v = last_version(archive) + 1;
	if ((fs = moat_fileset_new()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (moat_fileset_mkdir(fs, archive, 0700, err) != 0)
		goto out;
	for (size_t i = 0; i < 4; i++)
		if (path_printf(path, sizeof(path), err, "%s/%s%d.pem", archive, parts[i], v) != 0 ||
		    moat_fileset_add(fs, path, text[i].data, text[i].len, i == 3 ? 0600 : 0644, false,
				     err) != 0)
			goto out;
	/* a new certificate: whatever was revoked is not live any more */
	if (snprintf(path, sizeof(path), "%s/renewal/%s.conf", home, lineage) >= (int)sizeof(path) ||
	    renewal_text(rn, false, &conf) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	{
		char rdir[PATH_MAX];
		snprintf(rdir, sizeof(rdir), "%s/renewal", home);
		if (moat_fileset_mkdir(fs, rdir, 0700, err) != 0 ||
		    moat_fileset_mkdir(fs, live, 0700, err) != 0 ||
		    moat_fileset_add(fs, path, conf.data, conf.len, 0600, true, err) != 0 ||
		    moat_fileset_commit(fs, err) != 0)
			goto out;
	}
	/* Only now point live/ at the new version (renaming each link over
	 * the old link or file): a failure before this point leaves the
	 * previous certificate in service. */
	for (size_t i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s.pem", parts[i]);
		if (path_printf(target, sizeof(target), err, "../../archive/%s/%s%d.pem", lineage,
				parts[i], v) != 0 ||
		    relink(live, name, target, err) != 0)
			goto out;
	}
	(void)moat_dir_sync(live);
	*version = v;
	ret = 0;
out:
	moat_fileset_free(fs);
	pki_certs_free(certs, n);
	for (size_t i = 0; i < 4; i++)
		moat_buf_wipe(&text[i]);
	moat_buf_free(&conf);
	return ret;
}

int acme_store_live_read(const char *home, const char *lineage, struct acme_live *out,
			 struct moat_err *err)
{
	char path[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	struct pki_cert_info info;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&info, 0, sizeof(info));
	if (path_printf(path, sizeof(path), err, "%s/live/%s/cert.pem", home, lineage) != 0)
		return -1;
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &b, err) != 0 ||
	    (c = pki_cert_from_pem(b.data, b.len, err)) == NULL || pki_cert_info(c, &info, err) != 0)
		goto out;
	out->not_before = info.not_before;
	out->not_after = info.not_after;
	snprintf(out->serial, sizeof(out->serial), "%s", info.serial_hex);
	ret = 0;
out:
	pki_cert_info_clear(&info);
	pki_cert_free(c);
	moat_buf_free(&b);
	return ret;
}

int acme_store_renewal_save(const char *home, const char *lineage, const struct acme_renewal *rn,
			    struct moat_err *err)
{
	struct moat_buf conf = MOAT_BUF_INIT;
	char path[PATH_MAX];
	int ret = -1;

	if (path_printf(path, sizeof(path), err, "%s/renewal/%s.conf", home, lineage) != 0)
		return -1;
	if (renewal_text(rn, true, &conf) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	ret = moat_file_write_atomic(path, conf.data, conf.len, 0600, err);
out:
	moat_buf_free(&conf);
	return ret;
}

/* Split a "key = value" line in place (blanks around both trimmed); false
 * for comments and lines without '='. */
static bool split_kv(char *line, char **key, char **value)
{
	char *eq = strchr(line, '='), *k = line, *v, *end;

	if (eq == NULL || line[0] == '#')
		return false;
	*eq = '\0';
	v = eq + 1;
	while (*k == ' ' || *k == '\t')
		k++;
	for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
		end[-1] = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r');
	     end--)
		end[-1] = '\0';
	*key = k;
	*value = v;
	return true;
}

/* One "key = value" line into rn; unknown keys are ignored (newer moat). */
static void renewal_line(char *line, struct acme_renewal *rn, int *version)
{
	char *k, *v;
	struct {
		const char *key;
		char *dst;
		size_t n;
	} fields[] = {
		{"server", rn->server, sizeof(rn->server)},
		{"ca_bundle", rn->ca_bundle, sizeof(rn->ca_bundle)},
		{"names", rn->names, sizeof(rn->names)},
		{"key_type", rn->key_type, sizeof(rn->key_type)},
		{"challenge", rn->challenge, sizeof(rn->challenge)},
		{"webroot", rn->webroot, sizeof(rn->webroot)},
		{"http_address", rn->http_address, sizeof(rn->http_address)},
		{"profile", rn->profile, sizeof(rn->profile)},
		{"preferred_chain", rn->preferred_chain, sizeof(rn->preferred_chain)},
		{"deploy_hook", rn->deploy_hook, sizeof(rn->deploy_hook)},
		{"dns_hook", rn->dns_hook, sizeof(rn->dns_hook)},
		{"dns_resolver", rn->dns_resolver, sizeof(rn->dns_resolver)},
		{"manual_hook", rn->manual_hook, sizeof(rn->manual_hook)},
		{"revoked_serial", rn->revoked_serial, sizeof(rn->revoked_serial)},
	};
	struct {
		const char *key;
		int *dst;
	} ints[] = {
		{"version", version},
		{"http_port", &rn->http_port},
		{"tls_port", &rn->tls_port},
		{"dns_wait", &rn->dns_wait},
		{"manual", &rn->manual},
	};

	if (!split_kv(line, &k, &v))
		return;
	if (strcmp(k, "revoked_at") == 0)
		rn->revoked_at = strtoll(v, NULL, 10);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (strcmp(k, ints[i].key) == 0)
			*ints[i].dst = atoi(v);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(k, fields[i].key) == 0 && strlen(v) < fields[i].n)
			memcpy(fields[i].dst, v, strlen(v) + 1);
}

int acme_store_renewal_load(const char *home, const char *lineage, struct acme_renewal *rn,
			    struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	char path[PATH_MAX], *save = NULL;
	int version = 0, ret = -1;

	memset(rn, 0, sizeof(*rn));
	if (path_printf(path, sizeof(path), err, "%s/renewal/%s.conf", home, lineage) != 0)
		return -1;
	if (!moat_file_exists(path)) {
		moat_err_set(err, "%s is not an ACME certificate of this MOAT_HOME (no %s)", lineage,
			     path);
		moat_err_hint(err, "moat acme list shows the certificates moat can renew");
		return -1;
	}
	if (moat_file_read(path, MAX_JSON, &b, err) != 0)
		return -1;
	for (char *l = strtok_r((char *)b.data, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		renewal_line(l, rn, &version);
	if (version != 1 || rn->server[0] == '\0' || rn->names[0] == '\0') {
		moat_err_set(err, "%s is damaged or from a newer moat", path);
		moat_err_hint(err, "issue the certificate again with moat acme issue");
		goto out;
	}
	ret = 0;
out:
	moat_buf_free(&b);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int acme_store_renewal_list(const char *home, char ***names, size_t *n, struct moat_err *err)
{
	char path[PATH_MAX], **v = NULL;
	size_t k = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (path_printf(path, sizeof(path), err, "%s/renewal", home) != 0)
		return -1;
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : (moat_err_errno(err, errno, "cannot read %s", path), -1);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0 || e->d_name[0] == '.')
			continue;
		if (k == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		if ((v[k] = strndup(e->d_name, len - 5)) != NULL)
			k++;
	}
	closedir(d);
	if (k > 0)
		qsort(v, k, sizeof(*v), cmp_str);
	*names = v;
	*n = k;
	return 0;
}

/* ---- the default server ----------------------------------------------- */

static int default_path(const char *home, char *out, size_t n)
{
	return (size_t)snprintf(out, n, "%s/acme/default.conf", home) < n ? 0 : -1;
}

int acme_store_default_save(const char *home, const char *server, const char *ca_bundle,
			    struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	char path[PATH_MAX], dir[PATH_MAX];
	int ret = -1;

	if (strpbrk(server, "\r\n") != NULL || strpbrk(ca_bundle, "\r\n") != NULL) {
		moat_err_set(err, "the server URL and the CA bundle path must be one line each");
		return -1;
	}
	if (default_path(home, path, sizeof(path)) != 0 ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/acme", home) >= sizeof(dir)) {
		moat_err_set(err, "path too long");
		return -1;
	}
	if (moat_buf_printf(&b, "# the ACME server of the last `moat acme register` (written by "
				"moat): the default of the acme commands in this MOAT_HOME\n"
				"server = %s\nca_bundle = %s\n", server, ca_bundle) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (moat_fileset_mkdir(NULL, dir, 0700, err) != 0 ||
	    moat_file_write_atomic(path, b.data, b.len, 0600, err) != 0)
		goto out;
	ret = 0;
out:
	moat_buf_free(&b);
	return ret;
}

int acme_store_default_load(const char *home, char *server, size_t server_n, char *ca_bundle,
			    size_t ca_bundle_n)
{
	struct moat_buf b = MOAT_BUF_INIT;
	char path[PATH_MAX], *save = NULL, *k, *v;

	server[0] = '\0';
	ca_bundle[0] = '\0';
	if (default_path(home, path, sizeof(path)) != 0 || !moat_file_exists(path) ||
	    moat_file_read(path, MAX_JSON, &b, NULL) != 0)
		return -1;
	for (char *l = strtok_r((char *)b.data, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		if (!split_kv(l, &k, &v))
			continue;
		if (strcmp(k, "server") == 0 && strlen(v) < server_n)
			memcpy(server, v, strlen(v) + 1);
		else if (strcmp(k, "ca_bundle") == 0 && strlen(v) < ca_bundle_n)
			memcpy(ca_bundle, v, strlen(v) + 1);
	}
	moat_buf_free(&b);
	return server[0] != '\0' ? 0 : -1;
}
