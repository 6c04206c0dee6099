/* share.c: the trust page -- the root for phones, over HTTP on the LAN. */
#include "trust/share.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/names.h"
#include "core/parse.h"
#include "trust/qr.h"
#include "trust/trust.h"

#define QR_PX 6 /* pixels per module of the page's QR code */

enum { F_PAGE, F_MOBILECONFIG, F_DER, F_PEM, F_QR, F_COUNT };

static const struct trust_share_file files[F_COUNT] = {
	[F_PAGE] = {"/", "text/html; charset=utf-8", "html", "this page", false},
	[F_MOBILECONFIG] = {"/moat-root.mobileconfig", "application/x-apple-aspen-config",
			    "mobileconfig", "iPhone, iPad, Mac", true},
	[F_DER] = {"/moat-root.crt", "application/x-x509-ca-cert", "der", "Android, Windows", true},
	[F_PEM] = {"/moat-root.pem", "application/x-pem-file", "pem",
		   "Linux, Firefox, command-line tools", true},
	[F_QR] = {"/qr.svg", "image/svg+xml", "svg", "QR code of this page", false},
};

struct trust_share {
	struct net_server *srv;
	struct moat_buf body[F_COUNT];
	struct trust_qr *qr;
	char url[300];
	char fp[100];
	trust_share_log_fn log;
	void *log_arg;
};

const struct trust_share_file *trust_share_files(size_t *n)
{
	*n = F_COUNT;
	return files;
}

/* ---- URLs and addresses -------------------------------------------------------- */

int trust_share_make_url(const char *host, uint16_t port, char *out, size_t n,
			 struct moat_err *err)
{
	struct moat_name name;
	char portpart[8] = "";
	int r;

	if (host == NULL || host[0] == '\0') {
		moat_err_set(err, "no host name for the page's address");
		return -1;
	}
	if (moat_name_parse(host, &name, err) != 0) {
		moat_err_hint(err, "give the host name or IP address phones reach this machine at");
		return -1;
	}
	if (name.type == MOAT_NAME_WILDCARD) {
		moat_err_set(err, "a wildcard cannot be the page's host name");
		moat_err_hint(err, "give the host name or IP address phones reach this machine at");
		return -1;
	}
	if (port != 80)
		snprintf(portpart, sizeof(portpart), ":%u", (unsigned)port);
	if (name.type == MOAT_NAME_IPV6)
		r = snprintf(out, n, "http://[%s]%s/", name.text, portpart);
	else
		r = snprintf(out, n, "http://%s%s/", name.text, portpart);
	if (r < 0 || (size_t)r >= n) {
		moat_err_set(err, "the page's address is too long");
		return -1;
	}
	return 0;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* 0: private address on a real interface; 1: other; 2: container or VM
 * bridge; -1: not for phones. */
static int addr_rank(const char *ifname, uint32_t a /* host order */)
{
	static const char *const bridges[] = {"docker", "br-",	  "virbr", "veth",   "vboxnet",
					      "vmnet",	"podman", "cni",   "flannel", "lxcbr",
					      "lxdbr",	"incusbr", "kube"};

	if ((a >> 24) == 127 || (a >> 16) == 0xa9fe /* 169.254/16 */ || a == 0 ||
	    (a >> 28) >= 0xe /* multicast, reserved */)
		return -1;
	for (size_t i = 0; i < sizeof(bridges) / sizeof(bridges[0]); i++)
		if (has_prefix(ifname, bridges[i]))
			return 2;
	if ((a >> 24) == 10 || (a >> 20) == 0xac1 /* 172.16/12 */ ||
	    (a >> 16) == 0xc0a8 /* 192.168/16 */)
		return 0;
	return 1;
}

int trust_share_lan_addrs(char (*out)[64], size_t max, size_t *n, struct moat_err *err)
{
	struct ifaddrs *list = NULL;

	*n = 0;
	if (getifaddrs(&list) != 0) {
		moat_err_errno(err, errno, "cannot list the network interfaces");
		return -1;
	}
	for (int rank = 0; rank <= 2; rank++) {
		for (struct ifaddrs *i = list; i != NULL && *n < max; i = i->ifa_next) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
			char text[64];
			bool dup = false;

			if (sin == NULL || sin->sin_family != AF_INET || i->ifa_name == NULL ||
			    (i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_RUNNING) == 0 ||
			    (i->ifa_flags & IFF_LOOPBACK) != 0 ||
			    addr_rank(i->ifa_name, ntohl(sin->sin_addr.s_addr)) != rank ||
			    moat_addr_text(i->ifa_addr, text, sizeof(text), false) != 0)
				continue;
			for (size_t k = 0; k < *n; k++)
				dup = dup || strcmp(out[k], text) == 0;
			if (!dup)
				snprintf(out[(*n)++], 64, "%s", text);
		}
	}
	freeifaddrs(list);
	return 0;
}

/* ---- the page -------------------------------------------------------------------- */

static const char css[] =
	":root{color-scheme:light dark;--fg:#1b1f24;--bg:#f3f5f7;--card:#fff;--muted:#57606a;"
	"--accent:#0b57d0;--on-accent:#fff;--line:#d8dee4;--warn:#9a6700}"
	"@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--card:#161b22;"
	"--muted:#9ba6b1;--accent:#7cacf8;--on-accent:#0a1a33;--line:#30363d;--warn:#d29922}}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--fg);-webkit-text-size-adjust:100%;"
	"font:17px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
	"main{max-width:1000px;margin:0 auto;padding:18px 16px 40px}"
	".brand{margin:0;font-size:13px;color:var(--muted);letter-spacing:.06em;"
	"text-transform:uppercase}"
	"h1{font-size:26px;line-height:1.25;margin:4px 0 8px;overflow-wrap:anywhere}"
	"h2{font-size:19px;margin:0 0 8px}"
	".wrap{display:grid;gap:0 24px;grid-template-columns:minmax(0,1fr)}"
	"@media (min-width:720px){.wrap{grid-template-columns:minmax(0,1fr) 300px}"
	".side{align-self:start}}"
	".card{background:var(--card);border:1px solid var(--line);border-radius:14px;"
	"padding:16px;margin:14px 0}"
	".dl{display:block;text-decoration:none;background:var(--accent);color:var(--on-accent);"
	"border-radius:12px;padding:13px 16px;margin:10px 0;font-weight:650;font-size:19px}"
	".dl small{display:block;font-weight:400;font-size:14px;opacity:.85}"
	".mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
	".fp{font-size:19px;font-weight:600;line-height:1.7;margin:8px 0}"
	".fp span{display:block;white-space:nowrap}"
	".fpc{font-size:12px;color:var(--muted);overflow-wrap:anywhere}"
	"details{border-top:1px solid var(--line);padding:8px 0}"
	"summary{cursor:pointer;font-weight:650;font-size:18px;padding:6px 0}"
	"ol{padding-left:22px;margin:6px 0}li{margin:7px 0}"
	"code{font-size:.88em;overflow-wrap:anywhere}"
	"pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);"
	"border:1px solid var(--line);padding:8px 10px;border-radius:8px;font-size:13px;margin:6px 0}"
	".qr{background:#fff;border-radius:10px;padding:6px;display:inline-block;line-height:0}"
	".qr svg{max-width:100%;height:auto}"
	".url{font-weight:600;overflow-wrap:anywhere}"
	".note{color:var(--muted);font-size:15px}.warn{color:var(--warn)}";

/* The fingerprint, four lines of eight bytes, as iOS and macOS show it. */
static int put_fp_groups(struct moat_buf *b, const char *fp)
{
	int r = moat_buf_puts(b, "<p class=\"fp mono\"><span>");
	int k = 0;

	for (const char *p = fp; *p != '\0' && r == 0; p++) {
		if (*p != ':') {
			r = moat_buf_append(b, p, 1);
			continue;
		}
		k++;
		r = moat_buf_puts(b, k % 8 == 0 ? "</span><span>" : " ");
	}
	return r | moat_buf_puts(b, "</span></p>");
}

static int put_steps(struct moat_buf *b, const char *url, const char *cn)
{
	int r = 0;

	r |= moat_buf_puts(b, "<section class=\"card\" id=\"install\"><h2>3. Install</h2>"
			      "<details><summary>iPhone and iPad</summary><ol>"
			      "<li>Open this page in <b>Safari</b>, tap <b>iPhone, iPad, Mac</b> "
			      "above and allow the download.</li>"
			      "<li>Open <b>Settings</b> and tap <b>Profile Downloaded</b> (or General "
			      "&rarr; VPN &amp; Device Management). Tap <b>More Details</b> &rarr; the "
			      "certificate and compare its SHA-256 fingerprint with the one above, "
			      "then go back and tap <b>Install</b>.</li>"
			      "<li>Go to Settings &rarr; General &rarr; About &rarr; <b>Certificate "
			      "Trust Settings</b> and turn on full trust for <b>");
	r |= trust_markup_escape(b, cn);
	r |= moat_buf_puts(b, "</b>. Without this, Safari and apps still refuse the sites.</li>"
			      "</ol></details>"
			      "<details><summary>Android</summary><ol>"
			      "<li>Tap <b>Android, Windows</b> above; the file goes to Downloads.</li>"
			      "<li>Open <b>Settings</b> &rarr; Security &amp; privacy &rarr; More "
			      "security settings &rarr; Encryption &amp; credentials &rarr; <b>Install "
			      "a certificate</b> &rarr; <b>CA certificate</b> &rarr; Install anyway, "
			      "and pick <code>moat-root.crt</code>. Menus differ between makers: "
			      "search Settings for &ldquo;CA certificate&rdquo;.</li>"
			      "<li>To compare the fingerprint: Encryption &amp; credentials &rarr; "
			      "Trusted credentials &rarr; <b>User</b> &rarr; <b>");
	r |= trust_markup_escape(b, cn);
	r |= moat_buf_puts(b, "</b>.</li>"
			      "<li>Chrome trusts it at once. Firefox only after Settings &rarr; About "
			      "Firefox (tap the logo 5 times) &rarr; Secret Settings &rarr; <b>Use "
			      "third party CA certificates</b>. Apps trust it only if their makers "
			      "allow user certificates.</li>"
			      "</ol></details>"
			      "<details><summary>Mac</summary><ol>"
			      "<li>Click <b>iPhone, iPad, Mac</b> above.</li>"
			      "<li>Double-click the profile in Downloads, then open <b>System "
			      "Settings</b> &rarr; Privacy &amp; Security &rarr; <b>Profiles</b> "
			      "(macOS 15: General &rarr; Device Management), select it and click "
			      "<b>Install</b>. If Safari still refuses the sites: Keychain Access "
			      "&rarr; System &rarr; the certificate &rarr; Trust &rarr; <b>Always "
			      "Trust</b>.</li>"
			      "<li>Or, with the <code>.crt</code> file, in Terminal:"
			      "<pre>sudo security add-trusted-cert -d -r trustRoot -k "
			      "/Library/Keychains/System.keychain ~/Downloads/moat-root.crt</pre></li>"
			      "<li>To compare the fingerprint (printed without the colons):"
			      "<pre>shasum -a 256 ~/Downloads/moat-root.crt</pre></li>"
			      "</ol></details>"
			      "<details><summary>Windows</summary><ol>"
			      "<li>Click <b>Android, Windows</b> above.</li>"
			      "<li>Open <code>moat-root.crt</code> &rarr; <b>Install Certificate</b> "
			      "&rarr; Current User &rarr; <b>Place all certificates in the following "
			      "store</b> &rarr; Browse &rarr; <b>Trusted Root Certification "
			      "Authorities</b> &rarr; Next &rarr; Finish &rarr; Yes.</li>"
			      "<li>Or in Command Prompt:"
			      "<pre>certutil -user -addstore Root %USERPROFILE%\\Downloads\\moat-root.crt"
			      "</pre></li>"
			      "<li>Windows shows only a SHA-1 thumbprint; to compare the SHA-256 "
			      "fingerprint (printed without the colons), in PowerShell:"
			      "<pre>Get-FileHash $HOME\\Downloads\\moat-root.crt</pre></li>"
			      "<li>Edge and Chrome use this store.</li>"
			      "</ol></details>"
			      "<details><summary>Linux</summary><ol>"
			      "<li>Download the PEM file:<pre>curl -fO ");
	r |= trust_markup_escape(b, url);
	r |= moat_buf_puts(b, "moat-root.pem</pre></li>"
			      "<li>Compare the fingerprint:"
			      "<pre>openssl x509 -in moat-root.pem -noout -fingerprint -sha256</pre></li>"
			      "<li>Debian, Ubuntu:<pre>sudo cp moat-root.pem "
			      "/usr/local/share/ca-certificates/moat-root.crt\n"
			      "sudo update-ca-certificates</pre>"
			      "Fedora, RHEL:<pre>sudo cp moat-root.pem /etc/pki/ca-trust/source/anchors/\n"
			      "sudo update-ca-trust</pre>"
			      "Arch:<pre>sudo trust anchor --store moat-root.pem</pre></li>"
			      "<li>Chrome and Chromium on Linux read their own database (certutil is "
			      "in libnss3-tools or nss-tools):"
			      "<pre>certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n moat-root "
			      "-i moat-root.pem</pre></li>"
			      "</ol></details>"
			      "<details><summary>Firefox (any system)</summary><ol>"
			      "<li>Download <code>moat-root.pem</code> (or the <code>.crt</code>).</li>"
			      "<li>Settings &rarr; Privacy &amp; Security &rarr; Certificates &rarr; "
			      "<b>View Certificates</b> &rarr; Authorities &rarr; <b>Import</b>, pick "
			      "the file, tick <b>Trust this CA to identify websites</b>. Click "
			      "<b>View</b> there to compare the fingerprint.</li>"
			      "</ol></details></section>");
	return r;
}

static int build_page(struct trust_share *s, const char *name, const struct pki_cert_info *info,
		      struct moat_buf *b)
{
	char until[32] = "?", esc[sizeof(info->common_name)];
	const char *cn = info->common_name;
	int r = 0;

	moat_date(info->not_after, until, sizeof(until));
	/* pki escapes the common name; when it is the CA's name, show that
	 * (as the device will: "Zürich", not "Z\xc3\xbcrich"). */
	moat_escape(esc, sizeof(esc), name, strlen(name));
	if (strcmp(esc, cn) == 0)
		cn = name;
	r |= moat_buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			      "<meta name=\"referrer\" content=\"no-referrer\">"
			      "<meta name=\"color-scheme\" content=\"light dark\">"
			      "<link rel=\"icon\" href=\"data:,\"><title>Trust ");
	r |= trust_markup_escape(b, name);
	r |= moat_buf_printf(b, "</title><style>%s</style></head>\n<body><main>"
			     "<p class=\"brand\">moat &middot; private certificate authority</p>"
			     "<h1>Trust &ldquo;", css);
	r |= trust_markup_escape(b, name);
	r |= moat_buf_puts(b, "&rdquo; on this device</h1>"
			      "<p>Install this root certificate so that this phone or computer "
			      "accepts the HTTPS certificates the CA <b>");
	r |= trust_markup_escape(b, name);
	r |= moat_buf_puts(b, "</b> issues, for instance for your development server. Download, "
			      "compare the fingerprint, install: about a minute.</p>"
			      "<div class=\"wrap\"><div>"
			      "<section class=\"card\" id=\"download\"><h2>1. Download</h2>"
			      "<a class=\"dl\" href=\"/moat-root.mobileconfig\">iPhone, iPad, Mac"
			      "<small>configuration profile &middot; moat-root.mobileconfig</small></a>"
			      "<a class=\"dl\" href=\"/moat-root.crt\">Android, Windows"
			      "<small>certificate &middot; moat-root.crt</small></a>"
			      "<a class=\"dl\" href=\"/moat-root.pem\" download>Linux, Firefox, tools"
			      "<small>PEM &middot; moat-root.pem</small></a></section>"
			      "<section class=\"card\" id=\"fingerprint\"><h2>2. Compare the "
			      "fingerprint</h2><p>Trust the certificate only if your device shows "
			      "this SHA-256 fingerprint:</p>");
	r |= put_fp_groups(b, info->sha256);
	r |= moat_buf_puts(b, "<p class=\"fpc mono\">");
	r |= trust_markup_escape(b, info->sha256);
	r |= moat_buf_puts(b, "</p><p class=\"note\">Certificate <b>");
	r |= trust_markup_escape(b, cn);
	r |= moat_buf_printf(b, "</b> &middot; %s key &middot; valid until %s.</p>",
			     info->key_desc, until);
	if (info->name_constraints[0] != '\0') {
		r |= moat_buf_puts(b, "<p class=\"note\">This CA is limited to these names "
				      "(name constraints): <span class=\"mono\">");
		r |= trust_markup_escape(b, info->name_constraints);
		r |= moat_buf_puts(b, "</span>.</p>");
	} else {
		r |= moat_buf_puts(b, "<p class=\"note warn\">This CA has no name constraints: a "
				      "device that trusts it accepts any site certificate it "
				      "issues.</p>");
	}
	r |= moat_buf_puts(b, "</section>");
	r |= put_steps(b, s->url, cn);
	r |= moat_buf_puts(b, "</div><aside class=\"card side\" id=\"qr\"><h2>Open on another "
			      "device</h2><p class=\"note\">Point a phone's camera at the code.</p>"
			      "<div class=\"qr\" role=\"img\" aria-label=\"QR code of ");
	r |= trust_markup_escape(b, s->url);
	r |= moat_buf_puts(b, "\">");
	if (r == 0 && trust_qr_svg(s->qr, QR_PX, b, NULL) != 0)
		r = -1;
	r |= moat_buf_puts(b, "</div><p class=\"url mono\">");
	r |= trust_markup_escape(b, s->url);
	r |= moat_buf_puts(b, "</p></aside></div>"
			      "<footer class=\"note\"><p>This page only serves the public root "
			      "certificate, never a private key. Anyone on this network can fetch "
			      "it, and anyone on it could also fake this page: that is why you compare "
			      "the fingerprint with the one <code>moat trust share</code> prints on "
			      "the computer that runs it. Trust only a CA you run yourself.</p>"
			      "<p>The page disappears when <code>moat trust share</code> stops.</p>"
			      "</footer></main></body></html>\n");
	return r;
}

/* ---- the server ------------------------------------------------------------------ */

struct trust_share *trust_share_new(const struct trust_share_opts *o, struct moat_err *err)
{
	struct trust_share *s = NULL, *ret = NULL;
	struct pki_cert_info info;
	const char *name;
	char probe[sizeof(s->url)];
	static const enum trust_format fmt[F_COUNT] = {
		[F_MOBILECONFIG] = TRUST_MOBILECONFIG, [F_DER] = TRUST_DER, [F_PEM] = TRUST_PEM};

	memset(&info, 0, sizeof(info));
	if (o == NULL || o->root == NULL) {
		moat_err_set(err, "no root certificate to share");
		goto out;
	}
	/* Check the host before taking the port. */
	if (trust_share_make_url(o->host, o->port == 0 ? 1 : o->port, probe, sizeof(probe),
				 err) != 0 ||
	    pki_cert_info(o->root, &info, err) != 0)
		goto out;
	name = o->ca_name != NULL && o->ca_name[0] != '\0' ? o->ca_name : info.common_name;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	s->log = o->log;
	s->log_arg = o->log_arg;
	snprintf(s->fp, sizeof(s->fp), "%s", info.sha256);
	if ((s->srv = net_server_new(err)) == NULL)
		goto out;
	net_server_set_listen_option(s->srv, "--listen ADDR:PORT");
	if (net_server_listen_http(s->srv, o->listen_addr, o->port, trust_share_handle, s,
				   err) != 0)
		goto out;
	if (trust_share_make_url(o->host, net_server_port(s->srv), s->url, sizeof(s->url),
				 err) != 0 ||
	    (s->qr = trust_qr_new(s->url, err)) == NULL)
		goto out;
	for (int i = F_MOBILECONFIG; i <= F_PEM; i++)
		if (trust_export(o->root, name, fmt[i], &s->body[i], err) != 0)
			goto out;
	if (trust_qr_svg(s->qr, QR_PX, &s->body[F_QR], err) != 0)
		goto out;
	if (build_page(s, name, &info, &s->body[F_PAGE]) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	ret = s;
	s = NULL;
out:
	pki_cert_info_clear(&info);
	trust_share_free(s);
	return ret;
}

int trust_share_start(struct trust_share *s, struct moat_err *err)
{
	return net_server_start(s->srv, err);
}

void trust_share_stop(struct trust_share *s)
{
	if (s != NULL)
		net_server_stop(s->srv);
}

void trust_share_free(struct trust_share *s)
{
	if (s == NULL)
		return;
	net_server_free(s->srv);
	for (int i = 0; i < F_COUNT; i++)
		moat_buf_free(&s->body[i]);
	trust_qr_free(s->qr);
	free(s);
}

const char *trust_share_url(const struct trust_share *s)
{
	return s->url;
}

uint16_t trust_share_port(const struct trust_share *s)
{
	return net_server_port(s->srv);
}

const char *trust_share_fingerprint(const struct trust_share *s)
{
	return s->fp;
}

int trust_share_qr_text(const struct trust_share *s, bool ansi, struct moat_buf *out,
			struct moat_err *err)
{
	return trust_qr_text(s->qr, ansi, out, err);
}

/* The path of a request-target: origin form ("/x?y") or absolute form
 * ("http://host/x?y"), without query or fragment.  false if it is too long
 * for buf or not a path at all. */
static bool target_path(const char *target, char *buf, size_t n)
{
	size_t len;

	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		target = strstr(target, "://") + 3;
		target += strcspn(target, "/?#");
		if (*target != '/') {
			snprintf(buf, n, "/");
			return true;
		}
	}
	if (target[0] != '/')
		return false;
	len = strcspn(target, "?#");
	if (len >= n)
		return false;
	memcpy(buf, target, len);
	buf[len] = '\0';
	return true;
}

void trust_share_handle(void *arg, const struct net_http_request *req,
			struct net_http_reply *reply)
{
	struct trust_share *s = arg;
	struct trust_share_event ev = {.peer = req->peer, .method = req->method,
				       .target = req->target};
	char path[256];
	int f = -1;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		static const char msg[] = "405 Method Not Allowed: only GET and HEAD\n";

		reply->status = 405;
		reply->body = msg;
		reply->len = sizeof(msg) - 1;
		goto out;
	}
	if (target_path(req->target, path, sizeof(path))) {
		if (strcmp(path, "/index.html") == 0)
			f = F_PAGE;
		for (int i = 0; i < F_COUNT && f < 0; i++)
			if (strcmp(path, files[i].path) == 0)
				f = i;
	}
	if (f < 0) {
		static const char msg[] = "404 Not Found: the page is at /\n";

		reply->status = 404;
		reply->body = msg;
		reply->len = sizeof(msg) - 1;
		goto out;
	}
	reply->status = 200;
	reply->content_type = files[f].content_type;
	reply->body = s->body[f].data;
	reply->len = s->body[f].len;
	ev.file = &files[f];
out:
	ev.status = reply->status;
	if (s->log != NULL)
		s->log(s->log_arg, &ev);
}
