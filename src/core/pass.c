#include "core/pass.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/file.h"

#define SHOW_MAX 128

/* Signals that would otherwise leave the terminal with echo off. */
static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Read one line (without the newline) into buf, which holds
 * MOAT_PASS_MAX + 1 bytes.  A signal ends the read with -1. */
static int read_line(int fd, char *buf, size_t *len, struct moat_err *err)
{
	size_t n = 0;
	bool too_long = false;
	int ret = -1;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0) {
			if (errno == EINTR && got_signal == 0)
				continue;
			if (errno == EINTR)
				moat_err_set(err, "interrupted while reading the passphrase");
			else
				moat_err_errno(err, errno, "cannot read the passphrase from the terminal");
			goto out;
		}
		if (r == 0 || c == '\n')
			break;
		if (n >= MOAT_PASS_MAX)
			too_long = true; /* keep reading to the end of the line */
		else
			buf[n++] = c;
		c = 0;
	}
	if (too_long) {
		moat_err_set(err, "the passphrase is too long (more than %d bytes)", MOAT_PASS_MAX);
		goto out;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	ret = 0;
out:
	if (ret != 0)
		explicit_bzero(buf, MOAT_PASS_MAX + 1);
	return ret;
}

/* Print prompt on the terminal fd and read a line with echo off.  The
 * terminal settings and signal dispositions are restored in every case. */
static int ask(int fd, const char *prompt, char *buf, size_t *len, struct moat_err *err)
{
	struct termios old, quiet;
	struct sigaction sa, saved[NSIGNALS];
	bool tty_changed = false;
	int sig;
	int ret = -1;

	if (tcgetattr(fd, &old) != 0) {
		moat_err_errno(err, errno, "cannot use the terminal to ask for the passphrase");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: let read() return EINTR */
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(tty_signals[i], &sa, &saved[i]);
	if (moat_write_all(fd, prompt, strlen(prompt)) != 0) {
		moat_err_errno(err, errno, "cannot write to the terminal");
		goto out;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		moat_err_errno(err, errno, "cannot turn off echo on the terminal");
		goto out;
	}
	tty_changed = true;
	if (read_line(fd, buf, len, err) != 0)
		goto out;
	ret = 0;
out:
	if (tty_changed)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)moat_write_all(fd, "\n", 1);
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(tty_signals[i], &saved[i], NULL);
	sig = got_signal;
	got_signal = 0;
	if (sig != 0) {
		/* The terminal is back to normal: let the signal do what it does. */
		moat_err_set(err, "interrupted while reading the passphrase");
		ret = -1;
		raise(sig);
	}
	return ret;
}

static int from_tty(const char *envname, const char *prompt, bool confirm, char *p1, size_t *len,
		    struct moat_err *err)
{
	char p2[MOAT_PASS_MAX + 1];
	size_t len2 = 0;
	int fd, ret = -1;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		moat_err_set(err, "a passphrase is needed but there is no terminal to ask on");
		if (envname != NULL)
			moat_err_hint(err, "set %s or use --passphrase-file", envname);
		else
			moat_err_hint(err, "use --passphrase-file");
		goto out;
	}
	if (ask(fd, prompt != NULL ? prompt : "Passphrase: ", p1, len, err) != 0)
		goto out;
	if (*len == 0) {
		moat_err_set(err, "the passphrase is empty");
		goto out;
	}
	if (confirm) {
		if (*len < MOAT_PASS_MIN) {
			moat_err_set(err, "the new passphrase is too short (%zu characters; at least %d "
					  "are needed)",
				     *len, MOAT_PASS_MIN);
			goto out;
		}
		if (ask(fd, "Repeat the passphrase: ", p2, &len2, err) != 0)
			goto out;
		if (len2 != *len || memcmp(p1, p2, len2) != 0) {
			moat_err_set(err, "the passphrases do not match");
			goto out;
		}
	}
	ret = 0;
out:
	explicit_bzero(p2, sizeof(p2));
	if (ret != 0)
		explicit_bzero(p1, MOAT_PASS_MAX + 1);
	if (fd >= 0)
		close(fd);
	return ret;
}

int moat_pass_get(const char *file, const char *envname, const char *prompt, bool confirm,
		  struct moat_buf *out, struct moat_err *err)
{
	struct moat_buf raw = MOAT_BUF_INIT;
	char line[MOAT_PASS_MAX + 1];
	char show[SHOW_MAX];
	char src[SHOW_MAX + 16] = "";
	const char *pass = NULL;
	const char *ev = NULL;
	size_t len = 0;
	int ret = -1;

	moat_buf_wipe(out);
	if (file != NULL) {
		const char *nl;

		if (moat_file_read(file, MOAT_PASS_MAX, &raw, err) != 0)
			goto out;
		moat_escape(show, sizeof(show), file, strlen(file));
		snprintf(src, sizeof(src), "in %s ", show);
		pass = (const char *)raw.data;
		nl = memchr(pass, '\n', raw.len);
		len = nl != NULL ? (size_t)(nl - pass) : raw.len;
		if (len > 0 && pass[len - 1] == '\r')
			len--;
		if (len == 0) {
			moat_err_set(err, "the first line of the passphrase file %s is empty", show);
			goto out;
		}
		if (memchr(pass, '\0', len) != NULL) {
			moat_err_set(err, "the passphrase in %s contains a NUL byte", show);
			goto out;
		}
	} else if (envname != NULL && (ev = getenv(envname)) != NULL) {
		snprintf(src, sizeof(src), "in %s ", envname);
		pass = ev;
		len = strlen(ev);
		if (len == 0) {
			moat_err_set(err, "%s is set but empty", envname);
			moat_err_hint(err, "unset it to be asked on the terminal");
			goto out;
		}
		if (len > MOAT_PASS_MAX) {
			moat_err_set(err, "the passphrase in %s is too long (more than %d bytes)",
				     envname, MOAT_PASS_MAX);
			goto out;
		}
	} else {
		if (from_tty(envname, prompt, confirm, line, &len, err) != 0)
			goto out;
		pass = line;
	}
	if (confirm && len < MOAT_PASS_MIN) {
		moat_err_set(err, "the new passphrase %sis too short (%zu characters; at least %d are "
				  "needed)",
			     src, len, MOAT_PASS_MIN);
		goto out;
	}
	if (moat_buf_append(out, pass, len) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		moat_buf_wipe(out);
	explicit_bzero(line, sizeof(line));
	moat_buf_wipe(&raw);
	return ret;
}
