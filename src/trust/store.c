/* store.c: the places a root can be trusted, and installing into all of
 * them at once: check everything first, then change, and take back what
 * this run added when something fails half-way. */
#include "trust/store_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/proc.h"

int trust_store_parse(const char *s, unsigned *out, struct moat_err *err)
{
	const char *p = s;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		if (len == 6 && strncmp(p, "system", 6) == 0)
			*out |= TRUST_STORE_SYSTEM;
		else if (len == 3 && strncmp(p, "nss", 3) == 0)
			*out |= TRUST_STORE_NSS;
		else if (len == 4 && strncmp(p, "java", 4) == 0)
			*out |= TRUST_STORE_JAVA;
		else if (len == 3 && strncmp(p, "all", 3) == 0)
			*out |= TRUST_STORE_ALL;
		else {
			char e[64];
			moat_escape(e, sizeof(e), p, len);
			moat_err_set(err, "unknown trust store \"%s\"", e);
			moat_err_hint(err, "use system, nss (Firefox, Chromium), java or all");
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

const char *trust_store_name(enum trust_store s)
{
	switch (s) {
	case TRUST_STORE_SYSTEM: return "system";
	case TRUST_STORE_NSS: return "nss";
	case TRUST_STORE_JAVA: return "java";
	}
	return "?";
}

const char *trust_state_name(enum trust_state s)
{
	static const char *const n[] = {"absent", "present", "pending", "foreign", "unavailable"};
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

const char *trust_outcome_name(enum trust_outcome o)
{
	static const char *const n[] = {"none", "added", "already", "removed",
					"skipped", "failed", "not-done", "undone"};
	return (unsigned)o < sizeof(n) / sizeof(n[0]) ? n[o] : "?";
}

/* ---- helpers for the backends ---------------------------------------- */

void trust_say(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

struct store_place *trust_place_new(struct trust_set *s, enum trust_store store, const char *kind,
				    const struct store_ops *ops, struct moat_err *err)
{
	struct store_place *p;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		struct store_place *np = realloc(s->p, ncap * sizeof(*np));
		if (np == NULL) {
			moat_err_set(err, "out of memory");
			return NULL;
		}
		s->p = np;
		s->cap = ncap;
	}
	p = &s->p[s->n++];
	memset(p, 0, sizeof(*p));
	p->pub.store = store;
	p->pub.kind = kind;
	p->pub.state = TRUST_ABSENT;
	p->ops = ops;
	return p;
}

int trust_rooted(const struct trust_set *s, const char *rel, char *out, size_t n,
		 struct moat_err *err)
{
	int w = snprintf(out, n, "%s/%s", s->sysroot, rel);
	if (w < 0 || (size_t)w >= n) {
		moat_err_set(err, "path too long under %s", s->sysroot);
		return -1;
	}
	return 0;
}

/* The first non-empty line of a tool's complaint, escaped. */
static void first_line(const struct moat_buf *b, char *out, size_t n)
{
	const char *p = b->data != NULL ? (const char *)b->data : "";
	const char *end = p + b->len;

	out[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len > 0) {
			moat_escape(out, n, p, len);
			return;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

int trust_tool_status(struct trust_set *s, const char *const *argv, struct moat_buf *out,
		      struct moat_buf *errout, int *status, struct moat_err *err)
{
	(void)s;
	return moat_run_capture(argv, out, errout, TRUST_TOOL_OUTPUT_MAX, TRUST_TOOL_TIMEOUT_MS,
				status, err);
}

int trust_tool(struct trust_set *s, const char *const *argv, struct moat_buf *out,
	       struct moat_err *err)
{
	struct moat_buf o = MOAT_BUF_INIT, e = MOAT_BUF_INIT;
	char line[300];
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int status, ret = -1;

	if (trust_tool_status(s, argv, &o, &e, &status, err) != 0)
		goto out;
	if (status != 0) {
		first_line(&e, line, sizeof(line));
		if (line[0] == '\0')
			first_line(&o, line, sizeof(line));
		moat_err_set(err, "%s %s failed (exit status %d)%s%s", name,
			     argv[1] != NULL ? argv[1] : "", status, line[0] ? ": " : "", line);
		goto out;
	}
	if (out != NULL) {
		*out = o;
		o = (struct moat_buf)MOAT_BUF_INIT;
	}
	ret = 0;
out:
	moat_buf_free(&o);
	moat_buf_free(&e);
	return ret;
}

struct root_search {
	const struct trust_set *s;
	bool found;
	size_t n;
	char *other_fp;
	size_t fplen;
};

static int root_search_one(const struct pki_cert *c, void *arg)
{
	struct root_search *r = arg;
	struct moat_buf der = MOAT_BUF_INIT;
	struct moat_err err;

	moat_err_clear(&err);
	if (pki_cert_to_der(c, &der, &err) == 0 && der.len == r->s->der.len &&
	    memcmp(der.data, r->s->der.data, der.len) == 0)
		r->found = true;
	moat_buf_free(&der);
	if (!r->found && r->n++ == 0 && r->other_fp != NULL && r->fplen > 0) {
		struct pki_cert_info info;

		memset(&info, 0, sizeof(info));
		if (pki_cert_info(c, &info, &err) == 0)
			snprintf(r->other_fp, r->fplen, "%s", info.sha256);
		pki_cert_info_clear(&info);
	}
	return r->found;
}

bool trust_pem_has_root(const struct trust_set *s, const void *pem, size_t len, bool *other,
			char *other_fp, size_t fplen)
{
	struct root_search r = {.s = s, .other_fp = other_fp, .fplen = fplen};
	struct moat_err err;

	*other = false;
	if (other_fp != NULL && fplen > 0)
		other_fp[0] = '\0';
	if (memmem(pem, len, "-----BEGIN CERTIFICATE-----", 27) == NULL)
		return false;
	/* A system bundle is trusted input of any length (Debian's has about
	 * 150 certificates): every one is looked at, none is capped. */
	moat_err_clear(&err);
	(void)pki_pem_each_cert(pem, len, root_search_one, &r, &err);
	*other = !r.found && r.n > 0;
	return r.found;
}

/* The directory of path, or the nearest parent that exists. */
static bool nearest_dir(const char *path, char *dir, size_t n)
{
	struct stat st;

	if ((size_t)snprintf(dir, n, "%s", path) >= n)
		return false;
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			return snprintf(dir, n, ".") > 0;
		if (slash == dir) {
			dir[1] = '\0';
			return true;
		}
		*slash = '\0';
		if (stat(dir, &st) == 0)
			return S_ISDIR(st.st_mode);
	}
}

bool trust_writable(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return access(path, W_OK) == 0;
	if (stat(path, &st) == 0 && access(path, W_OK) != 0)
		return false;
	/* New files are renamed into place: the directory must take them. */
	return nearest_dir(path, dir, sizeof(dir)) && access(dir, W_OK) == 0;
}

void trust_cannot_write(struct trust_set *s, struct store_place *p, const char *path)
{
	const char *store = trust_store_name(p->pub.store);

	if (s->is_root || s->sysroot[0] != '\0') {
		trust_say(p->pub.why, sizeof(p->pub.why), "%s is not writable: %s", path,
			  strerror(EACCES));
		return;
	}
	trust_say(p->pub.why, sizeof(p->pub.why), "changing %s needs root", path);
	if (s->o->sudo_env != NULL)
		trust_say(p->pub.hint, sizeof(p->pub.hint), "sudo env %s moat trust %s --store %s",
			 s->o->sudo_env, s->verb, store);
	else
		trust_say(p->pub.hint, sizeof(p->pub.hint), "sudo moat trust %s --store %s",
			 s->verb, store);
}

/* ---- the set ---------------------------------------------------------- */

/* Names moat gives the root: the CA name as NSS nickname (':' separates a
 * token name there), and a file-name slug. */
static void make_names(struct trust_set *s, const char *ca_name)
{
	size_t o = 0;
	bool dash = false;

	snprintf(s->nick, sizeof(s->nick), "%s", ca_name);
	for (char *c = s->nick; *c != '\0'; c++)
		if (*c == ':' || (unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '-';
	if (strncasecmp(ca_name, "moat", 4) != 0) {
		memcpy(s->slug, "moat-", 5);
		o = 5;
	}
	for (const char *c = ca_name; *c != '\0' && o < 60; c++) {
		unsigned char ch = (unsigned char)*c;
		if (isalnum(ch) && ch < 0x80) {
			s->slug[o++] = (char)tolower(ch);
			dash = false;
		} else if (!dash && o > 0) {
			s->slug[o++] = '-';
			dash = true;
		}
	}
	while (o > 0 && s->slug[o - 1] == '-')
		o--;
	if (o == 0)
		memcpy(s->slug, "moat", (o = 4));
	s->slug[o] = '\0';
}

struct trust_set *trust_set_scan(const struct trust_opts *o, const struct pki_cert *root,
				 const char *ca_name, struct moat_err *err)
{
	struct trust_set *s = calloc(1, sizeof(*s));
	struct pki_cert_info info;
	struct trust_set *ret = NULL;

	memset(&info, 0, sizeof(info));
	if (s == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	s->o = o;
	s->verb = "install";
	s->is_root = geteuid() == 0;
	if (o->sysroot != NULL && strcmp(o->sysroot, "/") != 0) {
		size_t len = strlen(o->sysroot);
		while (len > 1 && o->sysroot[len - 1] == '/')
			len--;
		if (len >= sizeof(s->sysroot) - 64) {
			moat_err_set(err, "--sysroot path too long");
			goto out;
		}
		memcpy(s->sysroot, o->sysroot, len);
		s->sysroot[len] = '\0';
		if (!moat_dir_exists(s->sysroot)) {
			char e[128];
			moat_escape(e, sizeof(e), s->sysroot, len);
			moat_err_set(err, "--sysroot %s is not a directory", e);
			goto out;
		}
	}
	if ((s->root = pki_cert_dup(root)) == NULL || pki_cert_to_der(root, &s->der, err) != 0 ||
	    pki_cert_to_pem(root, &s->pem, err) != 0 || pki_cert_info(root, &info, err) != 0) {
		if (!moat_err_isset(err))
			moat_err_set(err, "out of memory");
		goto out;
	}
	snprintf(s->fp, sizeof(s->fp), "%s", info.sha256);
	make_names(s, ca_name);

	/* The tools read the root from a file. */
	{
		const char *tmp = getenv("TMPDIR");
		mode_t old = umask(077);
		int w = snprintf(s->tmpdir, sizeof(s->tmpdir), "%s/moat-trust-XXXXXX",
				 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
		char *d = w > 0 && (size_t)w < sizeof(s->tmpdir) ? mkdtemp(s->tmpdir) : NULL;
		umask(old);
		if (d == NULL) {
			moat_err_errno(err, errno, "cannot make a temporary directory");
			s->tmpdir[0] = '\0';
			goto out;
		}
		if (moat_path_join(s->pem_path, sizeof(s->pem_path), s->tmpdir, "root.pem", err) != 0 ||
		    moat_file_write_atomic(s->pem_path, s->pem.data, s->pem.len, 0644, err) != 0)
			goto out;
	}
	if (((o->stores & TRUST_STORE_SYSTEM) && trust_system_scan(s, err) != 0) ||
	    ((o->stores & TRUST_STORE_NSS) && trust_nss_scan(s, err) != 0) ||
	    ((o->stores & TRUST_STORE_JAVA) && trust_java_scan(s, err) != 0))
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		struct store_place *p = &s->p[i];
		if (p->pub.state != TRUST_UNAVAILABLE && p->ops->check(s, p, err) != 0)
			goto out;
	}
	ret = s;
	s = NULL;
out:
	pki_cert_info_clear(&info);
	trust_set_free(s);
	return ret;
}

void trust_set_free(struct trust_set *s)
{
	if (s == NULL)
		return;
	if (s->pem_path[0] != '\0')
		(void)unlink(s->pem_path);
	if (s->tmpdir[0] != '\0')
		(void)rmdir(s->tmpdir);
	pki_cert_free(s->root);
	moat_buf_free(&s->der);
	moat_buf_free(&s->pem);
	free(s->p);
	free(s);
}

size_t trust_set_count(const struct trust_set *s) { return s->n; }

const struct trust_place *trust_set_place(const struct trust_set *s, size_t i)
{
	return i < s->n ? &s->p[i].pub : NULL;
}

const char *trust_set_nickname(const struct trust_set *s) { return s->nick; }
const char *trust_set_fingerprint(const struct trust_set *s) { return s->fp; }

bool trust_set_trusted(const struct trust_set *s)
{
	size_t found = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i].pub.state == TRUST_UNAVAILABLE)
			continue;
		if (s->p[i].pub.state != TRUST_PRESENT)
			return false;
		found++;
	}
	return found > 0;
}

/* Is every place of this store unavailable? */
static bool store_missing(const struct trust_set *s, enum trust_store st)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].pub.store == st && s->p[i].pub.state != TRUST_UNAVAILABLE)
			return false;
	return true;
}

static void set_why(struct store_place *p, const struct moat_err *e)
{
	trust_say(p->pub.why, sizeof(p->pub.why), "%s", e->msg);
	trust_say(p->pub.hint, sizeof(p->pub.hint), "%s", e->hint);
}

/* Check every place that needs a change; count the blocking problems. */
static size_t preflight(struct trust_set *s, bool installing)
{
	size_t nfail = 0;

	s->verb = installing ? "install" : "uninstall";
	for (size_t i = 0; i < s->n; i++) {
		struct store_place *p = &s->p[i];
		bool perm = false;

		p->todo = false;
		switch (p->pub.state) {
		case TRUST_UNAVAILABLE:
			p->pub.outcome = TRUST_SKIPPED;
			if (installing && s->o->named && store_missing(s, p->pub.store)) {
				p->pub.outcome = TRUST_FAILED;
				nfail++;
			}
			continue;
		case TRUST_PRESENT:
			if (installing) {
				p->pub.outcome = TRUST_ALREADY;
				continue;
			}
			break;
		case TRUST_ABSENT:
			if (!installing) {
				p->pub.outcome = TRUST_ALREADY;
				continue;
			}
			break;
		case TRUST_PENDING:
			break;
		case TRUST_FOREIGN:
			if (!installing) {
				p->pub.outcome = TRUST_SKIPPED;
				trust_say(p->pub.why, sizeof(p->pub.why),
					 "holds another certificate named \"%s\" (SHA-256 %.23s...); "
					 "left alone", s->nick, p->pub.detail);
				continue;
			}
			if (!s->o->replace) {
				p->pub.outcome = TRUST_FAILED;
				trust_say(p->pub.why, sizeof(p->pub.why),
					 "another certificate is already there as \"%s\" "
					 "(SHA-256 %.47s...)", s->nick, p->pub.detail);
				trust_say(p->pub.hint, sizeof(p->pub.hint),
					 "if it is the root of an earlier moat CA, add --replace; "
					 "otherwise give this CA another name (moat ca init --name)");
				nfail++;
				continue;
			}
			break;
		}
		if (!p->ops->can_change(s, p, &perm)) {
			if (perm && !s->o->strict) {
				p->pub.outcome = TRUST_SKIPPED;
			} else {
				p->pub.outcome = TRUST_FAILED;
				nfail++;
			}
			continue;
		}
		p->todo = true;
	}
	return nfail;
}

static void mark_not_done(struct trust_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].todo) {
			s->p[i].todo = false;
			s->p[i].pub.outcome = TRUST_NOT_DONE;
		}
}

int trust_set_install(struct trust_set *s, struct moat_err *err)
{
	size_t nfail = preflight(s, true);

	if (nfail > 0) {
		mark_not_done(s);
		moat_err_set(err, "nothing was installed: %zu place%s cannot take the root", nfail,
			     nfail == 1 ? "" : "s");
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct store_place *p = &s->p[i];
		struct moat_err e;

		if (!p->todo)
			continue;
		p->todo = false;
		moat_err_clear(&e);
		if (p->ops->add(s, p, &e) == 0 && p->ops->check(s, p, &e) == 0 &&
		    (p->pub.state == TRUST_PRESENT ||
		     (p->pub.state == TRUST_PENDING && p->pending_ok))) {
			p->pub.outcome = TRUST_ADDED;
			continue;
		}
		if (!moat_err_isset(&e))
			moat_err_set(&e, "the root is still not there after adding it");
		p->pub.outcome = TRUST_FAILED;
		set_why(p, &e);
		/* Take back what this run added, the place that failed too (its
		 * add may have got halfway); leave the rest alone. */
		{
			struct moat_err e2;

			moat_err_clear(&e2);
			if (p->ops->check(s, p, &e2) == 0 && p->pub.state != TRUST_ABSENT &&
			    p->ops->remove(s, p, &e2) == 0)
				(void)p->ops->check(s, p, &e2);
		}
		for (size_t j = 0; j < i; j++) {
			struct store_place *q = &s->p[j];
			struct moat_err e2;
			moat_err_clear(&e2);
			if (q->pub.outcome == TRUST_ADDED && q->ops->remove(s, q, &e2) == 0) {
				q->pub.outcome = TRUST_UNDONE;
				(void)q->ops->check(s, q, &e2);
			}
		}
		mark_not_done(s);
		moat_err_set(err, "installing failed; what this run had added was taken back");
		return -1;
	}
	return 0;
}

int trust_set_uninstall(struct trust_set *s, struct moat_err *err)
{
	size_t nfail = preflight(s, false);

	if (nfail > 0) {
		mark_not_done(s);
		moat_err_set(err, "nothing was removed: %zu place%s cannot be changed", nfail,
			     nfail == 1 ? "" : "s");
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct store_place *p = &s->p[i];
		struct moat_err e;

		if (!p->todo)
			continue;
		p->todo = false;
		moat_err_clear(&e);
		if (p->ops->remove(s, p, &e) == 0 && p->ops->check(s, p, &e) == 0 &&
		    p->pub.state == TRUST_ABSENT) {
			p->pub.outcome = TRUST_REMOVED;
			continue;
		}
		if (!moat_err_isset(&e))
			moat_err_set(&e, "the root is still there after removing it");
		p->pub.outcome = TRUST_FAILED;
		set_why(p, &e);
		nfail++;
	}
	if (nfail > 0) {
		moat_err_set(err, "the root could not be removed everywhere");
		return -1;
	}
	return 0;
}
