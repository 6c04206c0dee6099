#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_MAX 32

struct staged {
	char *path;
	char *tmp;
	int fd; /* open until commit fsyncs it; -1 after */
	bool overwrite;
	bool done;
};

struct moat_fileset {
	struct staged files[FS_MAX];
	size_t nfiles;
	char *dirs[FS_MAX]; /* created by us, deepest last */
	size_t ndirs;
	bool committed;
};

int moat_file_read(const char *path, size_t max, struct moat_buf *out, struct moat_err *err)
{
	int fd, ret = -1;
	struct moat_buf b = MOAT_BUF_INIT;
	unsigned char chunk[8192];
	bool is_stdin = strcmp(path, "-") == 0;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		moat_err_errno(err, errno, "cannot read %s", path);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			moat_err_errno(err, errno, "cannot read %s", path);
			goto out;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > max) {
			moat_err_set(err, "%s is too large (more than %zu bytes)", path, max);
			goto out;
		}
		if (moat_buf_append(&b, chunk, (size_t)r) != 0) {
			moat_err_set(err, "out of memory reading %s", path);
			goto out;
		}
	}
	if (b.data == NULL && moat_buf_append(&b, "", 0) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	*out = b;
	b = (struct moat_buf)MOAT_BUF_INIT;
	ret = 0;
out:
	if (!is_stdin)
		close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	moat_buf_wipe(&b);
	return ret;
}

bool moat_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool moat_dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int moat_path_join(char *out, size_t n, const char *dir, const char *name, struct moat_err *err)
{
	int r = snprintf(out, n, "%s/%s", dir, name);

	if (r < 0 || (size_t)r >= n) {
		moat_err_set(err, "path too long: %s/%s", dir, name);
		return -1;
	}
	return 0;
}

struct moat_fileset *moat_fileset_new(void)
{
	return calloc(1, sizeof(struct moat_fileset));
}

/* The directory part of path ("." or "/" when there is none). */
static void parent_of(const char *path, char *dir, size_t n)
{
	char *slash;

	snprintf(dir, n, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, n, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

int moat_dir_sync(const char *dir)
{
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* fsync the parent directory of each path once, however many of the
 * paths share it. */
static void fsync_parents(const char *const *paths, size_t n)
{
	char dir[PATH_MAX], other[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		parent_of(paths[i], dir, sizeof(dir));
		for (size_t j = 0; j < i && !seen; j++) {
			parent_of(paths[j], other, sizeof(other));
			seen = strcmp(dir, other) == 0;
		}
		if (!seen)
			(void)moat_dir_sync(dir);
	}
}

int moat_fileset_mkdir(struct moat_fileset *fs, const char *dir, mode_t mode, struct moat_err *err)
{
	char p[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(p)) {
		moat_err_set(err, "invalid directory path");
		return -1;
	}
	memcpy(p, dir, len + 1);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';
		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, mode) == 0) {
			char *copy = NULL;
			if (fs != NULL && (fs->ndirs >= FS_MAX || (copy = strdup(p)) == NULL)) {
				(void)rmdir(p);
				moat_err_set(err, "cannot create directory %s: too many directories", p);
				return -1;
			}
			if (fs != NULL)
				fs->dirs[fs->ndirs++] = copy;
		} else if (errno != EEXIST || !moat_dir_exists(p)) {
			moat_err_errno(err, errno == EEXIST ? ENOTDIR : errno,
				       "cannot create directory %s", p);
			return -1;
		}
		if (end)
			break;
		*s = '/';
	}
	return 0;
}

int moat_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int moat_fileset_add(struct moat_fileset *fs, const char *path, const void *data, size_t len,
		     mode_t mode, bool overwrite, struct moat_err *err)
{
	struct staged *s;
	char tmp[PATH_MAX];
	int fd = -1, ret = -1;
	mode_t old_umask;

	if (fs->nfiles >= FS_MAX) {
		moat_err_set(err, "too many files in one write");
		return -1;
	}
	if (!overwrite && moat_file_exists(path)) {
		moat_err_set(err, "%s already exists", path);
		moat_err_hint(err, "use --force to replace it");
		return -1;
	}
	for (unsigned i = 0;; i++) {
		int r = snprintf(tmp, sizeof(tmp), "%s.tmp-%ld-%u", path, (long)getpid(), i);
		if (r < 0 || (size_t)r >= sizeof(tmp)) {
			moat_err_set(err, "path too long: %s", path);
			return -1;
		}
		old_umask = umask(077);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
		umask(old_umask);
		if (fd >= 0 || errno != EEXIST || i > 100)
			break;
	}
	if (fd < 0) {
		moat_err_errno(err, errno, "cannot write %s", path);
		return -1;
	}
	s = &fs->files[fs->nfiles];
	s->tmp = strdup(tmp);
	s->path = strdup(path);
	s->fd = -1;
	s->overwrite = overwrite;
	s->done = false;
	if (s->tmp == NULL || s->path == NULL) {
		free(s->tmp);
		free(s->path);
		unlink(tmp);
		moat_err_set(err, "out of memory");
		goto out;
	}
	fs->nfiles++;
	if (moat_write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0) {
		moat_err_errno(err, errno, "cannot write %s", path);
		goto out;
	}
	/* Start writing the data out now; commit waits for it with fsync.
	 * Several files in flight at once cost little more than one. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	s->fd = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Wait until every staged file is on disk; closes their descriptors. */
static int sync_staged(struct moat_fileset *fs, struct moat_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < fs->nfiles; i++) {
		struct staged *s = &fs->files[i];
		if (s->fd < 0)
			continue;
		if ((fsync(s->fd) != 0 || close(s->fd) != 0) && ret == 0) {
			moat_err_errno(err, errno, "cannot write %s", s->path);
			ret = -1;
		}
		s->fd = -1;
	}
	return ret;
}

int moat_fileset_commit(struct moat_fileset *fs, struct moat_err *err)
{
	const char *paths[2 * FS_MAX];
	size_t n = 0;

	if (sync_staged(fs, err) != 0)
		return -1;
	for (size_t i = 0; i < fs->nfiles; i++) {
		struct staged *s = &fs->files[i];
		/* Without overwrite, a file that appeared since staging wins. */
		if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->path,
			      s->overwrite ? 0 : RENAME_NOREPLACE) != 0) {
			if (errno == EEXIST) {
				moat_err_set(err, "%s already exists", s->path);
				moat_err_hint(err, "use --force to replace it");
			} else {
				moat_err_errno(err, errno, "cannot write %s", s->path);
			}
			return -1;
		}
		s->done = true;
	}
	/* The renamed files' directories, and the parents of the directories
	 * this fileset created (so the new entries themselves are durable). */
	for (size_t i = 0; i < fs->nfiles; i++)
		paths[n++] = fs->files[i].path;
	for (size_t i = 0; i < fs->ndirs; i++)
		paths[n++] = fs->dirs[i];
	fsync_parents(paths, n);
	fs->committed = true;
	return 0;
}

void moat_fileset_free(struct moat_fileset *fs)
{
	if (fs == NULL)
		return;
	for (size_t i = 0; i < fs->nfiles; i++) {
		struct staged *s = &fs->files[i];
		if (s->fd >= 0)
			close(s->fd);
		if (!s->done)
			(void)unlink(s->tmp);
		free(s->tmp);
		free(s->path);
	}
	for (size_t i = fs->ndirs; i-- > 0;) {
		if (!fs->committed)
			(void)rmdir(fs->dirs[i]);
		free(fs->dirs[i]);
	}
	free(fs);
}

int moat_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			   struct moat_err *err)
{
	struct moat_fileset *fs = moat_fileset_new();
	int ret = -1;

	if (fs == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	if (moat_fileset_add(fs, path, data, len, mode, true, err) != 0)
		goto out;
	if (moat_fileset_commit(fs, err) != 0)
		goto out;
	ret = 0;
out:
	moat_fileset_free(fs);
	return ret;
}

void moat_dir_remove_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
				(void)unlink(p);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}
