/* ec.c: named-curve EC keys in their two standard encodings, without
 * OpenSSL 3.0's encoder machinery.
 *
 * In OpenSSL 3.0 the first OSSL_ENCODER use in a process builds a table of
 * every encoder the providers offer, which costs more CPU than generating
 * and signing a P-256 certificate.  X509_set_pubkey() and PKCS#8 output
 * both go through it.  For EC keys on a named curve the encodings are
 * small and fixed (RFC 5480 SubjectPublicKeyInfo, RFC 5915 ECPrivateKey
 * inside RFC 5208 PKCS#8), so we take the key's numbers through the
 * provider's parameter interface and let OpenSSL's ASN.1 templates encode
 * the outer structures.  Other key types (RSA, Ed25519) keep the general
 * path; unit tests compare both paths byte for byte. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "pki/internal.h"

#define EC_FIELD_MAX 66               /* P-521 */
#define EC_POINT_MAX (1 + 2 * EC_FIELD_MAX)

struct ec_parts {
	int curve_nid;
	size_t field_len;
	unsigned char point[EC_POINT_MAX]; /* uncompressed: 04 || X || Y */
	size_t point_len;
};

/* 1: an EC key on a named curve with an uncompressed public point (parts
 * filled); 0: anything else, for the general path. */
static int ec_parts(EVP_PKEY *pkey, struct ec_parts *p)
{
	char group[64];
	int bits;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   NULL) != 1 ||
	    (p->curve_nid = OBJ_txt2nid(group)) == NID_undef ||
	    (bits = EVP_PKEY_get_bits(pkey)) <= 0 ||
	    (p->field_len = ((size_t)bits + 7) / 8) > EC_FIELD_MAX ||
	    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, p->point,
					    sizeof(p->point), &p->point_len) != 1 ||
	    p->point_len != 1 + 2 * p->field_len || p->point[0] != 0x04) {
		ERR_clear_error();
		return 0;
	}
	return 1;
}

int pki_ec_set_x509_pubkey(X509 *x, EVP_PKEY *pkey)
{
	struct ec_parts p;
	unsigned char *bits;

	if (ec_parts(pkey, &p) != 1)
		return 0;
	/* algorithm id-ecPublicKey with the curve, and the point */
	if ((bits = OPENSSL_memdup(p.point, p.point_len)) == NULL)
		return -1;
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
				   V_ASN1_OBJECT, OBJ_nid2obj(p.curve_nid), bits,
				   (int)p.point_len) != 1) {
		OPENSSL_free(bits);
		return -1;
	}
	return 1;
}

/* DER length octets for n (n < 65536) at out; returns how many. */
static size_t der_len(unsigned char *out, size_t n)
{
	if (n < 0x80) {
		out[0] = (unsigned char)n;
		return 1;
	}
	if (n < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)n;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(n >> 8);
	out[2] = (unsigned char)n;
	return 3;
}

/*
 * RFC 5915 ECPrivateKey, as OpenSSL writes it inside PKCS#8 (curve in the
 * PKCS#8 algorithm, so no [0] parameters):
 *   SEQUENCE { INTEGER 1, OCTET STRING d, [1] { BIT STRING 00 || point } }
 */
static size_t ec_private_der(unsigned char *out, const unsigned char *d, const struct ec_parts *p)
{
	unsigned char *q = out;
	size_t bitstr = 2 + 1 + p->point_len; /* 03 len 00 point (len < 128 up to P-384) */
	size_t tagged, body;

	if (p->point_len + 1 >= 0x80)
		bitstr = 3 + 1 + p->point_len;
	tagged = bitstr + (bitstr < 0x80 ? 2 : 3);
	body = 3 + 2 + p->field_len + tagged;

	*q++ = 0x30; /* SEQUENCE */
	q += der_len(q, body);
	*q++ = 0x02; /* INTEGER 1 */
	*q++ = 0x01;
	*q++ = 0x01;
	*q++ = 0x04; /* OCTET STRING d */
	*q++ = (unsigned char)p->field_len;
	memcpy(q, d, p->field_len);
	q += p->field_len;
	*q++ = 0xa1; /* [1] */
	q += der_len(q, bitstr);
	*q++ = 0x03; /* BIT STRING */
	q += der_len(q, p->point_len + 1);
	*q++ = 0x00;
	memcpy(q, p->point, p->point_len);
	q += p->point_len;
	return (size_t)(q - out);
}

int pki_ec_pkcs8_der(EVP_PKEY *pkey, unsigned char **der, int *derlen)
{
	struct ec_parts p;
	BIGNUM *priv = NULL;
	unsigned char d[EC_FIELD_MAX];
	unsigned char inner[32 + EC_FIELD_MAX + EC_POINT_MAX];
	unsigned char *copy = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	size_t n;
	int rc = -1;

	*der = NULL;
	if (ec_parts(pkey, &p) != 1)
		return 0;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1 ||
	    BN_bn2binpad(priv, d, (int)p.field_len) != (int)p.field_len)
		goto out;
	n = ec_private_der(inner, d, &p);
	if ((copy = OPENSSL_memdup(inner, n)) == NULL || (p8 = PKCS8_PRIV_KEY_INFO_new()) == NULL)
		goto out;
	if (PKCS8_pkey_set0(p8, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), 0, V_ASN1_OBJECT,
			    OBJ_nid2obj(p.curve_nid), copy, (int)n) != 1)
		goto out;
	copy = NULL; /* p8 owns it */
	if ((*derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, der)) <= 0) {
		*der = NULL;
		goto out;
	}
	rc = 1;
out:
	if (copy != NULL)
		OPENSSL_clear_free(copy, n);
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the private key octets */
	BN_clear_free(priv);
	OPENSSL_cleanse(d, sizeof(d));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}
