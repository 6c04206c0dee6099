/* log.c: the access log (combined or JSON, one line per request) and the
 * error log.  Lines are formatted on the worker's stack and written with
 * one write(2) on an O_APPEND descriptor, so lines from several workers
 * never interleave and logrotate's copytruncate or a rename followed by
 * SIGHUP (which opens the files again) both work.  Everything that came
 * from a client is escaped: a log line can't be split or forged. */
#include "serve/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/parse.h"

struct serve_log {
	int access_fd; /* -1: none */
	int error_fd;
	enum serve_log_format format;
	char *access_path, *error_path; /* of a file opened here (its fd is ours); else NULL */
};

/* The previous generation's descriptor when it still writes to the file
 * at path (a reload without rotation): after a switch to another user the
 * file may not be opened again, and there is no need to. */
static int same_file(const char *path, const char *prev_path, int prev_fd)
{
	struct stat a, b;

	if (prev_path == NULL || prev_fd < 0 || strcmp(path, prev_path) != 0 ||
	    stat(path, &a) != 0 || fstat(prev_fd, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return -1;
	return fcntl(prev_fd, F_DUPFD_CLOEXEC, 3);
}

static int open_log(const char *path, const char *prev_path, int prev_fd, int *fd, char **own_path,
		    int dflt, struct moat_err *err)
{
	if (path[0] == '\0' || strcmp(path, "-") == 0) {
		*fd = path[0] == '\0' ? dflt : STDOUT_FILENO;
		return 0;
	}
	if ((*own_path = strdup(path)) == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	*fd = same_file(path, prev_path, prev_fd);
	if (*fd < 0)
		*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (*fd < 0) {
		moat_err_errno(err, errno, "cannot open the log %s", path);
		if (errno == EACCES)
			moat_err_hint(err, "moat serve (as the user it runs as) must be able to "
				      "create files in the log's directory");
		return -1;
	}
	return 0;
}

struct serve_log *serve_log_open(const struct serve_config *c, const struct serve_log *prev,
				 struct moat_err *err)
{
	struct serve_log *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	l->access_fd = -1;
	l->error_fd = -1;
	l->format = c->access_log_format;
	if (open_log(c->access_log, prev ? prev->access_path : NULL, prev ? prev->access_fd : -1,
		     &l->access_fd, &l->access_path, -1, err) != 0 ||
	    open_log(c->error_log, prev ? prev->error_path : NULL, prev ? prev->error_fd : -1,
		     &l->error_fd, &l->error_path, STDERR_FILENO, err) != 0) {
		serve_log_close(l);
		return NULL;
	}
	return l;
}

void serve_log_close(struct serve_log *l)
{
	if (l == NULL)
		return;
	if (l->access_path != NULL && l->access_fd >= 0)
		close(l->access_fd);
	if (l->error_path != NULL && l->error_fd >= 0)
		close(l->error_fd);
	free(l->access_path);
	free(l->error_path);
	free(l);
}

/* Escape for the combined format: printable ASCII except " and \. */
static void esc(char *dst, size_t n, const char *s)
{
	if (s == NULL || s[0] == '\0') {
		snprintf(dst, n, "-");
		return;
	}
	moat_escape(dst, n, s, strlen(s));
}

/* For JSON: valid UTF-8, whatever the client sent (jansson refuses
 * anything else, and the line would be lost). */
static const char *utf8(char *dst, size_t n, const char *s)
{
	if (s == NULL)
		return "";
	moat_utf8_escape(dst, n, s, strlen(s));
	return dst;
}

/* One JSON object on one line; its length is not capped (every field is:
 * a line is never cut into invalid JSON). */
static void access_json(struct serve_log *l, const struct serve_access *a)
{
	char ts[40], m[48], t[1200], r[1100], u[1100], h[300];
	json_t *o;
	char *s, *nl;
	size_t len;

	moat_time_iso((int64_t)time(NULL), ts, sizeof(ts));
	/* jansson escapes the rest (\u escapes, JSON_ENSURE_ASCII). */
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:f, s:s, s:s}",
		      "time", ts, "remote", a->peer, "host", utf8(h, sizeof(h), a->host),
		      "method", utf8(m, sizeof(m), a->method), "uri", utf8(t, sizeof(t), a->target),
		      "proto", a->version_minor ? "HTTP/1.1" : "HTTP/1.0", "status", a->status,
		      "bytes", (json_int_t)a->bytes, "referer", utf8(r, sizeof(r), a->referer),
		      "user_agent", utf8(u, sizeof(u), a->user_agent), "duration",
		      /* whole microseconds (0.000524, not 0.00052367099999999997) */
		      (double)(long long)(a->seconds * 1e6 + 0.5) / 1e6,
		      "upstream", a->upstream ? a->upstream : "", "scheme", a->tls ? "https" : "http");
	if (o == NULL)
		return;
	/* 15 significant digits print a microsecond count exactly (up to
	 * 1e9 seconds) and never the binary fraction's tail */
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
	json_decref(o);
	if (s == NULL)
		return;
	len = strlen(s);
	if ((nl = realloc(s, len + 2)) != NULL) {
		nl[len] = '\n';
		/* One write, one line; a log that cannot be written must not
		 * stop serving (here and below). */
		(void)moat_write_all(l->access_fd, nl, len + 1);
		s = nl;
	}
	free(s);
}

void serve_log_access(struct serve_log *l, const struct serve_access *a)
{
	char line[4096];
	int n;

	if (l == NULL || l->access_fd < 0)
		return;
	if (l->format == SERVE_LOG_JSON) {
		access_json(l, a);
		return;
	}
	{
		char ts[40], m[48], t[1200], r[300], u[300], h[300];
		struct tm tm;
		time_t now = time(NULL);

		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S %z", &tm);
		esc(m, sizeof(m), a->method);
		esc(t, sizeof(t), a->target);
		esc(r, sizeof(r), a->referer);
		esc(u, sizeof(u), a->user_agent);
		esc(h, sizeof(h), a->host);
		n = snprintf(line, sizeof(line),
			     "%s - - [%s] \"%s %s HTTP/1.%d\" %d %llu \"%s\" \"%s\" %s %.3f\n",
			     a->peer, ts, m, t, a->version_minor, a->status,
			     (unsigned long long)a->bytes, r, u, h, a->seconds);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)moat_write_all(l->access_fd, line, (size_t)n);
}

void serve_log_error(struct serve_log *l, const char *fmt, ...)
{
	char line[1024], msg[900], ts[40];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int n;

	if (l == NULL || l->error_fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s moat serve: %s\n", ts, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	(void)moat_write_all(l->error_fd, line, (size_t)n);
}
