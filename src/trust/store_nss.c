/* store_nss.c: NSS databases, where Firefox (per profile) and Chromium
 * (~/.pki/nssdb) look for roots a user added.  Changed with certutil
 * (Debian libnss3-tools), the root trusted for TLS servers ("C,,"), under
 * the CA's name as nickname. */
#include "trust/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/proc.h"

#define NSS_MAX_DBS 64
#define NSS_DELETE_MAX 8 /* certutil -D removes one certificate per call */

/* Where Firefox keeps profiles (classic, snap, flatpak), relative to HOME. */
static const char *const firefox_dirs[] = {
	".mozilla/firefox",
	"snap/firefox/common/.mozilla/firefox",
	".var/app/org.mozilla.firefox/.mozilla/firefox",
};
/* Chromium-family databases, relative to HOME. */
static const char *const chromium_dbs[] = {
	".pki/nssdb",
	"snap/chromium/current/.pki/nssdb",
};
/* A browser that would use ~/.pki/nssdb (and create it on first start). */
static const char *const chromium_bins[] = {
	"chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
	"brave-browser", "microsoft-edge", "vivaldi",
};

static int certutil(struct trust_set *s, struct store_place *p, const char *const *args,
		    struct moat_buf *out, struct moat_err *err)
{
	const char *argv[16];
	size_t k = 0;

	argv[k++] = p->tool;
	for (size_t i = 0; args[i] != NULL && k < 13; i++)
		argv[k++] = args[i];
	argv[k++] = "-d";
	argv[k++] = p->aux;
	argv[k] = NULL;
	return trust_tool(s, argv, out, err);
}

/* The certificates under the nickname: 0 with found/other set; -1 when
 * the database cannot be read. */
static int lookup(struct trust_set *s, struct store_place *p, bool *found, bool *other,
		  char *other_fp, size_t fplen, struct moat_err *err)
{
	const char *argv[] = {p->tool, "-L", "-n", s->nick, "-a", "-d", p->aux, NULL};
	struct moat_buf o = MOAT_BUF_INIT, e = MOAT_BUF_INIT;
	int status, ret = -1;

	*found = *other = false;
	if (trust_tool_status(s, argv, &o, &e, &status, err) != 0)
		goto out;
	if (status == 0) {
		*found = trust_pem_has_root(s, o.data, o.len, other, other_fp, fplen);
	} else if (e.data == NULL || (strstr((char *)e.data, "could not find") == NULL &&
				      strstr((char *)e.data, "not found") == NULL)) {
		char line[200];
		moat_escape(line, sizeof(line), e.data ? (char *)e.data : "",
			    strcspn(e.data ? (char *)e.data : "", "\n"));
		moat_err_set(err, "cannot read the NSS database %s: %s", p->pub.path, line);
		goto out;
	}
	ret = 0;
out:
	moat_buf_free(&o);
	moat_buf_free(&e);
	return ret;
}

/* The trust flags of the nickname, from `certutil -L` ("C,,", "CT,C,C"). */
static void trust_flags(struct trust_set *s, struct store_place *p, char *out, size_t n)
{
	const char *args[] = {"-L", NULL};
	struct moat_buf o = MOAT_BUF_INIT;
	struct moat_err e;
	size_t nl = strlen(s->nick);

	out[0] = '\0';
	moat_err_clear(&e);
	if (certutil(s, p, args, &o, &e) == 0 && o.data != NULL) {
		for (char *line = (char *)o.data; line != NULL && *line != '\0';) {
			char *next = strchr(line, '\n');
			if (next != NULL)
				*next++ = '\0';
			if (strncmp(line, s->nick, nl) == 0 && (line[nl] == ' ' || line[nl] == '\t')) {
				size_t len = strlen(line);
				char *last;
				while (len > nl && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
						    line[len - 1] == '\r'))
					line[--len] = '\0';
				last = strrchr(line, ' ');
				if (last != NULL)
					snprintf(out, n, "%s", last + 1);
				break;
			}
			line = next;
		}
	}
	moat_buf_free(&o);
}

static int nss_check(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	char other_fp[100], flags[32];
	bool found, other;

	p->pub.detail[0] = '\0';
	if (p->create) {
		p->pub.state = TRUST_ABSENT;
		trust_say(p->pub.detail, sizeof(p->pub.detail), "no database yet");
		return 0;
	}
	if (lookup(s, p, &found, &other, other_fp, sizeof(other_fp), err) != 0) {
		/* A broken or locked database is reported, not fatal for the rest. */
		p->pub.state = TRUST_UNAVAILABLE;
		trust_say(p->pub.why, sizeof(p->pub.why), "%s", err->msg);
		moat_err_clear(err);
		return 0;
	}
	if (!found) {
		p->pub.state = other ? TRUST_FOREIGN : TRUST_ABSENT;
		if (other)
			trust_say(p->pub.detail, sizeof(p->pub.detail), "%s", other_fp);
		return 0;
	}
	trust_flags(s, p, flags, sizeof(flags));
	trust_say(p->pub.detail, sizeof(p->pub.detail), "trust %s", flags[0] ? flags : "?");
	/* The first field is SSL trust; C = trusted CA for TLS servers. */
	p->pub.state = strcspn(flags, "C") < strcspn(flags, ",") ? TRUST_PRESENT : TRUST_PENDING;
	return 0;
}

static bool nss_can_change(struct trust_set *s, struct store_place *p, bool *perm)
{
	char db[PATH_MAX + 16];

	*perm = false;
	(void)s;
	if (p->create) {
		if (trust_writable(p->pub.path))
			return true;
		*perm = true;
		trust_say(p->pub.why, sizeof(p->pub.why), "cannot create %s: %s", p->pub.path,
			 strerror(EACCES));
		return false;
	}
	snprintf(db, sizeof(db), "%s/cert9.db", p->pub.path);
	if (!trust_writable(db)) {
		*perm = true;
		trust_say(p->pub.why, sizeof(p->pub.why), "%s is not writable: %s", db,
			 strerror(EACCES));
		return false;
	}
	return true;
}

/* Remove every certificate under the nickname that is the root (all of
 * them when any is true). */
static int delete_nick(struct trust_set *s, struct store_place *p, bool any, struct moat_err *err)
{
	for (int i = 0; i < NSS_DELETE_MAX; i++) {
		const char *args[] = {"-D", "-n", s->nick, NULL};
		bool found, other;
		if (lookup(s, p, &found, &other, NULL, 0, err) != 0)
			return -1;
		if (!found && !(any && other))
			return 0;
		if (certutil(s, p, args, NULL, err) != 0)
			return -1;
	}
	moat_err_set(err, "certutil keeps finding \"%s\" in %s", s->nick, p->pub.path);
	return -1;
}

static int nss_add(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	if (p->create) {
		const char *args[] = {"-N", "--empty-password", NULL};
		/* mkdir -p (a NULL fileset: nothing to roll back) */
		if (moat_fileset_mkdir(NULL, p->pub.path, 0700, err) != 0 ||
		    certutil(s, p, args, NULL, err) != 0)
			return -1;
		p->create = false;
	}
	if (p->pub.state == TRUST_PENDING) {
		const char *args[] = {"-M", "-n", s->nick, "-t", "C,,", NULL};
		return certutil(s, p, args, NULL, err);
	}
	if (p->pub.state == TRUST_FOREIGN && delete_nick(s, p, true, err) != 0)
		return -1;
	{
		const char *args[] = {"-A", "-n", s->nick, "-t", "C,,", "-i", s->pem_path, NULL};
		if (certutil(s, p, args, NULL, err) == 0)
			return 0;
		/* certutil wants a terminal when the database has a password */
		if (strstr(err->msg, "terminal") != NULL) {
			moat_err_set(err, "the NSS database %s is protected by a password", p->pub.path);
			moat_err_hint(err, "add the root by hand (certutil asks for the password): "
					   "certutil -A -d %s -n \"%s\" -t C,, -i ROOT.pem", p->aux, s->nick);
		}
		return -1;
	}
}

static int nss_remove(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	return delete_nick(s, p, false, err);
}

static const struct store_ops nss_ops = {nss_check, nss_can_change, nss_add, nss_remove};

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Add a database directory (known to hold cert9.db, or to be created). */
static int add_db(struct trust_set *s, const char *kind, const char *dir, bool create,
		  const char *certutil_path, struct moat_err *err)
{
	struct store_place *p;
	char rp[PATH_MAX];

	/* The same database reached twice (a symlinked profile) counts once. */
	if (realpath(dir, rp) == NULL)
		snprintf(rp, sizeof(rp), "%s", dir);
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].pub.store == TRUST_STORE_NSS && strcmp(s->p[i].pub.path, rp) == 0)
			return 0;
	if ((p = trust_place_new(s, TRUST_STORE_NSS, kind, &nss_ops, err)) == NULL)
		return -1;
	snprintf(p->pub.path, sizeof(p->pub.path), "%s", rp);
	if ((size_t)snprintf(p->aux, sizeof(p->aux), "sql:%s", rp) >= sizeof(p->aux)) {
		moat_err_set(err, "path too long: %s", rp);
		return -1;
	}
	p->create = create;
	if (certutil_path == NULL) {
		p->pub.state = TRUST_UNAVAILABLE;
		trust_say(p->pub.why, sizeof(p->pub.why), "certutil missing");
		trust_say(p->pub.hint, sizeof(p->pub.hint),
			 "apt-get install libnss3-tools (Fedora: dnf install nss-tools; Arch: "
			 "pacman -S nss)");
	} else {
		snprintf(p->tool, sizeof(p->tool), "%s", certutil_path);
	}
	return 0;
}

static int unavailable(struct trust_set *s, const char *kind, const char *path, const char *why,
		       struct moat_err *err)
{
	struct store_place *p = trust_place_new(s, TRUST_STORE_NSS, kind, &nss_ops, err);
	if (p == NULL)
		return -1;
	p->pub.state = TRUST_UNAVAILABLE;
	snprintf(p->pub.path, sizeof(p->pub.path), "%s", path);
	trust_say(p->pub.why, sizeof(p->pub.why), "%s", why);
	return 0;
}

int trust_nss_scan(struct trust_set *s, struct moat_err *err)
{
	const char *home = s->o->home;
	char cu[PATH_MAX], path[PATH_MAX], db[PATH_MAX + 16];
	const char *certutil_path = moat_which("certutil", NULL, cu, sizeof(cu)) ? cu : NULL;
	size_t before = s->n;
	bool firefox = false, chromium = false, legacy = false;

	for (size_t i = 0; i < s->o->nnssdbs; i++) {
		if (!is_dir(s->o->nssdbs[i])) {
			char e[200];
			moat_escape(e, sizeof(e), s->o->nssdbs[i], strlen(s->o->nssdbs[i]));
			moat_err_set(err, "--nssdb %s is not a directory", e);
			return -1;
		}
		snprintf(db, sizeof(db), "%s/cert9.db", s->o->nssdbs[i]);
		if (add_db(s, "nssdb", s->o->nssdbs[i], !moat_file_exists(db), certutil_path, err) != 0)
			return -1;
	}
	if (home == NULL || home[0] == '\0')
		return s->n > before ? 0 : unavailable(s, "nss", "~", "HOME is not set", err);

	for (size_t i = 0; i < sizeof(firefox_dirs) / sizeof(firefox_dirs[0]); i++) {
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s/%s", home, firefox_dirs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL && s->n < NSS_MAX_DBS) {
			char prof[PATH_MAX];
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(prof, sizeof(prof), "%s/%s", path, de->d_name) >= sizeof(prof))
				continue;
			snprintf(db, sizeof(db), "%s/cert9.db", prof);
			if (moat_file_exists(db)) {
				firefox = true;
				if (add_db(s, "firefox", prof, false, certutil_path, err) != 0) {
					closedir(d);
					return -1;
				}
			} else {
				snprintf(db, sizeof(db), "%s/cert8.db", prof);
				legacy = legacy || moat_file_exists(db);
			}
		}
		closedir(d);
	}
	for (size_t i = 0; i < sizeof(chromium_dbs) / sizeof(chromium_dbs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", home, chromium_dbs[i]);
		snprintf(db, sizeof(db), "%s/cert9.db", path);
		if (moat_file_exists(db)) {
			chromium = true;
			if (add_db(s, "chromium", path, false, certutil_path, err) != 0)
				return -1;
		}
	}
	if (!chromium) {
		/* Chromium creates ~/.pki/nssdb on its first start; create it
		 * now when such a browser is installed, as it would. */
		char bin[PATH_MAX];
		for (size_t i = 0; i < sizeof(chromium_bins) / sizeof(chromium_bins[0]); i++)
			if (moat_which(chromium_bins[i], NULL, bin, sizeof(bin))) {
				chromium = true;
				snprintf(path, sizeof(path), "%s/%s", home, chromium_dbs[0]);
				if (add_db(s, "chromium", path, true, certutil_path, err) != 0)
					return -1;
				break;
			}
	}
	snprintf(path, sizeof(path), "%s/%s", home, firefox_dirs[0]);
	if (!firefox && unavailable(s, "firefox", path,
				    legacy ? "only old-format (cert8.db) Firefox profiles found"
					   : "Firefox not found (no profile)", err) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", home, chromium_dbs[0]);
	if (!chromium && unavailable(s, "chromium", path,
				     "Chromium/Chrome not found (no ~/.pki/nssdb)", err) != 0)
		return -1;
	return 0;
}
