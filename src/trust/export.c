/* export.c: the root as PEM, DER, or an Apple configuration profile. */
#include "trust/trust.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/b64.h"

int trust_format_parse(const char *s, enum trust_format *out, struct moat_err *err)
{
	if (strcasecmp(s, "pem") == 0)
		*out = TRUST_PEM;
	else if (strcasecmp(s, "der") == 0 || strcasecmp(s, "crt") == 0 || strcasecmp(s, "cer") == 0)
		*out = TRUST_DER;
	else if (strcasecmp(s, "mobileconfig") == 0)
		*out = TRUST_MOBILECONFIG;
	else {
		char e[64];
		moat_escape(e, sizeof(e), s, strlen(s));
		moat_err_set(err, "unknown format \"%s\"", e);
		moat_err_hint(err, "use pem (Linux, Windows, browsers), der (Android) or mobileconfig "
			      "(iPhone, iPad, Mac)");
		return -1;
	}
	return 0;
}

int trust_markup_escape(struct moat_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		int r;
		switch (*s) {
		case '&': r = moat_buf_puts(b, "&amp;"); break;
		case '<': r = moat_buf_puts(b, "&lt;"); break;
		case '>': r = moat_buf_puts(b, "&gt;"); break;
		case '"': r = moat_buf_puts(b, "&quot;"); break;
		case '\'': r = moat_buf_puts(b, "&#39;"); break;
		default:
			/* control characters have no business in a name (nor in XML 1.0) */
			r = (unsigned char)*s < 0x20 || *s == 0x7f ? moat_buf_puts(b, "?")
								   : moat_buf_append(b, s, 1);
			break;
		}
		if (r != 0)
			return -1;
	}
	return 0;
}

/* A UUID (RFC 9562 version 8, "custom") from fingerprint hex digits,
 * salted by which so the two UUIDs of a profile differ. */
static void uuid_from_fp(const char *fp, int which, char out[37])
{
	char hex[33];
	size_t o = 0;

	for (const char *p = fp; *p != '\0' && o < 32; p++)
		if (*p != ':')
			hex[o++] = *p;
	while (o < 32)
		hex[o++] = '0';
	hex[32] = '\0';
	hex[0] = "0123456789ABCDEF"[which & 0xf];
	hex[12] = '8';                                       /* version 8 */
	hex[16] = "89AB"[(hex[16] >= 'A' ? hex[16] - 'A' + 10 : hex[16] - '0') & 3]; /* variant */
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int mobileconfig(const struct pki_cert *root, const char *name, struct moat_buf *out,
			struct moat_err *err)
{
	struct moat_buf der = MOAT_BUF_INIT, b = MOAT_BUF_INIT;
	struct pki_cert_info info;
	char u1[37], u2[37];
	int ret = -1;

	memset(&info, 0, sizeof(info));
	if (pki_cert_to_der(root, &der, err) != 0 || pki_cert_info(root, &info, err) != 0)
		goto out;
	uuid_from_fp(info.sha256, 1, u1);
	uuid_from_fp(info.sha256, 2, u2);
	if (moat_buf_puts(&b,
			  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
			  "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
			  "<plist version=\"1.0\">\n<dict>\n"
			  "\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n"
			  "\t\t\t<key>PayloadCertificateFileName</key>\n"
			  "\t\t\t<string>moat-root.cer</string>\n"
			  "\t\t\t<key>PayloadContent</key>\n\t\t\t<data>\n") != 0 ||
	    moat_b64_encode(&b, der.data, der.len, 52) != 0 ||
	    moat_buf_puts(&b, "\n\t\t\t</data>\n"
			      "\t\t\t<key>PayloadDescription</key>\n"
			      "\t\t\t<string>Adds a CA root certificate</string>\n"
			      "\t\t\t<key>PayloadDisplayName</key>\n\t\t\t<string>") != 0 ||
	    trust_markup_escape(&b, info.common_name) != 0 ||
	    moat_buf_printf(&b, "</string>\n"
				"\t\t\t<key>PayloadIdentifier</key>\n"
				"\t\t\t<string>com.apple.security.root.%s</string>\n"
				"\t\t\t<key>PayloadType</key>\n"
				"\t\t\t<string>com.apple.security.root</string>\n"
				"\t\t\t<key>PayloadUUID</key>\n\t\t\t<string>%s</string>\n"
				"\t\t\t<key>PayloadVersion</key>\n\t\t\t<integer>1</integer>\n"
				"\t\t</dict>\n\t</array>\n"
				"\t<key>PayloadDescription</key>\n\t<string>Installs the root "
				"certificate of the private CA &quot;", u1, u1) != 0 ||
	    trust_markup_escape(&b, name) != 0 ||
	    moat_buf_puts(&b, "&quot;. After installing the profile on iOS, turn on full trust "
			      "in Settings, General, About, Certificate Trust Settings.</string>\n"
			      "\t<key>PayloadDisplayName</key>\n\t<string>") != 0 ||
	    trust_markup_escape(&b, name) != 0 ||
	    moat_buf_printf(&b, " (moat root CA)</string>\n"
				"\t<key>PayloadIdentifier</key>\n\t<string>dev.moat.ca.%s</string>\n"
				"\t<key>PayloadRemovalDisallowed</key>\n\t<false/>\n"
				"\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
				"\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
				"\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
				"</dict>\n</plist>\n", u2, u2) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	*out = b;
	b = (struct moat_buf)MOAT_BUF_INIT;
	ret = 0;
out:
	pki_cert_info_clear(&info);
	moat_buf_free(&der);
	moat_buf_free(&b);
	return ret;
}

int trust_export(const struct pki_cert *root, const char *ca_name, enum trust_format f,
		 struct moat_buf *out, struct moat_err *err)
{
	switch (f) {
	case TRUST_PEM:
		return pki_cert_to_pem(root, out, err);
	case TRUST_DER:
		return pki_cert_to_der(root, out, err);
	case TRUST_MOBILECONFIG:
		return mobileconfig(root, ca_name, out, err);
	}
	moat_err_set(err, "unknown format");
	return -1;
}
