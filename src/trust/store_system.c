/* store_system.c: the operating system's trust store.  The root goes into
 * the distribution's directory of local anchors, then the distribution's
 * tool rebuilds the bundle that OpenSSL, curl, Python, Node... read:
 *
 *   Debian, Ubuntu  /usr/local/share/ca-certificates/NAME.crt   update-ca-certificates
 *   Fedora, RHEL    /etc/pki/ca-trust/source/anchors/NAME.pem   update-ca-trust extract
 *   Arch            /etc/ca-certificates/trust-source/anchors/  trust extract-compat
 *
 * Under --sysroot DIR the same paths are used below DIR; Debian's tool
 * takes --sysroot itself, the others must run inside the image later. */
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

#define BUNDLE_MAX (16u << 20)

struct layout {
	const char *kind;
	const char *probes[3];   /* any of these (relative to the root) means this layout */
	const char *anchors;     /* directory of local anchors */
	const char *ext;
	const char *bundle;      /* what the tool rebuilds */
	const char *tool;
	const char *arg;         /* first argument, or NULL */
	const char *arg_remove;  /* first argument when removing, or NULL */
	bool takes_sysroot;      /* the tool can rebuild a tree under --sysroot */
	const char *package;     /* hint when the tool is missing */
};

static const struct layout layouts[] = {
	{"fedora", {"etc/pki/ca-trust/source/anchors", "usr/bin/update-ca-trust", NULL},
	 "etc/pki/ca-trust/source/anchors", ".pem", "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	 "update-ca-trust", "extract", "extract", false, "dnf install ca-certificates"},
	{"arch", {"etc/ca-certificates/trust-source/anchors", NULL, NULL},
	 "etc/ca-certificates/trust-source/anchors", ".crt", "etc/ssl/certs/ca-certificates.crt",
	 "trust", "extract-compat", "extract-compat", false, "pacman -S p11-kit ca-certificates"},
	{"debian", {"usr/sbin/update-ca-certificates", "usr/local/share/ca-certificates",
		    "etc/ca-certificates.conf"},
	 "usr/local/share/ca-certificates", ".crt", "etc/ssl/certs/ca-certificates.crt",
	 "update-ca-certificates", NULL, "--fresh", true, "apt-get install ca-certificates"},
};

static const struct layout *layout_of(const struct store_place *p)
{
	return &layouts[p->layout];
}

/* Is the root in the rebuilt bundle? */
static bool in_bundle(struct trust_set *s, struct store_place *p)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err e;
	bool other, found = false;

	moat_err_clear(&e);
	if (moat_file_read(p->aux, BUNDLE_MAX, &b, &e) == 0)
		found = trust_pem_has_root(s, b.data, b.len, &other, NULL, 0);
	moat_buf_free(&b);
	return found;
}

static int sys_check(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	char other_fp[100];
	bool other;
	int ret = -1;

	p->pub.detail[0] = '\0';
	if (!moat_file_exists(p->pub.path)) {
		p->pub.state = TRUST_ABSENT;
		ret = 0;
		goto out;
	}
	if (moat_file_read(p->pub.path, BUNDLE_MAX, &b, err) != 0)
		goto out;
	if (!trust_pem_has_root(s, b.data, b.len, &other, other_fp, sizeof(other_fp))) {
		p->pub.state = TRUST_FOREIGN;
		trust_say(p->pub.detail, sizeof(p->pub.detail), "%s",
			 other ? other_fp : "not a certificate");
		ret = 0;
		goto out;
	}
	if (in_bundle(s, p)) {
		p->pub.state = TRUST_PRESENT;
		trust_say(p->pub.detail, sizeof(p->pub.detail), "in %s", p->aux);
	} else {
		p->pub.state = TRUST_PENDING;
		if (s->sysroot[0] != '\0' && !layout_of(p)->takes_sysroot)
			trust_say(p->pub.detail, sizeof(p->pub.detail),
				 "%s not rebuilt yet: run %s%s%s inside the image", p->aux,
				 layout_of(p)->tool, layout_of(p)->arg ? " " : "",
				 layout_of(p)->arg ? layout_of(p)->arg : "");
		else
			trust_say(p->pub.detail, sizeof(p->pub.detail), "not yet in %s", p->aux);
	}
	ret = 0;
out:
	moat_buf_free(&b);
	return ret;
}

/* Can the tool run here?  Under a sysroot only a tool that knows about it. */
static bool tool_runs(const struct trust_set *s, const struct store_place *p)
{
	return s->sysroot[0] == '\0' || layout_of(p)->takes_sysroot;
}

static bool sys_can_change(struct trust_set *s, struct store_place *p, bool *perm)
{
	const struct layout *l = layout_of(p);
	char dir[PATH_MAX];

	*perm = false;
	if (tool_runs(s, p) && p->tool[0] == '\0') {
		trust_say(p->pub.why, sizeof(p->pub.why), "%s not found", l->tool);
		trust_say(p->pub.hint, sizeof(p->pub.hint), "%s", l->package);
		return false;
	}
	snprintf(dir, sizeof(dir), "%s", p->pub.path);
	*strrchr(dir, '/') = '\0';
	if (!trust_writable(p->pub.path) ||
	    (tool_runs(s, p) && !trust_writable(p->aux))) {
		*perm = true;
		trust_cannot_write(s, p, dir);
		return false;
	}
	return true;
}

/* Debian's tool, run with --sysroot DIR, links DIR/etc/ssl/certs/X.pem to
 * "DIR/usr/..."; inside the image those links must point to "/usr/...". */
static void fix_links(const struct trust_set *s, const char *certs_dir)
{
	size_t rl = strlen(s->sysroot);
	DIR *d = opendir(certs_dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char link[PATH_MAX], target[PATH_MAX], tmp[PATH_MAX + 16];
		const char *t;
		ssize_t n;

		if ((size_t)snprintf(link, sizeof(link), "%s/%s", certs_dir, de->d_name) >= sizeof(link) ||
		    (n = readlink(link, target, sizeof(target) - 1)) < 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, s->sysroot, rl) != 0 || target[rl] != '/')
			continue;
		for (t = target + rl; t[1] == '/'; t++)
			;
		snprintf(tmp, sizeof(tmp), "%s.moat-tmp", link);
		(void)unlink(tmp);
		if (symlink(t, tmp) == 0 && rename(tmp, link) != 0)
			(void)unlink(tmp);
	}
	closedir(d);
}

static int refresh(struct trust_set *s, struct store_place *p, bool removing,
		   struct moat_err *err)
{
	const struct layout *l = layout_of(p);
	const char *argv[6];
	size_t k = 0;

	if (!tool_runs(s, p))
		return 0;
	argv[k++] = p->tool;
	if ((removing ? l->arg_remove : l->arg) != NULL)
		argv[k++] = removing ? l->arg_remove : l->arg;
	if (s->sysroot[0] != '\0') {
		argv[k++] = "--sysroot";
		argv[k++] = s->sysroot;
	}
	argv[k] = NULL;
	if (trust_tool(s, argv, NULL, err) != 0)
		return -1;
	if (s->sysroot[0] != '\0') {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", p->aux);
		*strrchr(dir, '/') = '\0';
		fix_links(s, dir);
	}
	return 0;
}

static int sys_add(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	char dir[PATH_MAX];
	bool placed = false;

	snprintf(dir, sizeof(dir), "%s", p->pub.path);
	*strrchr(dir, '/') = '\0';
	if (p->pub.state != TRUST_PENDING) {
		if (!moat_dir_exists(dir) && mkdir(dir, 0755) != 0 && errno != EEXIST) {
			moat_err_errno(err, errno, "cannot create %s", dir);
			return -1;
		}
		if (moat_file_write_atomic(p->pub.path, s->pem.data, s->pem.len, 0644, err) != 0)
			return -1;
		placed = true;
	}
	if (refresh(s, p, false, err) != 0) {
		if (placed) {
			struct moat_err e2;
			moat_err_clear(&e2);
			(void)unlink(p->pub.path);
			(void)refresh(s, p, true, &e2);
		}
		return -1;
	}
	return 0;
}

static int sys_remove(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	if (unlink(p->pub.path) != 0 && errno != ENOENT) {
		moat_err_errno(err, errno, "cannot remove %s", p->pub.path);
		return -1;
	}
	return refresh(s, p, true, err);
}

static const struct store_ops sys_ops = {sys_check, sys_can_change, sys_add, sys_remove};

int trust_system_scan(struct trust_set *s, struct moat_err *err)
{
	const struct layout *found = NULL;
	struct store_place *p;
	char probe[PATH_MAX], name[200];

	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]) && found == NULL; i++)
		for (size_t j = 0; j < 3 && layouts[i].probes[j] != NULL && found == NULL; j++) {
			struct stat st;
			if (trust_rooted(s, layouts[i].probes[j], probe, sizeof(probe), err) != 0)
				return -1;
			if (lstat(probe, &st) == 0)
				found = &layouts[i];
		}
	if (found == NULL) {
		if ((p = trust_place_new(s, TRUST_STORE_SYSTEM, "system", &sys_ops, err)) == NULL)
			return -1;
		p->pub.state = TRUST_UNAVAILABLE;
		trust_say(p->pub.path, sizeof(p->pub.path), "%s/", s->sysroot);
		trust_say(p->pub.why, sizeof(p->pub.why),
			 "no known system trust store under %s/ (Debian/Ubuntu, Fedora/RHEL, Arch)",
			 s->sysroot);
		trust_say(p->pub.hint, sizeof(p->pub.hint),
			 "install the root by hand: moat trust export --format pem --out FILE");
		return 0;
	}
	if ((p = trust_place_new(s, TRUST_STORE_SYSTEM, found->kind, &sys_ops, err)) == NULL)
		return -1;
	p->layout = (int)(found - layouts);
	p->pending_ok = s->sysroot[0] != '\0' && !found->takes_sysroot;
	snprintf(name, sizeof(name), "%s/%s%s", found->anchors, s->slug, found->ext);
	if (trust_rooted(s, name, p->pub.path, sizeof(p->pub.path), err) != 0 ||
	    trust_rooted(s, found->bundle, p->aux, sizeof(p->aux), err) != 0)
		return -1;
	{
		/* The tools live in sbin, which a user's PATH may lack. */
		const char *path = getenv("PATH");
		char dirs[4096];
		snprintf(dirs, sizeof(dirs), "%s%s/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin",
			 path != NULL ? path : "", path != NULL ? ":" : "");
		if (!moat_which(found->tool, dirs, p->tool, sizeof(p->tool)))
			p->tool[0] = '\0';
	}
	return 0;
}
