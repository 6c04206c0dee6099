/* curl_load.c: libcurl, loaded on first use.
 *
 * moat links no libcurl: a start of moat that makes no HTTP request does
 * not pay for loading it and the libraries it needs (GnuTLS, nettle,
 * Kerberos, LDAP, SSH, HTTP/2, IDN...: some 30).  The first request of a
 * process opens libcurl.so.4, looks up the functions in SYMS and calls
 * curl_global_init, once (pthread_once), whichever thread asks first. */
#include "fetch/curl_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "fetch/fetch.h"

static const struct {
	const char *name;
	size_t offset; /* of the pointer in struct fetch_curl */
} SYMS[] = {
	{"curl_global_init", offsetof(struct fetch_curl, global_init)},
	{"curl_version_info", offsetof(struct fetch_curl, version_info)},
	{"curl_easy_init", offsetof(struct fetch_curl, easy_init)},
	{"curl_easy_cleanup", offsetof(struct fetch_curl, easy_cleanup)},
	{"curl_easy_reset", offsetof(struct fetch_curl, easy_reset)},
	{"curl_easy_setopt", offsetof(struct fetch_curl, easy_setopt)},
	{"curl_easy_perform", offsetof(struct fetch_curl, easy_perform)},
	{"curl_easy_getinfo", offsetof(struct fetch_curl, easy_getinfo)},
	{"curl_easy_strerror", offsetof(struct fetch_curl, easy_strerror)},
	{"curl_slist_append", offsetof(struct fetch_curl, slist_append)},
	{"curl_slist_free_all", offsetof(struct fetch_curl, slist_free_all)},
	{"curl_getdate", offsetof(struct fetch_curl, getdate)},
};

/* Written once, by load(), before pthread_once returns to anyone. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct fetch_curl fns;
static const struct fetch_curl *loaded;
static struct moat_err load_err;

static void load(void)
{
	const curl_version_info_data *v;
	void *lib, *sym;
	const char *why;

	moat_err_clear(&load_err);
	if ((lib = dlopen(FETCH_LIBCURL, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		moat_err_set(&load_err, "cannot load libcurl (%s): %s", FETCH_LIBCURL,
			     why != NULL ? why : "unknown error");
		moat_err_hint(&load_err, "install libcurl4 (apt-get install libcurl4)");
		return;
	}
	for (size_t i = 0; i < sizeof(SYMS) / sizeof(SYMS[0]); i++) {
		(void)dlerror();
		if ((sym = dlsym(lib, SYMS[i].name)) == NULL) {
			why = dlerror();
			moat_err_set(&load_err, "cannot load libcurl (%s): no %s: %s", FETCH_LIBCURL,
				     SYMS[i].name, why != NULL ? why : "null symbol");
			moat_err_hint(&load_err, "reinstall libcurl4 (apt-get install --reinstall libcurl4)");
			goto out;
		}
		/* POSIX: a function's address from dlsym fits a void *. */
		memcpy((char *)&fns + SYMS[i].offset, &sym, sizeof(sym));
	}
	v = fns.version_info(CURLVERSION_NOW);
	if (v == NULL || v->version_num < FETCH_CURL_MIN_VERSION) {
		moat_err_set(&load_err, "libcurl %s (%s) is too old: moat needs %s or later",
			     v != NULL && v->version != NULL ? v->version : "?", FETCH_LIBCURL,
			     FETCH_CURL_MIN_TEXT);
		moat_err_hint(&load_err, "upgrade libcurl4 (apt-get install libcurl4)");
		goto out;
	}
	if (fns.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		moat_err_set(&load_err, "cannot initialise libcurl (%s)", FETCH_LIBCURL);
		goto out;
	}
	loaded = &fns; /* libcurl stays loaded until exit */
out:
	if (loaded == NULL) {
		memset(&fns, 0, sizeof(fns));
		dlclose(lib);
	}
}

const struct fetch_curl *fetch_curl(struct moat_err *err)
{
	if (pthread_once(&once, load) != 0) {
		moat_err_set(err, "cannot load libcurl (%s): pthread_once failed", FETCH_LIBCURL);
		return NULL;
	}
	if (loaded == NULL && err != NULL)
		*err = load_err;
	return loaded;
}

int fetch_load(struct moat_err *err)
{
	return fetch_curl(err) != NULL ? 0 : -1;
}
