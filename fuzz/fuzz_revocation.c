/* fuzz_revocation: what moat check does with an OCSP response (fetched or
 * stapled), a CRL and a caIssuers answer, on arbitrary bytes:
 * pki_ocsp_check, pki_crl_from_any + pki_crl_check, pki_certs_from_any +
 * pki_cert_urls + pki_cert_matches_host.
 *
 * The certificate and its issuer are fixed (made once with moat's pki
 * builders, below as PEM) so that the seeds in fuzz/corpus/revocation --
 * an OCSP response from `openssl ocsp` and a CRL from pki_crl_build for
 * exactly this pair -- match the CertID and verify: the fuzzer starts
 * deep in the checks rather than at "not about this certificate". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pki.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* When the seeds were made: responses and CRLs are fresh then. */
#define SEED_TIME INT64_C(1795454096)

static const char issuer_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBrzCCAVWgAwIBAgIQZonAHn7zelPgpvj/ibxriDAKBggqhkjOPQQDAjAUMRIw\n"
	"EAYDVQQDDAlGdXp6IFJvb3QwHhcNMjYxMTIzMTYxMzU2WhcNMzYxMTIwMTcxMzU2\n"
	"WjAWMRQwEgYDVQQDDAtGdXp6IElzc3VlcjBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
	"A0IABJ5L173/mnIK36TNm6anpBEu3vSkgcW0PohIRwW+DsNzczSWBbXNEKCMcKr+\n"
	"MNG+0QDY/UO8MMG6EDC9q6S3+jWjgYYwgYMwEgYDVR0TAQH/BAgwBgEB/wIBADAO\n"
	"BgNVHQ8BAf8EBAMCAYYwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMB0G\n"
	"A1UdDgQWBBS+nFvA338j13DZVgjPWhO5AxIyVTAfBgNVHSMEGDAWgBRn9jkRgfK8\n"
	"71JmrUpCTGCplvyr1jAKBggqhkjOPQQDAgNIADBFAiEAsVJh7jeC5MngvErhZ3gR\n"
	"YjiU11kQJurZyYXtV9f2hUYCICyt3sLICVgcAOQT8a1t9BAmFIhLyDNkaGP/wlFp\n"
	"4jiC\n"
	"-----END CERTIFICATE-----\n";

static const char leaf_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBujCCAWGgAwIBAgIQL/o4lCwWeejUhAaX5jbjyjAKBggqhkjOPQQDAjAWMRQw\n"
	"EgYDVQQDDAtGdXp6IElzc3VlcjAeFw0yNjExMjMxNjEzNTZaFw0zNjExMjAxNzEz\n"
	"NTZaMBcxFTATBgNVBAMMDGZ1enouZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49\n"
	"AwEHA0IABJ5kMmF3eihU9cj8sPETi/7yCJ7kKqw+HOus0kodujzRsOYVgNONoMtw\n"
	"ehDcU/wQlHDOWwKnlZn3yAxCHCYcPA6jgY8wgYwwDAYDVR0TAQH/BAIwADAOBgNV\n"
	"HQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwFwYDVR0RBBAwDoIMZnV6\n"
	"ei5leGFtcGxlMB0GA1UdDgQWBBRydnQY3NFxz0jlCuBQpfwZY5gAwTAfBgNVHSME\n"
	"GDAWgBS+nFvA338j13DZVgjPWhO5AxIyVTAKBggqhkjOPQQDAgNHADBEAiBeQd0+\n"
	"FuFVt24L4YbUfrZ1K8kGMRcfHP02OJAzzS62ogIgDRum7LnijpoCCnVsTsNtsS/H\n"
	"yjZm/ZCJss1nlmSf3oM=\n"
	"-----END CERTIFICATE-----\n";

static struct pki_cert *issuer, *leaf;
static struct pki_ocsp_req *req;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct moat_err err = {0};

	(void)argc;
	(void)argv;
	if (pki_init(&err) != 0)
		abort();
	issuer = pki_cert_from_pem(issuer_pem, strlen(issuer_pem), &err);
	leaf = pki_cert_from_pem(leaf_pem, strlen(leaf_pem), &err);
	if (issuer == NULL || leaf == NULL)
		abort();
	req = pki_ocsp_req_new(leaf, issuer, true, &err);
	if (req == NULL)
		abort();
	return 0;
}

static void ocsp(const uint8_t *data, size_t size)
{
	struct moat_err err;
	struct pki_ocsp_result res;

	/* stapled (no request) and answering a request with a nonce, now and
	 * much later */
	(void)pki_ocsp_check(NULL, leaf, issuer, data, size, SEED_TIME, &res, &err);
	(void)pki_ocsp_check(req, leaf, issuer, data, size, SEED_TIME + 400 * 86400, &res, &err);
}

static void crl(const uint8_t *data, size_t size)
{
	struct moat_err err;
	struct pki_crl_check out;
	struct pki_crl *c = pki_crl_from_any(data, size, &err);

	if (c == NULL)
		return;
	(void)pki_crl_check(c, leaf, issuer, SEED_TIME, &out, &err);
	(void)pki_crl_check(c, issuer, issuer, SEED_TIME, &out, &err);
	pki_crl_free(c);
}

static void ca_issuers(const uint8_t *data, size_t size)
{
	struct moat_err err;
	struct pki_cert **certs = NULL;
	struct pki_cert_urls urls;
	size_t n = 0;
	bool cn_only;

	if (pki_certs_from_any(data, size, &certs, &n, &err) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		(void)pki_cert_urls(certs[i], &urls, &err);
		(void)pki_cert_matches_host(certs[i], "www.fuzz.example", &cn_only);
		(void)pki_cert_matches_host(certs[i], "192.0.2.1", &cn_only);
		(void)pki_cert_key_bits(certs[i]);
		(void)pki_cert_sig_sha1(certs[i]);
	}
	pki_certs_free(certs, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ocsp(data, size);
	crl(data, size);
	ca_issuers(data, size);
	return 0;
}
