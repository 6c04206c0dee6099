/* Unit tests for src/core/file.c (and, at the end, for the small file- and
 * environment-reading helpers in home.c and pass.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"
#include "core/home.h"
#include "core/pass.h"

#include "unit_skip.h"

/* Unprivileged ids to drop to when the tests run as root. */
#define NOBODY 65534

/* ---- helpers ------------------------------------------------------------------ */

struct fixture {
	char dir[PATH_MAX];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/moat-test-file-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void path(char *out, const struct fixture *f, const char *name)
{
	int r = snprintf(out, PATH_MAX, "%s/%s", f->dir, name);

	assert_true(r > 0 && r < PATH_MAX);
}

static void write_plain(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static mode_t mode_of(const char *p)
{
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode & 07777;
}

/* Number of entries in dir (not counting . and ..). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void assert_content(const char *p, const char *want)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err err;

	moat_err_clear(&err);
	if (moat_file_read(p, 1 << 20, &b, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(b.len, strlen(want));
	assert_string_equal((char *)b.data, want);
	moat_buf_free(&b);
}

/* Run fn in a child process (as an unprivileged user when we are root, so
 * that permissions apply); the child's exit status is fn's return. */
static int in_child(int (*fn)(void *), void *arg, bool drop, bool new_session)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (new_session && setsid() < 0)
			_exit(90);
		if (drop && geteuid() == 0 &&
		    (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
			_exit(91);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* ---- moat_file_read ----------------------------------------------------------- */

static void test_read_cap(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX];
	static char big[20000];
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err err;

	memset(big, 'x', sizeof(big));
	path(p, f, "hundred");
	write_plain(p, big, 100);
	assert_int_equal(moat_file_read(p, 100, &b, NULL), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(b.data[100], '\0');
	moat_buf_free(&b);

	moat_err_clear(&err);
	assert_int_equal(moat_file_read(p, 99, &b, &err), -1);
	assert_non_null(strstr(err.msg, "too large (more than 99 bytes)"));
	assert_null(b.data); /* out untouched */
	assert_int_equal(b.len, 0);

	/* Larger than one read() chunk. */
	path(p, f, "big");
	write_plain(p, big, sizeof(big));
	assert_int_equal(moat_file_read(p, sizeof(big), &b, NULL), 0);
	assert_int_equal(b.len, sizeof(big));
	assert_memory_equal(b.data, big, sizeof(big));
	moat_buf_free(&b);
	assert_int_equal(moat_file_read(p, sizeof(big) - 1, &b, NULL), -1);
	assert_int_equal(moat_file_read(p, 10000, &b, NULL), -1);
	assert_int_equal(moat_file_read(p, 0, &b, NULL), -1);
	assert_null(b.data);

	/* An empty file gives an empty, NUL-terminated buffer. */
	path(p, f, "empty");
	write_plain(p, "", 0);
	assert_int_equal(moat_file_read(p, 0, &b, NULL), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal((char *)b.data, "");
	moat_buf_free(&b);

	/* Missing file, directory. */
	path(p, f, "missing");
	moat_err_clear(&err);
	assert_int_equal(moat_file_read(p, 100, &b, &err), -1);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_non_null(strstr(err.msg, "missing"));
	assert_non_null(strstr(err.hint, "check that the path exists"));
	moat_err_clear(&err);
	assert_int_equal(moat_file_read(f->dir, 100, &b, &err), -1);
	assert_true(moat_err_isset(&err));
	assert_null(b.data);
}

/* ---- filesets --------------------------------------------------------------------- */

static void commit_with_umask(struct fixture *f, mode_t mask)
{
	char key[PATH_MAX], cert[PATH_MAX];
	struct moat_fileset *fs = moat_fileset_new();
	struct moat_err err;
	mode_t old = umask(mask);

	moat_err_clear(&err);
	path(key, f, "key.pem");
	path(cert, f, "cert.pem");
	assert_non_null(fs);
	assert_int_equal(moat_fileset_add(fs, key, "KEY\n", 4, 0600, false, &err), 0);
	assert_int_equal(moat_fileset_add(fs, cert, "CERT\n", 5, 0644, false, &err), 0);
	/* Staged, not yet in place. */
	assert_false(moat_file_exists(key));
	assert_false(moat_file_exists(cert));
	assert_int_equal(count_entries(f->dir), 2);
	assert_int_equal(moat_fileset_commit(fs, &err), 0);
	moat_fileset_free(fs);
	umask(old);

	assert_false(moat_err_isset(&err));
	assert_int_equal(mode_of(key), 0600);
	assert_int_equal(mode_of(cert), 0644);
	assert_content(key, "KEY\n");
	assert_content(cert, "CERT\n");
	/* No temporaries left. */
	assert_int_equal(count_entries(f->dir), 2);
	unlink(key);
	unlink(cert);
}

static void test_commit_modes(void **state)
{
	/* The modes are exact whatever the umask. */
	commit_with_umask(*state, 022);
	commit_with_umask(*state, 077);
	commit_with_umask(*state, 0);
}

static void test_uncommitted_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char d[PATH_MAX], p[PATH_MAX], keep[PATH_MAX];
	struct moat_fileset *fs = moat_fileset_new();
	struct moat_err err;

	moat_err_clear(&err);
	path(d, f, "a/b/c");
	assert_int_equal(moat_fileset_mkdir(fs, d, 0700, &err), 0);
	assert_true(moat_dir_exists(d));
	path(p, f, "a/b/c/key.pem");
	assert_int_equal(moat_fileset_add(fs, p, "k", 1, 0600, false, &err), 0);
	path(p, f, "top.pem");
	assert_int_equal(moat_fileset_add(fs, p, "t", 1, 0644, false, &err), 0);
	path(d, f, "x/y/");
	assert_int_equal(moat_fileset_mkdir(fs, d, 0755, &err), 0);
	moat_fileset_free(fs);
	/* Files and the directories the fileset created are gone. */
	assert_int_equal(count_entries(f->dir), 0);

	/* Directories that existed before are kept. */
	path(keep, f, "keep");
	assert_int_equal(mkdir(keep, 0700), 0);
	fs = moat_fileset_new();
	path(d, f, "keep/new/deeper");
	assert_int_equal(moat_fileset_mkdir(fs, d, 0700, &err), 0);
	path(p, f, "keep/new/deeper/f");
	assert_int_equal(moat_fileset_add(fs, p, "f", 1, 0644, true, &err), 0);
	moat_fileset_free(fs);
	assert_true(moat_dir_exists(keep));
	assert_int_equal(count_entries(keep), 0);
	assert_int_equal(count_entries(f->dir), 1);

	/* mkdir of an existing directory is fine and creates nothing to undo. */
	fs = moat_fileset_new();
	assert_int_equal(moat_fileset_mkdir(fs, keep, 0700, &err), 0);
	moat_fileset_free(fs);
	assert_true(moat_dir_exists(keep));

	moat_fileset_free(NULL);
	assert_false(moat_err_isset(&err));
}

static void test_committed_dirs_stay(void **state)
{
	struct fixture *f = *state;
	char d[PATH_MAX], p[PATH_MAX];
	struct moat_fileset *fs = moat_fileset_new();
	struct moat_err err;

	moat_err_clear(&err);
	path(d, f, "live/example.com");
	assert_int_equal(moat_fileset_mkdir(fs, d, 0700, &err), 0);
	path(p, f, "live/example.com/cert.pem");
	assert_int_equal(moat_fileset_add(fs, p, "C", 1, 0644, false, &err), 0);
	assert_int_equal(moat_fileset_commit(fs, &err), 0);
	moat_fileset_free(fs);
	assert_true(moat_dir_exists(d));
	assert_content(p, "C");
	assert_int_equal(count_entries(d), 1);
}

static void test_overwrite(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX], link_path[PATH_MAX];
	struct moat_fileset *fs = moat_fileset_new();
	struct moat_err err;

	path(p, f, "cert.pem");
	write_plain(p, "old", 3);

	/* overwrite = false refuses, and stages nothing. */
	moat_err_clear(&err);
	assert_int_equal(moat_fileset_add(fs, p, "new", 3, 0644, false, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_non_null(strstr(err.msg, "cert.pem"));
	assert_non_null(strstr(err.hint, "--force"));
	assert_int_equal(count_entries(f->dir), 1);
	moat_fileset_free(fs);
	assert_content(p, "old");

	/* A dangling symlink counts as existing. */
	path(link_path, f, "dangling");
	assert_int_equal(symlink("/nonexistent/moat-test", link_path), 0);
	fs = moat_fileset_new();
	assert_int_equal(moat_fileset_add(fs, link_path, "x", 1, 0644, false, NULL), -1);
	moat_fileset_free(fs);
	assert_int_equal(unlink(link_path), 0);

	/* overwrite = true replaces, with the new mode. */
	fs = moat_fileset_new();
	moat_err_clear(&err);
	assert_int_equal(moat_fileset_add(fs, p, "new", 3, 0600, true, &err), 0);
	assert_content(p, "old"); /* not before commit */
	assert_int_equal(moat_fileset_commit(fs, &err), 0);
	moat_fileset_free(fs);
	assert_content(p, "new");
	assert_int_equal(mode_of(p), 0600);

	/* moat_file_write_atomic overwrites. */
	assert_int_equal(moat_file_write_atomic(p, "newer", 5, 0644, &err), 0);
	assert_content(p, "newer");
	assert_int_equal(mode_of(p), 0644);
	assert_int_equal(count_entries(f->dir), 1);
}

static void test_too_many_files(void **state)
{
	struct fixture *f = *state;
	struct moat_fileset *fs = moat_fileset_new();
	struct moat_err err;
	char p[PATH_MAX];
	int i, rc = 0;

	for (i = 0; i < 100 && rc == 0; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i);
		path(p, f, name);
		moat_err_clear(&err);
		rc = moat_fileset_add(fs, p, "x", 1, 0644, false, &err);
	}
	assert_int_equal(rc, -1);
	assert_true(i > 8);
	assert_non_null(strstr(err.msg, "too many files"));
	moat_fileset_free(fs);
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_unwritable_paths(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX], file[PATH_MAX];
	struct moat_fileset *fs = moat_fileset_new();
	struct moat_err err;

	/* Into a directory that does not exist. */
	path(p, f, "missing/cert.pem");
	moat_err_clear(&err);
	assert_int_equal(moat_fileset_add(fs, p, "x", 1, 0644, false, &err), -1);
	assert_non_null(strstr(err.msg, "cannot write"));
	assert_non_null(strstr(err.msg, "missing/cert.pem"));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));

	/* Below a regular file. */
	path(file, f, "file");
	write_plain(file, "x", 1);
	path(p, f, "file/cert.pem");
	moat_err_clear(&err);
	assert_int_equal(moat_fileset_add(fs, p, "x", 1, 0644, false, &err), -1);
	assert_non_null(strstr(err.msg, strerror(ENOTDIR)));
	path(p, f, "file/sub");
	moat_err_clear(&err);
	assert_int_equal(moat_fileset_mkdir(fs, p, 0700, &err), -1);
	assert_non_null(strstr(err.msg, "cannot create directory"));
	moat_err_clear(&err);
	assert_int_equal(moat_fileset_mkdir(fs, file, 0700, &err), -1);
	assert_non_null(strstr(err.msg, strerror(ENOTDIR)));
	moat_fileset_free(fs);
	assert_int_equal(count_entries(f->dir), 1);
}

static const char *ro_dir;

static int try_write_readonly(void *arg)
{
	char p[PATH_MAX];
	struct moat_fileset *fs;
	struct moat_err err;
	struct stat st;

	(void)arg;
	if (stat(ro_dir, &st) != 0)
		return 77; /* cannot reach the test directory as nobody */
	fs = moat_fileset_new();
	snprintf(p, sizeof(p), "%s/cert.pem", ro_dir);
	moat_err_clear(&err);
	if (moat_fileset_add(fs, p, "x", 1, 0644, false, &err) != -1)
		return 1;
	if (strstr(err.msg, "cannot write") == NULL || strstr(err.msg, strerror(EACCES)) == NULL)
		return 2;
	if (strstr(err.hint, "permissions") == NULL)
		return 3;
	snprintf(p, sizeof(p), "%s/sub/dir", ro_dir);
	moat_err_clear(&err);
	if (moat_fileset_mkdir(fs, p, 0700, &err) != -1 ||
	    strstr(err.msg, "cannot create directory") == NULL)
		return 4;
	if (moat_file_write_atomic(p, "x", 1, 0644, NULL) != -1)
		return 5;
	moat_fileset_free(fs);
	return 0;
}

static void test_unwritable_dir(void **state)
{
	struct fixture *f = *state;
	char ro[PATH_MAX];
	int rc;

	path(ro, f, "ro");
	assert_int_equal(mkdir(ro, 0555), 0);
	assert_int_equal(chmod(ro, 0555), 0);
	assert_int_equal(chmod(f->dir, 0711), 0);
	ro_dir = ro;
	rc = in_child(try_write_readonly, NULL, true, false);
	if (rc == 77)
		UNIT_SKIP("user nobody cannot reach the test directory");
	assert_int_equal(rc, 0);
	assert_int_equal(count_entries(ro), 0);
}

static void test_path_join_and_remove(void **state)
{
	struct fixture *f = *state;
	char out[16], d[PATH_MAX], p[PATH_MAX];
	struct moat_err err;

	moat_err_clear(&err);
	assert_int_equal(moat_path_join(out, sizeof(out), "/a/b", "c.pem", &err), 0);
	assert_string_equal(out, "/a/b/c.pem");
	assert_int_equal(moat_path_join(out, sizeof(out), "/a/b", "0123456789a", &err), -1);
	assert_non_null(strstr(err.msg, "path too long"));
	assert_int_equal(moat_path_join(out, 11, "/a/b", "c.pem", NULL), 0);
	assert_int_equal(moat_path_join(out, 10, "/a/b", "c.pem", NULL), -1);

	path(d, f, "flat");
	assert_int_equal(mkdir(d, 0700), 0);
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "flat/f%d", i);
		path(p, f, name);
		write_plain(p, "x", 1);
	}
	assert_true(moat_dir_exists(d));
	assert_false(moat_dir_exists(p));
	assert_true(moat_file_exists(p));
	moat_dir_remove_flat(d);
	assert_false(moat_file_exists(d));
}

/* ---- home.c --------------------------------------------------------------------------- */

static int home_as_user(void *arg)
{
	char out[PATH_MAX];
	struct moat_err err;

	(void)arg;
	if (geteuid() == 0)
		return 77;
	unsetenv("MOAT_HOME");
	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("HOME", "/home/u", 1);
	if (moat_home_dir(out, sizeof(out), NULL) != 0 || strcmp(out, "/x/data/moat") != 0)
		return 1;
	setenv("XDG_DATA_HOME", "relative", 1); /* ignored, as XDG says */
	if (moat_home_dir(out, sizeof(out), NULL) != 0 ||
	    strcmp(out, "/home/u/.local/share/moat") != 0)
		return 2;
	setenv("XDG_DATA_HOME", "", 1);
	if (moat_home_dir(out, sizeof(out), NULL) != 0 ||
	    strcmp(out, "/home/u/.local/share/moat") != 0)
		return 3;
	unsetenv("XDG_DATA_HOME");
	if (moat_home_dir(out, sizeof(out), NULL) != 0 ||
	    strcmp(out, "/home/u/.local/share/moat") != 0)
		return 4;
	unsetenv("HOME");
	moat_err_clear(&err);
	if (moat_home_dir(out, sizeof(out), &err) != -1 || strstr(err.hint, "MOAT_HOME") == NULL)
		return 5;
	setenv("MOAT_HOME", "/srv/moat", 1);
	if (moat_home_dir(out, sizeof(out), NULL) != 0 || strcmp(out, "/srv/moat") != 0)
		return 6;
	return 0;
}

static void test_home(void **state)
{
	char out[PATH_MAX], tiny[8];
	struct moat_err err;
	int rc;

	(void)state;
	setenv("MOAT_HOME", "/srv/ca-one", 1);
	assert_int_equal(moat_home_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/srv/ca-one");
	setenv("MOAT_HOME", "relative/dir", 1);
	assert_int_equal(moat_home_dir(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "relative/dir");
	moat_err_clear(&err);
	assert_int_equal(moat_home_dir(tiny, sizeof(tiny), &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
	unsetenv("MOAT_HOME");
	if (geteuid() == 0) {
		setenv("XDG_DATA_HOME", "/x/data", 1);
		assert_int_equal(moat_home_dir(out, sizeof(out), NULL), 0);
		assert_string_equal(out, "/var/lib/moat");
		unsetenv("XDG_DATA_HOME");
	}
	rc = in_child(home_as_user, NULL, true, false);
	if (rc == 77)
		UNIT_SKIP("still root after dropping to user nobody");
	assert_int_equal(rc, 0);
}

/* ---- pass.c, non-interactive sources ---------------------------------------------- */

#define ENV "MOAT_TEST_PASSPHRASE"

struct pass_case {
	const char *content; /* file content, NULL: no file */
	size_t len;          /* 0: strlen(content) */
	bool confirm;
	const char *want; /* passphrase, or NULL when it must fail */
	const char *err;  /* part of the message when failing */
};

static const struct pass_case pass_cases[] = {
	{"correct horse\nsecond line\n", 0, false, "correct horse", NULL},
	{"windows-style\r\nnext\r\n", 0, false, "windows-style", NULL},
	{"no newline at all", 0, false, "no newline at all", NULL},
	{"  spaces kept  \n", 0, false, "  spaces kept  ", NULL},
	{"short\n", 0, false, "short", NULL},
	{"short\n", 0, true, NULL, "at least 8"},
	{"1234567\n", 0, true, NULL, "too short"},
	{"12345678\n", 0, true, "12345678", NULL},
	{"", 0, false, NULL, "is empty"},
	{"\n", 0, false, NULL, "is empty"},
	{"\r\n", 0, false, NULL, "is empty"},
	{"\nsecond", 0, false, NULL, "is empty"},
	{"nul\0byte\n", 9, false, NULL, "NUL"},
};

static void test_pass_file(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX];

	unsetenv(ENV);
	path(p, f, "pass.txt");
	for (size_t i = 0; i < sizeof(pass_cases) / sizeof(pass_cases[0]); i++) {
		const struct pass_case *c = &pass_cases[i];
		struct moat_buf out = MOAT_BUF_INIT;
		struct moat_err err;
		int rc;

		write_plain(p, c->content, c->len ? c->len : strlen(c->content));
		assert_int_equal(moat_buf_puts(&out, "previous content"), 0);
		moat_err_clear(&err);
		rc = moat_pass_get(p, ENV, "unused: ", c->confirm, &out, &err);
		if (c->want != NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, err.msg);
			assert_int_equal(out.len, strlen(c->want));
			assert_string_equal((char *)out.data, c->want);
		} else {
			assert_int_equal(rc, -1);
			if (strstr(err.msg, c->err) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, c->err);
			assert_int_equal(out.len, 0);
		}
		moat_buf_wipe(&out);
	}

	/* The file wins over the environment. */
	{
		struct moat_buf out = MOAT_BUF_INIT;

		write_plain(p, "from the file\n", 14);
		setenv(ENV, "from the environment", 1);
		assert_int_equal(moat_pass_get(p, ENV, "unused: ", false, &out, NULL), 0);
		assert_string_equal((char *)out.data, "from the file");
		moat_buf_wipe(&out);
		unsetenv(ENV);
	}
	/* Too large, missing. */
	{
		char big[MOAT_PASS_MAX + 2];
		struct moat_buf out = MOAT_BUF_INIT;
		struct moat_err err;

		memset(big, 'a', sizeof(big));
		write_plain(p, big, MOAT_PASS_MAX);
		assert_int_equal(moat_pass_get(p, NULL, "unused: ", false, &out, NULL), 0);
		assert_int_equal(out.len, MOAT_PASS_MAX);
		moat_buf_wipe(&out);
		write_plain(p, big, MOAT_PASS_MAX + 1);
		moat_err_clear(&err);
		assert_int_equal(moat_pass_get(p, NULL, "unused: ", false, &out, &err), -1);
		assert_non_null(strstr(err.msg, "too large"));
		path(p, f, "no-such-file");
		moat_err_clear(&err);
		assert_int_equal(moat_pass_get(p, NULL, "unused: ", false, &out, &err), -1);
		assert_non_null(strstr(err.msg, "no-such-file"));
		assert_null(out.data);
	}
}

static void test_pass_env(void **state)
{
	struct moat_buf out = MOAT_BUF_INIT;
	struct moat_err err;
	char big[MOAT_PASS_MAX + 2];

	(void)state;
	setenv(ENV, "from the environment", 1);
	assert_int_equal(moat_pass_get(NULL, ENV, "unused: ", true, &out, NULL), 0);
	assert_string_equal((char *)out.data, "from the environment");
	moat_buf_wipe(&out);

	setenv(ENV, "short", 1);
	assert_int_equal(moat_pass_get(NULL, ENV, "unused: ", false, &out, NULL), 0);
	assert_string_equal((char *)out.data, "short");
	moat_buf_wipe(&out);
	moat_err_clear(&err);
	assert_int_equal(moat_pass_get(NULL, ENV, "unused: ", true, &out, &err), -1);
	assert_non_null(strstr(err.msg, "at least 8"));
	assert_non_null(strstr(err.msg, ENV));
	assert_int_equal(out.len, 0);

	setenv(ENV, "", 1);
	moat_err_clear(&err);
	assert_int_equal(moat_pass_get(NULL, ENV, "unused: ", false, &out, &err), -1);
	assert_non_null(strstr(err.msg, "empty"));

	memset(big, 'a', sizeof(big));
	big[MOAT_PASS_MAX + 1] = '\0';
	setenv(ENV, big, 1);
	moat_err_clear(&err);
	assert_int_equal(moat_pass_get(NULL, ENV, "unused: ", false, &out, &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
	unsetenv(ENV);
}

static int pass_without_tty(void *arg)
{
	struct moat_buf out = MOAT_BUF_INIT;
	struct moat_err err;

	(void)arg;
	unsetenv(ENV);
	moat_err_clear(&err);
	if (moat_pass_get(NULL, ENV, "Passphrase: ", false, &out, &err) != -1)
		return 1;
	if (strcmp(err.msg, "a passphrase is needed but there is no terminal to ask on") != 0)
		return 2;
	if (strcmp(err.hint, "set " ENV " or use --passphrase-file") != 0)
		return 3;
	moat_err_clear(&err);
	if (moat_pass_get(NULL, NULL, "Passphrase: ", true, &out, &err) != -1)
		return 4;
	if (strstr(err.hint, "--passphrase-file") == NULL || out.data != NULL)
		return 5;
	return 0;
}

static void test_pass_no_tty(void **state)
{
	(void)state;
	/* A new session has no controlling terminal: /dev/tty cannot be opened. */
	assert_int_equal(in_child(pass_without_tty, NULL, false, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_committed_dirs_stay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_join_and_remove, setup, teardown),
		cmocka_unit_test(test_home),
		cmocka_unit_test_setup_teardown(test_pass_file, setup, teardown),
		cmocka_unit_test(test_pass_env),
		cmocka_unit_test(test_pass_no_tty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
