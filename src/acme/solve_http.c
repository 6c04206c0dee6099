/* solve_http.c: http-01 (RFC 8555 section 8.3) answered by moat's own
 * server (standalone) or by files under a web server's document root
 * (webroot). */
#include "acme/solve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "net/net.h"

#define PREFIX "/.well-known/acme-challenge/"
#define MAX_TOKENS 100

struct entry {
	char token[256];
	char ka[512];
};

struct acme_http01 {
	struct net_server *srv;  /* standalone; NULL for webroot */
	char webroot[4096];      /* webroot; "" for standalone */
	pthread_mutex_t mu;
	struct entry e[MAX_TOKENS];
	size_t n;
};

static void handle(void *arg, const struct net_http_request *req, struct net_http_reply *reply)
{
	struct acme_http01 *h = arg;
	const char *token;
	static __thread char body[512];

	reply->status = 404;
	reply->body = "not found\n";
	reply->len = strlen(reply->body);
	if (strncmp(req->target, PREFIX, sizeof(PREFIX) - 1) != 0)
		return;
	token = req->target + sizeof(PREFIX) - 1;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->e[i].token, token) == 0) {
			snprintf(body, sizeof(body), "%s", h->e[i].ka);
			reply->status = 200;
			reply->content_type = "application/octet-stream";
			reply->body = body;
			reply->len = strlen(body);
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
}

static struct acme_http01 *alloc(void)
{
	struct acme_http01 *h = calloc(1, sizeof(*h));

	if (h != NULL && pthread_mutex_init(&h->mu, NULL) != 0) {
		free(h);
		return NULL;
	}
	return h;
}

struct acme_http01 *acme_http01_standalone(const char *addr, uint16_t port,
					   struct moat_err *err)
{
	struct acme_http01 *h = alloc();

	if (h == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	if ((h->srv = net_server_new(err)) == NULL ||
	    net_server_listen_http(h->srv, addr, port, handle, h, err) != 0 ||
	    net_server_start(h->srv, err) != 0) {
		/* net's hint offers another port, but a real CA validates
		 * http-01 on port 80 only: the web server already there can
		 * answer instead (src/net words its message; matched here). */
		if (err != NULL && strstr(err->msg, "already in use") != NULL)
			moat_err_hint(err, "a web server already listens there: let it answer the "
					   "challenge with --webroot DIR (its document root) instead of "
					   "--standalone, or stop it while moat issues (--http-port "
					   "helps only with a test CA: real CAs connect to port 80)");
		moat_err_prefix(err, "cannot answer http-01 challenges");
		acme_http01_free(h);
		return NULL;
	}
	return h;
}

struct acme_http01 *acme_http01_webroot(const char *dir, struct moat_err *err)
{
	struct acme_http01 *h;

	if (!moat_dir_exists(dir)) {
		moat_err_set(err, "the webroot %s is not a directory", dir);
		moat_err_hint(err, "give the document root your web server serves for the name");
		return NULL;
	}
	if ((h = alloc()) == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	snprintf(h->webroot, sizeof(h->webroot), "%s", dir);
	return h;
}

void acme_http01_free(struct acme_http01 *h)
{
	if (h == NULL)
		return;
	net_server_free(h->srv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static int webroot_path(const struct acme_http01 *h, const char *token, char *out, size_t n,
			struct moat_err *err)
{
	if ((size_t)snprintf(out, n, "%s%s%s", h->webroot, PREFIX, token) >= n) {
		moat_err_set(err, "the webroot path is too long");
		return -1;
	}
	return 0;
}

static int present(void *arg, const struct moat_name *id, const char *token, const char *ka,
		   struct moat_err *err)
{
	struct acme_http01 *h = arg;
	char path[4400], dir[4400];
	int ret = -1;

	(void)id;
	pthread_mutex_lock(&h->mu);
	if (h->n >= MAX_TOKENS) {
		moat_err_set(err, "too many challenges at once");
		goto out;
	}
	snprintf(h->e[h->n].token, sizeof(h->e[0].token), "%s", token);
	snprintf(h->e[h->n].ka, sizeof(h->e[0].ka), "%s", ka);
	h->n++;
	if (h->webroot[0] != '\0') {
		/* The file must be readable by the web server: 0644 in 0755 dirs. */
		if (webroot_path(h, token, path, sizeof(path), err) != 0)
			goto out;
		snprintf(dir, sizeof(dir), "%s/.well-known/acme-challenge", h->webroot);
		if (moat_fileset_mkdir(NULL, dir, 0755, err) != 0 ||
		    moat_file_write_atomic(path, ka, strlen(ka), 0644, err) != 0) {
			moat_err_hint(err, "moat needs write access to the webroot");
			goto out;
		}
	}
	ret = 0;
out:
	pthread_mutex_unlock(&h->mu);
	return ret;
}

static void cleanup(void *arg, const struct moat_name *id, const char *token)
{
	struct acme_http01 *h = arg;
	char path[4400];

	(void)id;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->e[i].token, token) == 0) {
			h->e[i] = h->e[--h->n];
			break;
		}
	}
	if (h->webroot[0] != '\0' && webroot_path(h, token, path, sizeof(path), NULL) == 0)
		(void)unlink(path);
	pthread_mutex_unlock(&h->mu);
}

void acme_http01_solver(struct acme_http01 *h, struct acme_solver *s)
{
	s->type = "http-01";
	s->present = present;
	s->cleanup = cleanup;
	s->arg = h;
}
