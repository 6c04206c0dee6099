/* key.c: private keys: generation, PKCS#8 PEM (scrypt-encrypted or not),
 * reading, description and comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include "pki/internal.h"

#define PASS_MAX 1024 /* bytes of a passphrase */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16

static const struct key_type {
	enum pki_key_type type;
	const char *name;
	const char *alg;   /* EVP_PKEY_Q_keygen's key type */
	const char *curve; /* EC */
	size_t bits;       /* RSA */
} key_types[] = {
	{PKI_KEY_EC_P256, "ec-p256", "EC", "P-256", 0},
	{PKI_KEY_EC_P384, "ec-p384", "EC", "P-384", 0},
	{PKI_KEY_RSA_2048, "rsa-2048", "RSA", NULL, 2048},
	{PKI_KEY_RSA_3072, "rsa-3072", "RSA", NULL, 3072},
	{PKI_KEY_RSA_4096, "rsa-4096", "RSA", NULL, 4096},
	{PKI_KEY_ED25519, "ed25519", "ED25519", NULL, 0},
};

int pki_key_type_parse(const char *s, enum pki_key_type *out, struct moat_err *err)
{
	char shown[64];

	for (size_t i = 0; s != NULL && i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcasecmp(s, key_types[i].name) == 0) {
			*out = key_types[i].type;
			return 0;
		}
	}
	moat_escape(shown, sizeof(shown), s != NULL ? s : "", s != NULL ? strlen(s) : 0);
	moat_err_set(err,
		     "unknown key type \"%s\": use ec-p256, ec-p384, rsa-2048, rsa-3072, "
		     "rsa-4096 or ed25519",
		     shown);
	return -1;
}

static const struct key_type *key_type(enum pki_key_type t)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].type == t)
			return &key_types[i];
	return NULL;
}

const char *pki_key_type_name(enum pki_key_type t)
{
	return key_type(t) != NULL ? key_type(t)->name : "unknown";
}

struct pki_key *pki_key_generate(enum pki_key_type t, struct moat_err *err)
{
	const struct key_type *kt = key_type(t);
	EVP_PKEY *pkey;

	ERR_clear_error();
	if (kt == NULL) {
		moat_err_set(err, "unknown key type %d", (int)t);
		return NULL;
	}
	if (kt->curve != NULL)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, kt->alg, kt->curve);
	else if (kt->bits != 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, kt->alg, kt->bits);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, kt->alg);
	if (pkey == NULL) {
		pki_err_drain(err, "cannot generate a %s key", kt->name);
		return NULL;
	}
	return pki_key_wrap(pkey, true, err);
}

void pki_key_free(struct pki_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* ---- writing ------------------------------------------------------------ */

static int write_plain(EVP_PKEY *pkey, BIO *bio, struct moat_err *err)
{
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *der = NULL;
	int derlen = 0, rc = -1, fast;

	if ((fast = pki_ec_pkcs8_der(pkey, &der, &derlen)) != 0) {
		if (fast < 0 || PEM_write_bio(bio, "PRIVATE KEY", "", der, derlen) <= 0) {
			pki_err_drain(err, "cannot encode the key as PKCS#8");
			goto out;
		}
		rc = 0;
		goto out;
	}
	ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo",
					     NULL);
	if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
	    OSSL_ENCODER_to_bio(ectx, bio) != 1) {
		pki_err_drain(err, "cannot encode the key as PKCS#8");
		goto out;
	}
	rc = 0;
out:
	OSSL_ENCODER_CTX_free(ectx);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	return rc;
}

static int write_encrypted(EVP_PKEY *pkey, const char *pass, size_t passlen, BIO *bio,
			   struct moat_err *err)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *p8 = NULL;
	unsigned char salt[SALT_LEN];
	int rc = -1;

	if (passlen == 0) {
		moat_err_set(err, "the passphrase is empty");
		goto out;
	}
	if (passlen > PASS_MAX) {
		moat_err_set(err, "the passphrase is too long (at most %d bytes)", PASS_MAX);
		goto out;
	}
	p8inf = EVP_PKEY2PKCS8(pkey);
	if (p8inf == NULL) {
		pki_err_drain(err, "cannot encode the key as PKCS#8");
		goto out;
	}
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		pki_err_drain(err, "cannot get random bytes for the key encryption");
		goto out;
	}
	pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt, sizeof(salt), NULL, SCRYPT_N,
				    SCRYPT_R, SCRYPT_P);
	if (pbe == NULL) {
		pki_err_drain(err, "cannot set up scrypt key encryption");
		goto out;
	}
	p8 = PKCS8_set0_pbe_ex(pass, (int)passlen, p8inf, pbe, NULL, NULL);
	if (p8 == NULL) {
		pki_err_drain(err, "cannot encrypt the key");
		goto out;
	}
	pbe = NULL; /* owned by p8 now */
	if (PEM_write_bio_PKCS8(bio, p8) != 1) {
		pki_err_drain(err, "cannot write the encrypted key");
		goto out;
	}
	rc = 0;
out:
	X509_SIG_free(p8);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	return rc;
}

int pki_key_to_pem(const struct pki_key *k, const char *pass, size_t passlen,
		   struct moat_buf *out, struct moat_err *err)
{
	BIO *bio = NULL;
	int rc = -1;

	ERR_clear_error();
	if (k == NULL || !k->priv) {
		moat_err_set(err, "there is no private key to write");
		goto out;
	}
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	if (pass == NULL ? write_plain(k->pkey, bio, err)
			 : write_encrypted(k->pkey, pass, passlen, bio, err))
		goto out;
	rc = pki_bio_to_buf(bio, out, err);
out:
	BIO_free(bio);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

static const char *const key_labels[] = {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
					  "RSA PRIVATE KEY", "EC PRIVATE KEY", NULL};

static bool is_key_block(const char *name)
{
	for (size_t i = 0; key_labels[i] != NULL; i++)
		if (strcmp(name, key_labels[i]) == 0)
			return true;
	return false;
}

static bool traditional_encrypted(const struct pki_pem_block *b)
{
	return strcmp(b->name, "ENCRYPTED PRIVATE KEY") != 0 && b->header != NULL &&
	       strstr(b->header, "ENCRYPTED") != NULL;
}

/* Does the OpenSSL error queue hold this library/reason pair?  The queue
 * is cleared. */
static bool take_reason(int lib, int reason)
{
	unsigned long e;
	bool found = false;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_LIB(e) == lib && ERR_GET_REASON(e) == reason)
			found = true;
	return found;
}

/* Decrypt an EncryptedPrivateKeyInfo (PKCS#8). */
static EVP_PKEY *read_pkcs8_encrypted(const unsigned char *der, size_t len, const char *pass,
				      size_t passlen, struct moat_err *err)
{
	const unsigned char *p = der;
	X509_SIG *p8 = NULL;
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	EVP_PKEY *pkey = NULL;

	if (pass == NULL) {
		pki_err_set(err, "the key is encrypted and no passphrase was given");
		goto out;
	}
	if (passlen > PASS_MAX) {
		pki_err_set(err, "wrong passphrase for the key (longer than %d bytes)", PASS_MAX);
		goto out;
	}
	p8 = d2i_X509_SIG(NULL, &p, (long)len);
	if (p8 == NULL || p != der + len) {
		pki_err_drain(err, "the encrypted key is malformed");
		goto out;
	}
	p8inf = PKCS8_decrypt_ex(p8, pass, (int)passlen, NULL, NULL);
	if (p8inf == NULL) {
		if (take_reason(ERR_LIB_EVP, EVP_R_MEMORY_LIMIT_EXCEEDED))
			pki_err_set(err, "cannot decrypt the key: its scrypt parameters need "
					 "too much memory");
		else
			pki_err_set(err, "wrong passphrase for the key");
		goto out;
	}
	pkey = EVP_PKCS82PKEY_ex(p8inf, NULL, NULL);
	if (pkey == NULL) {
		pki_err_drain(err, "the decrypted key is not valid");
		goto out;
	}
	if (!pki_pkey_has_private(pkey)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		pki_err_set(err, "the input holds a public key, not a private key");
	}
out:
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	X509_SIG_free(p8);
	return pkey;
}

struct pass_arg {
	const char *pass;
	size_t len;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	const struct pass_arg *a = u;

	(void)rwflag;
	if (a == NULL || a->pass == NULL || size < 0 || a->len > (size_t)size)
		return -1;
	memcpy(buf, a->pass, a->len);
	return (int)a->len;
}

/* A traditional "RSA/EC PRIVATE KEY" block with "Proc-Type: 4,ENCRYPTED". */
static EVP_PKEY *read_traditional_encrypted(struct pki_pem_block *b, const char *pass,
					    size_t passlen, struct moat_err *err)
{
	EVP_CIPHER_INFO cipher;
	struct pass_arg arg = {pass, passlen};
	long len = b->len;
	EVP_PKEY *pkey = NULL;

	if (pass == NULL) {
		pki_err_set(err, "the key is encrypted and no passphrase was given");
		return NULL;
	}
	if (passlen > PASS_MAX) {
		pki_err_set(err, "wrong passphrase for the key (longer than %d bytes)", PASS_MAX);
		return NULL;
	}
	if (PEM_get_EVP_CIPHER_INFO(b->header, &cipher) != 1) {
		pki_err_drain(err, "the key is encrypted with an unsupported cipher");
		return NULL;
	}
	if (PEM_do_header(&cipher, b->der, &len, pass_cb, &arg) != 1) {
		pki_err_set(err, "wrong passphrase for the key");
		return NULL;
	}
	pkey = pki_der_private_key(b->der, (size_t)len);
	if (pkey == NULL)
		pki_err_set(err, "wrong passphrase for the key");
	return pkey;
}

static EVP_PKEY *read_block(struct pki_pem_block *b, const char *pass, size_t passlen,
			    struct moat_err *err)
{
	EVP_PKEY *pkey;

	if (strcmp(b->name, "ENCRYPTED PRIVATE KEY") == 0)
		return read_pkcs8_encrypted(b->der, (size_t)b->len, pass, passlen, err);
	if (traditional_encrypted(b))
		return read_traditional_encrypted(b, pass, passlen, err);
	pkey = pki_der_private_key(b->der, (size_t)b->len);
	if (pkey == NULL)
		pki_err_drain(err, "the %s block is not a valid private key",
			      b->name); /* one of the names is_key_block knows */
	return pkey;
}

static EVP_PKEY *read_pem(const void *data, size_t len, const char *pass, size_t passlen,
			  struct moat_err *err)
{
	struct pki_pem_block b = {0};
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	char other[64] = "";
	int r;

	bio = pki_mem_bio(data, len, err);
	if (bio == NULL)
		goto out;
	while ((r = pki_pem_next(bio, &b, err)) == 1) {
		if (is_key_block(b.name)) {
			pkey = read_block(&b, pass, passlen, err);
			goto out;
		}
		if (other[0] == '\0')
			moat_escape(other, sizeof(other), b.name, strlen(b.name));
		pki_pem_block_free(&b);
	}
	if (r == 0) {
		if (other[0] != '\0')
			pki_err_set(err, "no private key in the input (it holds a %s)", other);
		else
			pki_err_set(err, "no private key in the input");
	}
out:
	pki_pem_block_free(&b);
	BIO_free(bio);
	return pkey;
}

struct pki_key *pki_key_from_pem(const void *data, size_t len, const char *pass, size_t passlen,
				 struct moat_err *err)
{
	EVP_PKEY *pkey = NULL;

	ERR_clear_error();
	if (pki_input_check(data, len, "key", err) != 0)
		return NULL;
	if (pki_looks_pem(data, len)) {
		pkey = read_pem(data, len, pass, passlen, err);
	} else if (pki_der_is_encrypted_key(data, len)) {
		pkey = read_pkcs8_encrypted(data, len, pass, passlen, err);
	} else {
		pkey = pki_der_private_key(data, len);
		if (pkey == NULL)
			pki_err_set(err, "not a private key: no PEM block and not DER");
	}
	if (pkey == NULL)
		return NULL;
	if (pki_pkey_check_signer(pkey, err) != 0) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	ERR_clear_error();
	return pki_key_wrap(pkey, true, err);
}

bool pki_key_pem_is_encrypted(const void *data, size_t len)
{
	struct pki_pem_block b = {0};
	bool enc;

	if (data == NULL || len == 0 || len > PKI_MAX_INPUT)
		return false;
	if (!pki_looks_pem(data, len))
		return pki_der_is_encrypted_key(data, len);
	enc = pki_pem_find(data, len, key_labels, &b, NULL) == 1 &&
	      (strcmp(b.name, "ENCRYPTED PRIVATE KEY") == 0 || traditional_encrypted(&b));
	pki_pem_block_free(&b);
	ERR_clear_error();
	return enc;
}

/* ---- properties ------------------------------------------------------- */

bool pki_pkey_has_private(const EVP_PKEY *pkey)
{
	BIGNUM *bn = NULL;
	size_t len = 0;
	bool has = false;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1)
		has = bn != NULL;
	else if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0, &len) ==
		 1)
		has = len > 0;
	BN_clear_free(bn);
	ERR_clear_error();
	return has;
}

static void group_name(const EVP_PKEY *pkey, char *out, size_t n)
{
	size_t len = 0;

	if (EVP_PKEY_get_group_name(pkey, out, n, &len) != 1)
		snprintf(out, n, "unknown");
	ERR_clear_error();
}

static const char *nist_name(const char *group)
{
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return "P-256";
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return "P-384";
	if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
		return "P-521";
	return NULL;
}

const char *pki_pkey_nist(const EVP_PKEY *pkey)
{
	char g[64];

	if (!EVP_PKEY_is_a(pkey, "EC"))
		return NULL;
	group_name(pkey, g, sizeof(g));
	return nist_name(g);
}

const EVP_MD *pki_sign_md(const EVP_PKEY *pkey)
{
	const char *nist = pki_pkey_nist(pkey);

	if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448"))
		return NULL;
	if (nist != NULL && strcmp(nist, "P-384") == 0)
		return EVP_sha384();
	if (nist != NULL && strcmp(nist, "P-521") == 0)
		return EVP_sha512();
	return EVP_sha256();
}

void pki_pkey_describe(const EVP_PKEY *pkey, char *out, size_t n)
{
	char g[64];
	const char *nist;

	if (n == 0)
		return;
	if (pkey == NULL) {
		snprintf(out, n, "none");
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		group_name(pkey, g, sizeof(g));
		nist = nist_name(g);
		snprintf(out, n, "EC %s", nist != NULL ? nist : g);
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		snprintf(out, n, "RSA %d", EVP_PKEY_get_bits(pkey));
	} else if (EVP_PKEY_is_a(pkey, "RSA-PSS")) {
		snprintf(out, n, "RSA-PSS %d", EVP_PKEY_get_bits(pkey));
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		snprintf(out, n, "Ed25519");
	} else if (EVP_PKEY_is_a(pkey, "ED448")) {
		snprintf(out, n, "Ed448");
	} else {
		const char *t = EVP_PKEY_get0_type_name(pkey);

		snprintf(out, n, "%s %d", t != NULL ? t : "unknown", EVP_PKEY_get_bits(pkey));
	}
	ERR_clear_error();
}

int pki_pkey_check_signer(const EVP_PKEY *pkey, struct moat_err *err)
{
	char desc[64];

	if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448") ||
	    pki_pkey_nist(pkey) != NULL ||
	    (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 2048))
		return 0;
	pki_pkey_describe(pkey, desc, sizeof(desc));
	pki_err_set(err,
		    "unsupported key type %s: moat uses EC P-256/P-384/P-521, RSA of 2048 bits "
		    "or more, and Ed25519",
		    desc);
	return -1;
}

bool pki_key_is_rsa(const struct pki_key *k)
{
	return k != NULL && EVP_PKEY_is_a(k->pkey, "RSA");
}

bool pki_key_is_private(const struct pki_key *k)
{
	return k != NULL && k->priv;
}

void pki_key_describe(const struct pki_key *k, char *out, size_t n)
{
	pki_pkey_describe(k != NULL ? k->pkey : NULL, out, n);
}

int pki_key_spki_sha256(const struct pki_key *k, char *out, size_t n, struct moat_err *err)
{
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len, rc = -1;

	ERR_clear_error();
	if (k == NULL) {
		moat_err_set(err, "no key");
		goto out;
	}
	len = i2d_PUBKEY(k->pkey, &der);
	if (len <= 0) {
		pki_err_drain(err, "cannot encode the public key");
		goto out;
	}
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		pki_err_drain(err, "cannot hash the public key");
		goto out;
	}
	if (n < (size_t)mdlen * 3) {
		moat_err_set(err, "no room for the key fingerprint");
		goto out;
	}
	pki_hex_colons(md, mdlen, out, n);
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

bool pki_key_matches_key(const struct pki_key *a, const struct pki_key *b)
{
	bool eq;

	if (a == NULL || b == NULL)
		return false;
	eq = EVP_PKEY_eq(a->pkey, b->pkey) == 1;
	ERR_clear_error();
	return eq;
}

bool pki_key_matches_cert(const struct pki_key *k, const struct pki_cert *c)
{
	EVP_PKEY *pub;
	bool eq;

	if (k == NULL || c == NULL)
		return false;
	pub = X509_get0_pubkey(c->x);
	eq = pub != NULL && EVP_PKEY_eq(k->pkey, pub) == 1;
	ERR_clear_error();
	return eq;
}
