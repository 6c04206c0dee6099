/* lineage.c: a certificate's files in certbot's layout. */
#include "ca/internal.h"

#include <string.h>

void ca_bundle_free(struct ca_bundle *b)
{
	moat_buf_wipe(&b->privkey);
	moat_buf_free(&b->cert);
	moat_buf_free(&b->chain);
	moat_buf_free(&b->fullchain);
	moat_buf_wipe(&b->p12);
}

int ca_bundle_stage(struct moat_fileset *fs, const char *dir, const struct ca_bundle *b,
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
