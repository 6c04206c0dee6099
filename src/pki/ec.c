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
 * the structures.  Reading such a key back goes the same way: the first
 * OSSL_DECODER context of a process costs about as much, and every further
 * one about a twentieth of `moat issue`.  Other key types (RSA, Ed25519)
 * and any EC key not in exactly the form below keep the general path; unit
 * tests compare both paths byte for byte. */
#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
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

/* RFC 5915 ECPrivateKey, as OpenSSL writes it inside PKCS#8 (curve in the
 * PKCS#8 algorithm, so no [0] parameters):
 *   SEQUENCE { INTEGER 1, OCTET STRING d, [1] { BIT STRING 00 || point } } */
typedef struct {
	int32_t version;
	ASN1_OCTET_STRING *d;
	ASN1_BIT_STRING *point;
} EC_PRIV;

ASN1_SEQUENCE(EC_PRIV) = {
	ASN1_EMBED(EC_PRIV, version, INT32),
	ASN1_SIMPLE(EC_PRIV, d, ASN1_OCTET_STRING),
	ASN1_EXP(EC_PRIV, point, ASN1_BIT_STRING, 1),
} static_ASN1_SEQUENCE_END(EC_PRIV)

int pki_ec_pkcs8_der(EVP_PKEY *pkey, unsigned char **der, int *derlen)
{
	struct ec_parts p;
	BIGNUM *priv = NULL;
	unsigned char d[EC_FIELD_MAX];
	EC_PRIV k = {1, NULL, NULL};
	unsigned char *inner = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	int n = 0, rc = -1;

	*der = NULL;
	if (ec_parts(pkey, &p) != 1)
		return 0;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1 ||
	    BN_bn2binpad(priv, d, (int)p.field_len) != (int)p.field_len ||
	    (k.d = ASN1_OCTET_STRING_new()) == NULL || (k.point = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(k.d, d, (int)p.field_len) != 1 ||
	    ASN1_BIT_STRING_set(k.point, p.point, (int)p.point_len) != 1)
		goto out;
	/* every bit of the point: no trailing zero bits dropped */
	k.point->flags = (k.point->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT;
	if ((n = ASN1_item_i2d((ASN1_VALUE *)&k, &inner, ASN1_ITEM_rptr(EC_PRIV))) <= 0 ||
	    (p8 = PKCS8_PRIV_KEY_INFO_new()) == NULL)
		goto out;
	if (PKCS8_pkey_set0(p8, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), 0, V_ASN1_OBJECT,
			    OBJ_nid2obj(p.curve_nid), inner, n) != 1)
		goto out;
	inner = NULL; /* p8 owns it */
	if ((*derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, der)) <= 0) {
		*der = NULL;
		goto out;
	}
	rc = 1;
out:
	if (inner != NULL)
		OPENSSL_clear_free(inner, (size_t)n);
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the private key octets */
	ASN1_STRING_clear_free(k.d);
	ASN1_BIT_STRING_free(k.point);
	BN_clear_free(priv);
	OPENSSL_cleanse(d, sizeof(d));
	return rc;
}

/* The curve moat signs with, by its OID; 0 for any other curve. */
static size_t ec_named_field_len(int nid, const char **name)
{
	switch (nid) {
	case NID_X9_62_prime256v1: *name = "P-256"; return 32;
	case NID_secp384r1: *name = "P-384"; return 48;
	case NID_secp521r1: *name = "P-521"; return 66;
	default: return 0;
	}
}

/* The key from the parts of a PrivateKeyInfo.  The import refuses a point
 * that is not on the curve; like OpenSSL's own decoder it does not compute
 * d x G to compare (a key whose halves disagree makes signatures that do
 * not verify, and moat verifies what it signs before handing it out). */
static EVP_PKEY *ec_from_parts(const char *group, const unsigned char *d, size_t dlen,
			       const unsigned char *point, size_t plen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *priv = BN_secure_new();
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld == NULL || priv == NULL || BN_bin2bn(d, (int)dlen, priv) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params); /* its secure-heap part is cleansed */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	return pkey;
}

EVP_PKEY *pki_ec_from_pkcs8(const unsigned char *der, size_t len)
{
	PKCS8_PRIV_KEY_INFO *p8 =
		pki_der_whole(ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO), der, len, PKI_MAX_INPUT);
	const unsigned char *inner = NULL;
	int inner_len = 0, ptype = 0;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	const void *pval = NULL;
	const char *group = NULL;
	EC_PRIV *k = NULL;
	EVP_PKEY *pkey = NULL;
	size_t field;

	if (p8 == NULL || PKCS8_pkey_get0(NULL, &inner, &inner_len, &alg, p8) != 1 ||
	    PKCS8_pkey_get0_attrs(p8) != NULL)
		goto out;
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (OBJ_obj2nid(oid) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT ||
	    (field = ec_named_field_len(OBJ_obj2nid(pval), &group)) == 0)
		goto out;
	k = pki_der_whole(ASN1_ITEM_rptr(EC_PRIV), inner, (size_t)inner_len, PKI_MAX_INPUT);
	if (k == NULL || k->version != 1 || k->d->length != (int)field ||
	    k->point->length != (int)(1 + 2 * field) || k->point->data[0] != 0x04 ||
	    (k->point->flags & 0x07) != 0)
		goto out;
	pkey = ec_from_parts(group, k->d->data, field, k->point->data, (size_t)k->point->length);
out:
	if (k != NULL) {
		ASN1_STRING_clear_free(k->d);
		ASN1_BIT_STRING_free(k->point);
		OPENSSL_free(k);
	}
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the private key octets */
	ERR_clear_error();
	return pkey;
}
