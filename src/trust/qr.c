/* qr.c: QR codes through libqrencode, drawn with half blocks or as SVG. */
#include "trust/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

struct trust_qr {
	int size;
	int version;
	unsigned char *m; /* size * size, row by row: 1 dark, 0 light */
};

struct trust_qr *trust_qr_new(const char *text, struct moat_err *err)
{
	struct trust_qr *qr = NULL, *ret = NULL;
	QRcode *code = NULL;
	size_t len = text != NULL ? strlen(text) : 0;

	if (len == 0 || len > TRUST_QR_MAX_TEXT) {
		moat_err_set(err, "cannot make a QR code of %zu bytes (1 to %d)", len,
			     TRUST_QR_MAX_TEXT);
		goto out;
	}
	errno = 0;
	code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (code == NULL) {
		if (errno == ERANGE)
			moat_err_set(err, "the text is too long for a QR code");
		else
			moat_err_errno(err, errno != 0 ? errno : ENOMEM, "cannot make a QR code");
		goto out;
	}
	if (code->width < 21 || code->width > 177) {
		moat_err_set(err, "libqrencode made a QR code of an impossible size (%d)",
			     code->width);
		goto out;
	}
	if ((qr = calloc(1, sizeof(*qr))) == NULL ||
	    (qr->m = malloc((size_t)code->width * (size_t)code->width)) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	qr->size = code->width;
	qr->version = code->version;
	for (size_t i = 0; i < (size_t)code->width * (size_t)code->width; i++)
		qr->m[i] = code->data[i] & 1; /* the other bits say what the module is for */
	ret = qr;
	qr = NULL;
out:
	if (code != NULL)
		QRcode_free(code);
	trust_qr_free(qr);
	return ret;
}

void trust_qr_free(struct trust_qr *qr)
{
	if (qr == NULL)
		return;
	free(qr->m);
	free(qr);
}

int trust_qr_size(const struct trust_qr *qr)
{
	return qr->size;
}

int trust_qr_version(const struct trust_qr *qr)
{
	return qr->version;
}

bool trust_qr_dark(const struct trust_qr *qr, int x, int y)
{
	if (x < 0 || y < 0 || x >= qr->size || y >= qr->size)
		return false;
	return qr->m[(size_t)y * (size_t)qr->size + (size_t)x] != 0;
}

int trust_qr_text(const struct trust_qr *qr, bool ansi, struct moat_buf *out,
		  struct moat_err *err)
{
	const int q = TRUST_QR_TEXT_QUIET, total = qr->size + 2 * q;
	int ret = -1;

	for (int y = 0; y < total; y += 2) {
		if (ansi && moat_buf_puts(out, "\x1b[97;40m") != 0)
			goto out;
		for (int x = 0; x < total; x++) {
			/* Drawn: light.  The row below the last one is light too
			 * (a little more quiet zone). */
			bool top = !trust_qr_dark(qr, x - q, y - q);
			bool bottom = !trust_qr_dark(qr, x - q, y + 1 - q);
			const char *c = top && bottom ? "\xe2\x96\x88"  /* U+2588 full block */
					: top	      ? "\xe2\x96\x80"  /* U+2580 upper half */
					: bottom      ? "\xe2\x96\x84"  /* U+2584 lower half */
						      : " ";
			if (moat_buf_puts(out, c) != 0)
				goto out;
		}
		if (moat_buf_puts(out, ansi ? "\x1b[0m\n" : "\n") != 0)
			goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		moat_err_set(err, "out of memory");
	return ret;
}

int trust_qr_svg(const struct trust_qr *qr, unsigned px_per_module, struct moat_buf *out,
		 struct moat_err *err)
{
	const int q = TRUST_QR_SVG_QUIET, total = qr->size + 2 * q;
	unsigned px;
	int ret = -1;

	if (px_per_module == 0)
		px_per_module = 4;
	if (px_per_module > 64) {
		moat_err_set(err, "a QR code module of %u pixels is too large", px_per_module);
		return -1;
	}
	px = px_per_module * (unsigned)total;
	if (moat_buf_printf(out,
			    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
			    "viewBox=\"0 0 %d %d\" width=\"%u\" height=\"%u\" "
			    "shape-rendering=\"crispEdges\">"
			    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
			    "<path fill=\"#000\" stroke=\"none\" d=\"",
			    total, total, px, px, total, total) != 0)
		goto out;
	/* One horizontal run of dark modules per subpath. */
	for (int y = 0; y < qr->size; y++) {
		for (int x = 0; x < qr->size;) {
			int run = 0;

			while (x + run < qr->size && trust_qr_dark(qr, x + run, y))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			if (moat_buf_printf(out, "M%d %dh%dv1h-%dz", x + q, y + q, run, run) != 0)
				goto out;
			x += run;
		}
	}
	if (moat_buf_puts(out, "\"/></svg>") != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		moat_err_set(err, "out of memory");
	return ret;
}
