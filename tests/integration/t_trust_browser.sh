#!/usr/bin/env bash
# t_trust_browser: a real browser proves `moat trust install --store nss`.
#
# Headless Chromium, with HOME pointing at a temp dir (so it uses that dir's
# .pki/nssdb) and a fresh profile for every load, fetches a page from an
# HTTPS server (openssl s_server -WWW) that presents a moat leaf and its
# intermediate.  Before the install it must refuse with a certificate error
# (ERR_CERT_AUTHORITY_INVALID) and show nothing of the page; after
# `moat trust install --store nss` it must render the page, whose text is
# compared exactly (it includes a random token and text written by the page's
# own script); after `moat trust uninstall --store nss` it must refuse again.
#
# Needs chromium (Debian `chromium`) and certutil (`libnss3-tools`); without
# them the test is skipped (exit 77).  CHROMIUM may name the browser binary.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ]; then
	echo "# SKIP chromium not installed"
	exit 77
fi
if ! command -v certutil >/dev/null 2>&1; then
	echo "# SKIP certutil not installed (libnss3-tools)"
	exit 77
fi
note "browser: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"

CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --no-first-run
	--disable-background-networking --disable-component-update --disable-sync)

# ------------------------------------------------------------------ helpers

# The browser runs in its own session (setsid), so its process group can be
# killed as a whole, here after every load and on exit or interruption.
BROWSER_PID=''
# shellcheck disable=SC2317 # called from the EXIT trap
_browser_cleanup() {
	if [ -n "$BROWSER_PID" ]; then
		kill -- -"$BROWSER_PID" 2>/dev/null
		wait "$BROWSER_PID" 2>/dev/null
		BROWSER_PID=''
	fi
}
trap '_browser_cleanup; _cleanup' EXIT

# browse TAG BROWSER_HOME URL [FLAGS...]: load URL in headless Chromium with
# HOME=BROWSER_HOME and a fresh --user-data-dir, --dump-dom.  Sets DOM (the
# serialized DOM, stdout), BERR (stderr) and BRC (exit status; Chromium
# exits 0 even when the page failed to load).
DOM=''
BERR=''
BRC=0
browse() {
	local tag=$1 home=$2 url=$3 ud
	shift 3
	ud=$T/profile-$tag
	rm -rf "$ud"
	mkdir -p "$ud"
	HOME=$home setsid timeout -k 5 60 "$CHROMIUM" "${CHROME_FLAGS[@]}" \
		--user-data-dir="$ud" "$@" --dump-dom "$url" \
		</dev/null >"$T/$tag.dom" 2>"$T/$tag.err" &
	BROWSER_PID=$!
	wait "$BROWSER_PID"
	BRC=$?
	# Anything of it still running (it normally exits with all its children).
	kill -- -"$BROWSER_PID" 2>/dev/null
	BROWSER_PID=''
	DOM=$(cat "$T/$tag.dom")
	BERR=$(grep -v 'dbus' "$T/$tag.err")
}

# show_browser: the browser's stderr (without D-Bus noise), after a failure.
show_browser() {
	printf '%s\n' "$BERR" | tail -n 15 | sed -e 's/^/#   chromium: /'
}

# page_text FILE: the title and the visible body text (no <script>) of a
# dumped DOM, whitespace-normalised, as "title: ..." and "body: ...".
page_text() {
	python3 - "$1" <<'EOF'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.where = []
        self.title = []
        self.body = []
    def handle_starttag(self, tag, attrs):
        if tag in ("title", "body", "script", "style"):
            self.where.append(tag)
    def handle_endtag(self, tag):
        if self.where and self.where[-1] == tag:
            self.where.pop()
    def handle_data(self, data):
        if not self.where:
            return
        if self.where[-1] == "title":
            self.title.append(data)
        elif self.where[-1] == "body":
            self.body.append(data)
p = P()
p.feed(open(sys.argv[1], encoding="utf-8", errors="replace").read())
print("title: " + " ".join("".join(p.title).split()))
print("body: " + " ".join(" ".join(p.body).split()))
EOF
}

# expect_page TAG HOST DESC: the last load rendered our page, as served.
expect_page() {
	local tag=$1 host=$2 desc=$3 want got
	want="title: moat trust check $TOKEN
body: moat-browser-check $TOKEN rendered by the browser: https://$host:$PORT secure=true"
	got=$(page_text "$T/$tag.dom")
	assert_contains "$DOM" "$TOKEN" "$desc: the page's token is in the DOM"
	if [ "$got" = "$want" ]; then
		pass "$desc: the page's text is exactly what was served (and its script ran)"
	else
		fail "$desc: the page's text differs"
		printf '%s\n' "$got" | sed -e 's/^/#   got:  /'
		printf '%s\n' "$want" | sed -e 's/^/#   want: /'
		show_browser
	fi
	assert_not_contains "$BERR" "Page load failed" "$desc: Chromium reports no load failure"
}

# expect_cert_error TAG ERROR DESC: the last load was refused with the
# certificate error ERROR (e.g. ERR_CERT_AUTHORITY_INVALID) and shows
# nothing of the page.  An empty DOM alone proves nothing: the error itself
# must be reported (headless Chromium prints "Page load failed:
# net::ERR_..." on stderr and dumps an empty DOM; an interstitial page in
# the DOM naming the error would do as well).
expect_cert_error() {
	local tag=$1 error=$2 desc=$3
	assert_not_contains "$DOM" "$TOKEN" "$desc: the page's token is not in the DOM"
	assert_not_contains "$DOM" "moat-browser-check" "$desc: nothing of the page is in the DOM"
	if grep -qF -- "$error" <<<"$DOM$BERR"; then
		pass "$desc: Chromium reports $error"
	else
		fail "$desc: Chromium does not report $error"
		show_browser
	fi
}

# start_www DIR LOG ARGS...: `openssl s_server -WWW` serving the files in DIR
# on 127.0.0.1 and a free port; sets PORT (lib.sh stops it on exit).
PORT=''
start_www() {
	local dir=$1 log=$2 attempt port pid
	shift 2
	for attempt in 1 2 3; do
		port=$(free_port 127.0.0.1) || return 1
		(cd "$dir" && exec openssl s_server -accept "127.0.0.1:$port" -WWW -naccept 1000 "$@") \
			</dev/null >"$log" 2>&1 &
		pid=$!
		SERVER_PIDS+=("$pid")
		if wait_port "$pid" 127.0.0.1 "$port" 15; then
			PORT=$port
			return 0
		fi
		stop_server "$pid"
		note "s_server attempt $attempt on 127.0.0.1:$port failed:"
		sed -e 's/^/#   s_server: /' "$log" | tail -n 5
	done
	return 1
}

# nss_has DB NICK: certutil lists NICK in the NSS database DB.
nss_has() { certutil -L -d "sql:$1" -n "$2" >/dev/null 2>&1; }

# -------------------------------------------------------------- the set-up

CA_NAME="moat browser test CA"
need_ca --name "$CA_NAME"
ROOT=$MOAT_HOME/ca/root.pem
root_fp=$(cert_fp "$ROOT")

assert_ok "issue localhost 127.0.0.1" "$MOAT" issue localhost 127.0.0.1
LEAF=$MOAT_HOME/live/localhost
assert_file "$LEAF/cert.pem" "the lineage is live/localhost"
assert_ok "the leaf verifies against the root with the chain" \
	verify_server "$LEAF/cert.pem" "$LEAF/chain.pem"

TOKEN=moat-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/www"
cat >"$T/www/page.html" <<EOF
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>moat trust check $TOKEN</title></head>
<body><p id="token">moat-browser-check $TOKEN</p>
<p id="js">the page's script did not run</p>
<script>document.getElementById("js").textContent = "rendered by the browser: " +
  location.protocol + "//" + location.host + " secure=" + window.isSecureContext;</script>
</body></html>
EOF

if start_www "$T/www" "$T/s_server.log" \
	-cert "$LEAF/cert.pem" -cert_chain "$LEAF/chain.pem" -key "$LEAF/privkey.pem"; then
	pass "s_server -WWW up on 127.0.0.1:$PORT with the moat leaf and chain"
else
	fail "s_server -WWW did not start (cannot continue)"
	finish
fi
URL=https://localhost:$PORT/page.html
URL_IP=https://127.0.0.1:$PORT/page.html
# The server itself is fine: curl trusting only the root gets the page.
run curl -sS --fail --max-time 20 --noproxy '*' --cacert "$ROOT" "$URL"
assert_rc 0 "curl with only root.pem fetches $URL"
assert_contains "$OUT" "moat-browser-check $TOKEN" "and gets the page with the token"

# ------------------------------------------------------ 1. not installed

H1=$T/home-without
mkdir -p "$H1"
browse before "$H1" "$URL"
assert_eq "$BRC" 0 "chromium ran (without the root)"
expect_cert_error before ERR_CERT_AUTHORITY_INVALID "without the root, https://localhost"
browse before-ip "$H1" "$URL_IP"
expect_cert_error before-ip ERR_CERT_AUTHORITY_INVALID "without the root, https://127.0.0.1"

# ------------------------------------------------------------ 2. install

H2=$T/home-with
mkdir -p "$H2"
DB=$H2/.pki/nssdb
run env HOME="$H2" "$MOAT" trust install --store nss
assert_rc 0 "HOME=\$H2 moat trust install --store nss"
[ "$RC" -ne 0 ] || show_last # its report, for the log
assert_file "$DB/cert9.db" "install created the Chromium NSS database \$HOME/.pki/nssdb"
if nss_has "$DB" "$CA_NAME"; then
	pass "certutil -L lists \"$CA_NAME\" in \$HOME/.pki/nssdb"
	certutil -L -d "sql:$DB" -n "$CA_NAME" -a >"$T/nss-root.pem" 2>/dev/null
	assert_eq "$(cert_fp "$T/nss-root.pem")" "$root_fp" "the NSS entry is the root (fingerprint)"
	run certutil -L -d "sql:$DB"
	assert_match "$OUT" "^$CA_NAME +C,, *\$" "its trust flags are C,,"
else
	fail "certutil -L does not list \"$CA_NAME\" in \$HOME/.pki/nssdb"
	certutil -L -d "sql:$DB" 2>&1 | sed -e 's/^/#   certutil: /'
fi
run env HOME="$H2" "$MOAT" trust status --store nss
assert_rc 0 "moat trust status --store nss: installed (exit 0)"

browse after "$H2" "$URL"
assert_eq "$BRC" 0 "chromium ran (with the root)"
expect_page after localhost "with the root, https://localhost"
browse after-ip "$H2" "$URL_IP"
expect_page after-ip 127.0.0.1 "with the root, https://127.0.0.1 (IP SAN)"
# Trusted root, but a name the certificate does not cover: still refused, so
# the pages above were really validated.
browse wrong-name "$H2" "https://wrong.moat.test:$PORT/page.html" \
	--host-resolver-rules="MAP wrong.moat.test 127.0.0.1"
expect_cert_error wrong-name ERR_CERT_COMMON_NAME_INVALID \
	"with the root, a name not in the certificate"

# ---------------------------------------------------------- 3. uninstall

run env HOME="$H2" "$MOAT" trust uninstall --store nss
assert_rc 0 "HOME=\$H2 moat trust uninstall --store nss"
[ "$RC" -ne 0 ] || show_last
if nss_has "$DB" "$CA_NAME"; then
	fail "certutil -L still lists \"$CA_NAME\" after uninstall"
else
	pass "certutil -L no longer lists \"$CA_NAME\""
fi
run env HOME="$H2" "$MOAT" trust status --store nss
assert_rc 1 "moat trust status --store nss: not installed (exit 1)"

browse uninstalled "$H2" "$URL"
expect_cert_error uninstalled ERR_CERT_AUTHORITY_INVALID "after uninstall, https://localhost"
browse uninstalled-ip "$H2" "$URL_IP"
expect_cert_error uninstalled-ip ERR_CERT_AUTHORITY_INVALID "after uninstall, https://127.0.0.1"

# ------------------------------------------------------------- 4. tidy

run pgrep -f -- "--user-data-dir=$T/profile-"
assert_eq "$OUT" "" "no Chromium process is left behind"

finish
