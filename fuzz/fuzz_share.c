/* fuzz_share: what any device on the LAN may send to `moat trust share`.
 * The bytes go through the engine's request parser, then to the share
 * page's handler, as on a real connection.  Besides crashes and
 * out-of-bounds reads it checks the reply: a status the engine accepts, a
 * body whose length is right, and nothing but the public root's files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http_parse.h"
#include "net/net.h"
#include "pki/pki.h"
#include "trust/share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct trust_share *share;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pki_cert_spec spec;
	struct trust_share_opts o;
	struct moat_err err;
	struct pki_key *k;
	struct pki_cert *root;

	(void)argc;
	(void)argv;
	moat_err_clear(&err);
	if (pki_init(&err) != 0 || (k = pki_key_generate(PKI_KEY_EC_P256, &err)) == NULL)
		abort();
	memset(&spec, 0, sizeof(spec));
	spec.profile = PKI_PROFILE_ROOT;
	spec.common_name = "Fuzz <Root> & \"CA\"";
	spec.not_before = time(NULL) - 60;
	spec.not_after = time(NULL) + 86400;
	if ((root = pki_cert_build(&spec, k, NULL, k, &err)) == NULL)
		abort();
	memset(&o, 0, sizeof(o));
	o.root = root;
	o.listen_addr = "127.0.0.1";
	o.host = "192.168.1.20";
	/* Listens on a free loopback port but never serves: the handler is
	 * called directly. */
	if ((share = trust_share_new(&o, &err)) == NULL)
		abort();
	pki_cert_free(root);
	pki_key_free(k);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct net_http_head h;
	struct net_http_request req;
	struct net_http_reply reply = {404, NULL, NULL, 0, false};

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	net_http_head_reset(&h);
	if (net_http_parse_head(buf, size, &h) != NET_HTTP_PARSE_DONE)
		goto out;
	req.method = h.method;
	req.target = h.target;
	req.host = h.host;
	req.peer = "192.0.2.1";
	req.version_minor = h.version_minor;
	trust_share_handle(share, &req, &reply);
	if (reply.status < 200 || reply.status > 599)
		abort();
	if (reply.body != NULL) {
		/* touch every byte: ASan sees a body shorter than len */
		volatile unsigned char sum = 0;
		for (size_t i = 0; i < reply.len; i++)
			sum ^= ((const unsigned char *)reply.body)[i];
		(void)sum;
		if (memmem(reply.body, reply.len, "PRIVATE KEY", 11) != NULL)
			abort();
	}
	if (reply.status == 200 && strcmp(h.method, "GET") != 0 && strcmp(h.method, "HEAD") != 0)
		abort();
	if (reply.free_body)
		free((void *)reply.body);
out:
	free(buf);
	return 0;
}
