/* anchors.c: what a strict client trusts -- the roots in --ca FILE, or in
 * SSL_CERT_FILE, or in the system bundle (Debian, Fedora, Arch, Alpine). */
#include "check/internal.h"

#include <stdlib.h>

#include "core/file.h"

#define ANCHOR_FILE_MAX (8u << 20)

static const char *const system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt",             /* Debian, Ubuntu, Arch, Alpine */
	"/etc/pki/tls/certs/ca-bundle.crt",               /* Fedora, RHEL */
	"/etc/ssl/ca-bundle.pem",                         /* openSUSE */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",                              /* Alpine, macOS */
};

struct anchor_load {
	struct check_ctx *c;
	bool over;   /* more than CHECK_MAX_ANCHORS */
	bool nomem;
};

static int add_anchor(const struct pki_cert *cert, void *arg)
{
	struct anchor_load *l = arg;
	struct check_ctx *c = l->c;

	if (c->nanchors == CHECK_MAX_ANCHORS) {
		l->over = true;
		return 1;
	}
	if ((c->anchors[c->nanchors] = pki_cert_dup(cert)) == NULL) {
		l->nomem = true;
		return 1;
	}
	c->nanchors++;
	return 0;
}

/* A bundle holds more certificates than one PEM input may (PKI_MAX_OBJECTS):
 * it is the system's (or the user's) trusted file, taken whole. */
static int split_bundle(const unsigned char *data, size_t len, struct check_ctx *c,
			struct moat_err *err)
{
	struct anchor_load l = {.c = c};

	if ((c->anchors = calloc(CHECK_MAX_ANCHORS, sizeof(*c->anchors))) == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	if (pki_pem_each_cert(data, len, add_anchor, &l, err) != 0)
		return -1;
	if (l.nomem) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	if (l.over) {
		moat_err_set(err, "more than %d certificates", CHECK_MAX_ANCHORS);
		return -1;
	}
	return 0;
}

int check_load_anchors(struct check_ctx *c, struct moat_err *err)
{
	const char *file = c->o->ca_file, *env = getenv("SSL_CERT_FILE");
	struct moat_buf b = MOAT_BUF_INIT;
	int ret = -1;

	if (file == NULL && env != NULL && env[0] != '\0')
		file = env;
	for (size_t i = 0; file == NULL && i < sizeof(system_bundles) / sizeof(system_bundles[0]); i++)
		if (moat_file_exists(system_bundles[i]))
			file = system_bundles[i];
	if (file == NULL) {
		moat_err_set(err, "no trusted roots: no system CA bundle found");
		moat_err_hint(err, "install ca-certificates, or give the roots to trust with --ca FILE");
		return -1;
	}
	if (moat_file_read(file, ANCHOR_FILE_MAX, &b, err) != 0)
		goto out;
	if (split_bundle(b.data, b.len, c, err) != 0) {
		moat_err_prefix(err, "%s", file);
		goto out;
	}
	if (c->nanchors == 0) {
		moat_err_set(err, "%s holds no certificate", file);
		moat_err_hint(err, "give the roots to trust as PEM with --ca FILE");
		goto out;
	}
	ret = 0;
out:
	moat_buf_free(&b);
	return ret;
}

void check_ctx_clear(struct check_ctx *c)
{
	pki_certs_free(c->anchors, c->nanchors);
	pki_cert_free(c->fetched);
	pki_path_result_clear(&c->path);
	c->anchors = NULL;
	c->nanchors = 0;
	c->fetched = NULL;
}
