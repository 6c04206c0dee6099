/* curl_load.h: libcurl's functions, loaded at run time (private to
 * src/fetch).  <curl/curl.h> gives the types and constants only: moat is
 * not linked with libcurl, so a direct call to curl_* would not link. */
#ifndef MOAT_FETCH_CURL_LOAD_H
#define MOAT_FETCH_CURL_LOAD_H

#include <curl/curl.h>
#include <time.h>

#include "core/err.h"

/* The oldest libcurl moat works with (CURLOPT_PROTOCOLS_STR: 7.85.0). */
#define FETCH_CURL_MIN_VERSION 0x075500
#define FETCH_CURL_MIN_TEXT "7.85.0"

/* The functions moat uses, with libcurl's own signatures (setopt and
 * getinfo are variadic there, so they are here). */
struct fetch_curl {
	CURLcode (*global_init)(long flags);
	curl_version_info_data *(*version_info)(CURLversion age);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *c);
	void (*easy_reset)(CURL *c);
	CURLcode (*easy_setopt)(CURL *c, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	time_t (*getdate)(const char *s, const time_t *unused);
};

/* libcurl, loaded (dlopen of FETCH_LIBCURL, RTLD_NOW | RTLD_LOCAL) and
 * initialised (curl_global_init) on the first call of the process, from
 * any thread; borrowed, valid until exit.  NULL with err filled (the
 * reason and a hint) when it cannot be: then every later call fails the
 * same way. */
const struct fetch_curl *fetch_curl(struct moat_err *err);

#endif
