/* check.h: seeing an HTTPS endpoint the way a strict client does (moat
 * check, moat fetch).  No OpenSSL here: the TLS probe is in src/net, the
 * certificate work in src/pki. */
#ifndef MOAT_CHECK_H
#define MOAT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define CHECK_HOST_MAX 256
#define CHECK_PATH_MAX 2048

enum check_scheme {
	CHECK_SCHEME_NONE,  /* host[:port]: TLS assumed */
	CHECK_SCHEME_HTTPS,
	CHECK_SCHEME_HTTP,
};

struct check_target {
	enum check_scheme scheme;
	char host[CHECK_HOST_MAX]; /* DNS name or IP address, no brackets */
	uint16_t port;             /* given, or 443 (80 for http://) */
	bool port_given;
	bool host_is_ip;
	char path[CHECK_PATH_MAX]; /* "/" when none */
};

/* https://host[:port][/path], http://..., host[:port], [v6addr]:port, v6addr.
 * The host must be a valid DNS name or IP address. */
int check_target_parse(const char *s, struct check_target *out, struct moat_err *err);

#endif
