/* qr.h: QR codes (via libqrencode) for the trust page, drawn in a terminal
 * or as SVG.
 *
 * The text is encoded whole in 8-bit (byte) mode at error-correction level
 * M, in the smallest version that holds it.  Coordinates are modules, (0,0)
 * top left, without the quiet zone; the renderers add it. */
#ifndef MOAT_TRUST_QR_H
#define MOAT_TRUST_QR_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"

#define TRUST_QR_MAX_TEXT 1024 /* bytes we agree to encode */
#define TRUST_QR_TEXT_QUIET 2  /* quiet zone of the terminal rendering, modules */
#define TRUST_QR_SVG_QUIET 4   /* quiet zone of the SVG, modules (as the standard asks) */

struct trust_qr;

/* text: 1..TRUST_QR_MAX_TEXT bytes, NUL-terminated. */
struct trust_qr *trust_qr_new(const char *text, struct moat_err *err);
void trust_qr_free(struct trust_qr *qr);
/* Modules per side (21 for version 1, 25 for version 2, ...). */
int trust_qr_size(const struct trust_qr *qr);
int trust_qr_version(const struct trust_qr *qr);
/* Is the module at (x, y) dark?  Outside the symbol: false (the quiet zone
 * is light). */
bool trust_qr_dark(const struct trust_qr *qr, int x, int y);

/* The symbol as UTF-8 text, appended to out: every line covers two module
 * rows with the half blocks U+2580, U+2584 and the full block U+2588,
 * TRUST_QR_TEXT_QUIET light modules around it.  LIGHT modules are the ones
 * drawn (the terminal's text colour) and dark ones are spaces, so the code
 * scans on the usual light-on-dark terminal.  With ansi, each line is
 * wrapped in escapes that force white on black, so it scans on any theme.
 * Every line ends with "\n". */
int trust_qr_text(const struct trust_qr *qr, bool ansi, struct moat_buf *out,
		  struct moat_err *err);
/* The symbol as a standalone SVG element, appended to out: a white
 * background, one <path> of the dark modules, TRUST_QR_SVG_QUIET modules of
 * quiet zone, viewBox in modules, width and height of px_per_module pixels
 * per module (0: 4), shape-rendering="crispEdges".  Embeddable in HTML as
 * it is. */
int trust_qr_svg(const struct trust_qr *qr, unsigned px_per_module, struct moat_buf *out,
		 struct moat_err *err);

#endif
