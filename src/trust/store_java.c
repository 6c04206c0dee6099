/* store_java.c: the JDK's cacerts keystore, which Java programs read
 * instead of the system store.  Changed with keytool, under an alias that
 * is the root's slug; the store password is the JDK default "changeit".
 *
 * Which keystore: $JAVA_HOME/lib/security/cacerts, else the one next to
 * the keytool on PATH (on Debian a link to /etc/ssl/certs/java/cacerts);
 * under --sysroot the distribution's shared keystore inside it
 * (etc/ssl/certs/java/cacerts, etc/pki/java/cacerts) or the JDKs' own
 * (usr/lib/jvm/WHATEVER/lib/security/cacerts). */
#include "trust/store_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/proc.h"

#define JAVA_STOREPASS "changeit"
#define JAVA_MAX_STORES 8

static const char *const shared_stores[] = {
	"etc/ssl/certs/java/cacerts", /* Debian, Ubuntu, Arch */
	"etc/pki/java/cacerts",       /* Fedora, RHEL */
};

static int keytool(struct trust_set *s, struct store_place *p, const char *op,
		   const char *const *more, struct moat_buf *out, int *status, struct moat_err *err)
{
	const char *argv[20];
	size_t k = 0;

	argv[k++] = p->tool;
	argv[k++] = op;
	argv[k++] = "-noprompt";
	argv[k++] = "-keystore";
	argv[k++] = p->pub.path;
	argv[k++] = "-storepass";
	argv[k++] = JAVA_STOREPASS;
	argv[k++] = "-alias";
	argv[k++] = s->slug;
	for (size_t i = 0; more != NULL && more[i] != NULL && k < 18; i++)
		argv[k++] = more[i];
	argv[k] = NULL;
	if (status != NULL) {
		/* keytool complains on stdout or stderr, depending on version */
		struct moat_buf e = MOAT_BUF_INIT;
		int r = trust_tool_status(s, argv, out, &e, status, err);
		if (r == 0 && e.len > 0 && moat_buf_append(out, e.data, e.len) != 0)
			r = -1;
		moat_buf_free(&e);
		return r;
	}
	return trust_tool(s, argv, out, err);
}

static int java_check(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	const char *more[] = {"-rfc", NULL};
	struct moat_buf o = MOAT_BUF_INIT;
	char other_fp[100];
	bool other;
	int status, ret = -1;

	p->pub.detail[0] = '\0';
	if (keytool(s, p, "-list", more, &o, &status, err) != 0)
		goto out;
	if (status == 0 && trust_pem_has_root(s, o.data, o.len, &other, other_fp, sizeof(other_fp))) {
		p->pub.state = TRUST_PRESENT;
		trust_say(p->pub.detail, sizeof(p->pub.detail), "alias %s", s->slug);
	} else if (status == 0) {
		p->pub.state = TRUST_FOREIGN;
		trust_say(p->pub.detail, sizeof(p->pub.detail), "%s", other ? other_fp : "?");
	} else if (o.data != NULL && strstr((char *)o.data, "does not exist") != NULL) {
		p->pub.state = TRUST_ABSENT;
	} else {
		char line[200];
		const char *t = o.data != NULL ? (const char *)o.data : "";
		moat_escape(line, sizeof(line), t, strcspn(t, "\n"));
		p->pub.state = TRUST_UNAVAILABLE;
		trust_say(p->pub.why, sizeof(p->pub.why), "keytool cannot read %s: %s", p->pub.path,
			  line);
		trust_say(p->pub.hint, sizeof(p->pub.hint),
			  "moat uses the JDK's default store password \"changeit\"");
	}
	ret = 0;
out:
	moat_buf_free(&o);
	return ret;
}

static bool java_can_change(struct trust_set *s, struct store_place *p, bool *perm)
{
	*perm = false;
	if (trust_writable(p->pub.path))
		return true;
	*perm = true;
	trust_cannot_write(s, p, p->pub.path);
	return false;
}

static int java_add(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	const char *more[] = {"-file", s->pem_path, NULL};

	if (p->pub.state == TRUST_FOREIGN && keytool(s, p, "-delete", NULL, NULL, NULL, err) != 0)
		return -1;
	return keytool(s, p, "-importcert", more, NULL, NULL, err);
}

static int java_remove(struct trust_set *s, struct store_place *p, struct moat_err *err)
{
	return keytool(s, p, "-delete", NULL, NULL, NULL, err);
}

static const struct store_ops java_ops = {java_check, java_can_change, java_add, java_remove};

static int add_store(struct trust_set *s, const char *path, const char *tool, struct moat_err *err)
{
	struct store_place *p;
	char rp[PATH_MAX];

	if (realpath(path, rp) == NULL)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].pub.store == TRUST_STORE_JAVA && strcmp(s->p[i].pub.path, rp) == 0)
			return 0;
	if ((p = trust_place_new(s, TRUST_STORE_JAVA, "java", &java_ops, err)) == NULL)
		return -1;
	trust_say(p->pub.path, sizeof(p->pub.path), "%s", rp);
	if (tool == NULL) {
		p->pub.state = TRUST_UNAVAILABLE;
		trust_say(p->pub.why, sizeof(p->pub.why), "keytool not found");
		trust_say(p->pub.hint, sizeof(p->pub.hint),
			  "install a JDK or JRE (apt-get install default-jre-headless)");
	} else {
		trust_say(p->tool, sizeof(p->tool), "%s", tool);
	}
	return 0;
}

/* The JDKs under usr/lib/jvm of the sysroot, each with its own cacerts
 * (links to the shared store are merged by realpath). */
static int scan_jvms(struct trust_set *s, const char *tool, struct moat_err *err)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (trust_rooted(s, "usr/lib/jvm", dir, sizeof(dir), err) != 0)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && s->n < JAVA_MAX_STORES + 16) {
		char ks[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(ks, sizeof(ks), "%s/%s/lib/security/cacerts", dir, de->d_name) >=
		    sizeof(ks))
			continue;
		if (moat_file_exists(ks) && (ret = add_store(s, ks, tool, err)) != 0)
			break;
	}
	closedir(d);
	return ret;
}

int trust_java_scan(struct trust_set *s, struct moat_err *err)
{
	char kt[PATH_MAX], ks[PATH_MAX + 32];
	const char *tool = NULL;
	const char *jh = getenv("JAVA_HOME");
	size_t before = s->n;

	if (jh != NULL && jh[0] != '\0') {
		snprintf(ks, sizeof(ks), "%s/bin/keytool", jh);
		if (moat_which(ks, NULL, kt, sizeof(kt)))
			tool = kt;
	}
	if (tool == NULL && moat_which("keytool", NULL, kt, sizeof(kt)))
		tool = kt;

	if (s->sysroot[0] != '\0') {
		for (size_t i = 0; i < sizeof(shared_stores) / sizeof(shared_stores[0]); i++) {
			if (trust_rooted(s, shared_stores[i], ks, sizeof(ks), err) != 0)
				return -1;
			if (moat_file_exists(ks) && add_store(s, ks, tool, err) != 0)
				return -1;
		}
		if (s->n == before && scan_jvms(s, tool, err) != 0)
			return -1;
	} else if (jh != NULL && jh[0] != '\0') {
		snprintf(ks, sizeof(ks), "%s/lib/security/cacerts", jh);
		if (moat_file_exists(ks) && add_store(s, ks, tool, err) != 0)
			return -1;
	} else if (tool != NULL) {
		/* JDK/bin/keytool -> JDK/lib/security/cacerts */
		char rp[PATH_MAX];
		if (realpath(tool, rp) != NULL && strrchr(rp, '/') != NULL) {
			*strrchr(rp, '/') = '\0';
			snprintf(ks, sizeof(ks), "%s/../lib/security/cacerts", rp);
			if (moat_file_exists(ks) && add_store(s, ks, tool, err) != 0)
				return -1;
		}
	}
	if (s->n == before) {
		struct store_place *p = trust_place_new(s, TRUST_STORE_JAVA, "java", &java_ops, err);
		if (p == NULL)
			return -1;
		p->pub.state = TRUST_UNAVAILABLE;
		trust_say(p->pub.path, sizeof(p->pub.path), "%s/", s->sysroot);
		trust_say(p->pub.why, sizeof(p->pub.why), "%s",
			  tool == NULL ? "Java not found (no keytool, no JAVA_HOME)"
				       : "no cacerts keystore found");
	}
	return 0;
}
