# shellcheck shell=bash
# shellcheck disable=SC2034 # the CHECK_* variables are read by the test scripts
# lib_check.sh: a set of misconfigured HTTPS endpoints on loopback, for the
# `moat check` tests and benchmarks.  Everything here is made by software we
# did not write: the PKI by the `openssl` CLI (`openssl ca`), the TLS and HTTP
# endpoints by nginx (Debian's package), the OCSP answers by `openssl ocsp`,
# the AIA / CRL files by Python's http.server.
#
# Source it after lib.sh (it uses T, SERVER_PIDS and note):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_check.sh"
#   check_have_tools || skip_test "$CHECK_MISSING is not installed"
#   check_setup || { fail "check fixture"; finish; }
#   curl --cacert "$CHECK_ROOT" \
#       --resolve "${CHECK_NAME[good]}:${CHECK_PORT[good]}:127.0.0.1" \
#       "https://${CHECK_NAME[good]}:${CHECK_PORT[good]}/"
#
# Functions (each returns non-zero after a `# ...` note saying what failed):
#   check_setup        all of the below, in the order that needs no port
#                      guessing: http, ocsp, pki, nginx
#   check_start_http   Python http.server (a tiny script) on 127.0.0.1 serving
#                      $CHECK_PUB: root.der, int.der, intb.der, intb2.der (the
#                      caIssuers targets, DER, application/pkix-cert), int.crl,
#                      root.crl, intb2.crl, intb.crl (DER, application/pkix-crl)
#                      and .pem copies.  Every request is logged to
#                      $CHECK_HTTP_LOG ("GET /int.der 200"), so a test can
#                      tell whether a client fetched the intermediate.
#   check_start_ocsp   an OCSP responder on 127.0.0.1: every request (POST, or
#                      GET with the base64 request in the path, as nginx
#                      sends it) is answered by
#                      `openssl ocsp -index int/index.txt -CA int.pem
#                       -rsigner ocsp.pem -rkey ocsp.key -ndays 1 -reqin -respout`.
#                      (`openssl ocsp -port` itself cannot be used: OpenSSL
#                      3.0 takes only a port number there and binds every
#                      address, *:PORT, not loopback.)  The index is read on
#                      each request, so revocations count at once.
#   check_pki          the PKI in $CHECK_PKI (see below).  Needs the two ports
#                      for the URLs in the certificates: uses CHECK_HTTP_PORT /
#                      CHECK_OCSP_PORT if set (servers started first, as
#                      check_setup does), else picks free ones for the
#                      start functions to bind afterwards.
#   check_start_nginx  ONE nginx (master + 1 worker, prefix $T/nginx), one
#                      port per scenario on 127.0.0.1, so that clients with or
#                      without SNI get the same certificate; waits until every
#                      port answers and until good's OCSP staple is cached.
#   check_serve SCENARIO FILE [KEY]   from now on the endpoint sends FILE
#                      (e.g. what `moat check --fix-chain` wrote): nginx
#                      reloads on the same port; returns once it is so.
#                      check_serve s "${CHECK_SENT_ORIG[s]}" puts it back.
#   check_sent_chain SCENARIO OUT   the certificates the endpoint sends, in
#                      order, into OUT (openssl s_client -showcerts)
#   check_ocsp_status SCENARIO   prints good / revoked / unknown as the
#                      responder says (openssl ocsp client)
#   check_list         one `# scenario port name: description` line each
#   check_have_tools / skip_test REASON   (exit 77 for run.sh)
#
# Scenarios (CHECK_SCENARIOS; CHECK_TLS_SCENARIOS are the HTTPS ones):
#   good         leaf + int; SAN good.test, localhost, 127.0.0.1; OCSP stapling
#                (ssl_stapling_verify); OCSP + CRL + caIssuers URLs; HSTS
#   leafonly     leaf alone (the intermediate is missing; caIssuers has it)
#   wrongorder   leaf + intB + intB2: a second branch root -> intB (pathlen 1)
#                -> intB2 (pathlen 0) -> leaf, sent with the two
#                intermediates swapped.  (OpenSSL servers always send the
#                key's certificate first, so only the chain certificates can
#                be misordered; the extra level avoids sending the root.)
#   unrelated    leaf + int + an intermediate of another PKI
#   withroot     leaf + int + root (harmless)
#   expired      leaf valid from -90 d to -1 d, + int
#   expiring     leaf valid from -85 d to +CHECK_EXPIRING_DAYS (5) d, + int
#   wronghost    a certificate for other.test, asked for as wrong.test
#   selfsigned   a self-signed end-entity certificate for selfsigned.test
#   revokedocsp  revoked (keyCompromise) in the CA database; carries only
#                an OCSP URL (no CRL DP): the responder says "revoked"
#   revokedcrl   revoked in the CA database; carries only a CRL DP (no OCSP
#                URL): int.crl lists it
#   cnonly       subject CN=cnonly.test, no subjectAltName at all
#   weak         RSA 1024 key (signed with SHA-256)
#   sha1         ECDSA P-256 key, signed by int with ecdsa-with-SHA1
#   tls10        TLS 1.0 .. 1.3 accepted (ciphers DEFAULT:@SECLEVEL=0)
#   nohsts       like good but without the HSTS header (and no stapling)
#   plain        plain HTTP (no TLS) on its own port
#   redirect     plain HTTP answering 308 -> https://$host:${CHECK_PORT[good]}$uri
#
# Every HTTPS scenario except nohsts sends Strict-Transport-Security:
# max-age=31536000, and only good staples, so that each scenario differs from
# good in one thing only.  Every answer is a text body "moat-fixture NAME".
# Every leaf carries a caIssuers URL to its issuer (DER) and, unless said
# otherwise above, an OCSP URL (int's leaves only) and a CRL DP.  Every leaf
# but selfsigned verifies with `openssl verify -x509_strict -CAfile root
# -untrusted CHAIN`: expired only with -no_check_time, revoked* only without
# -crl_check, weak and sha1 because `openssl verify` has no security level
# unless asked (-auth_level 2, Debian 12's TLS default, refuses RSA 1024;
# -auth_level 1 already refuses a SHA-1 signature, which counts 63 bits).
#
# What OpenSSL 3.0 / nginx 1.22 refuse, and how this copes:
# - nginx will not load an RSA 1024 or SHA-1 certificate ("ee key too
#   small", "ca md too weak") unless that server's ssl_ciphers ends in
#   @SECLEVEL=0 (nginx sets the ciphers before it loads the certificate).
# - TLS 1.0 / 1.1 need @SECLEVEL=0 on both ends (server: "internal error"
#   alert; client: "legacy sigalg disallowed"): clients pass -cipher /
#   --ciphers "$CHECK_SECLEVEL0".
# - An intermediate before the leaf cannot be served by nginx or s_server
#   (both take the first certificate as the key's: "key values mismatch"),
#   hence wrongorder's extra level.
# - `openssl ocsp -port` binds *:PORT (see check_start_ocsp).
#
# Variables (global; associative arrays keyed by scenario; those from
# CHECK_LEAF on exist for the HTTPS scenarios only):
#   CHECK_PORT[s] CHECK_NAME[s] (host name for SNI / --resolve / Host)
#   CHECK_DESC[s] (one line)
#   CHECK_LEAF[s] CHECK_KEY[s]          leaf certificate / its key (PEM)
#   CHECK_ISSUER[s]                     the leaf's issuer certificate (PEM)
#   CHECK_CHAIN[s]                      the intermediates a correct server sends
#   CHECK_FULLCHAIN[s]                  leaf + CHECK_CHAIN (what --fix-chain should
#                                       produce; the leaf alone for selfsigned)
#   CHECK_SENT[s]                       the file nginx serves (certificates in
#                                       the order they are sent)
#   CHECK_SENT_ORIG[s]                  the same, as set up (for check_serve)
#   CHECK_ROOT CHECK_INT                root / intermediate PEM
#   CHECK_ROOT_DER CHECK_INT_DER        their DER copies (served)
#   CHECK_INTB CHECK_INTB2              wrongorder's intermediates (PEM)
#   CHECK_UNRELATED                     the unrelated PKI's intermediate (PEM)
#   CHECK_CRL CHECK_CRL_DER             int's CRL (PEM / DER); CHECK_ROOT_CRL
#   CHECK_OCSP_CERT                     the OCSP responder's certificate
#   CHECK_HTTP_PORT CHECK_HTTP_URL CHECK_HTTP_LOG CHECK_PUB
#   CHECK_AIA_URL (int.der) CHECK_CRL_URL (int.crl)
#   CHECK_OCSP_PORT CHECK_OCSP_URL CHECK_OCSP_LOG
#   CHECK_NGINX_PID CHECK_NGINX_LOG CHECK_HTTP_PID CHECK_OCSP_PID
#   CHECK_EXPIRING_DAYS (5)
#   CHECK_TLS10 (yes / no: whether this OpenSSL + nginx serve TLS 1.0)
#   CHECK_SECLEVEL0 (the cipher string clients need for weak, sha1 and tls10)

CHECK_PKI=$T/pki
CHECK_PUB=$CHECK_PKI/pub
CHECK_SRV_DIR=$T/check-srv
CHECK_NGINX_DIR=$T/nginx
CHECK_START_TIMEOUT=${CHECK_START_TIMEOUT:-15}
CHECK_EXPIRING_DAYS=5
CHECK_SECLEVEL0='DEFAULT:@SECLEVEL=0'
CHECK_MISSING=''
# The Python interpreter itself, resolved once: a version manager's shim
# (pyenv) costs most of a second per start.
CHECK_PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$CHECK_PY" ] || [ ! -x "$CHECK_PY" ]; then
	CHECK_PY=python3
fi

CHECK_TLS_SCENARIOS=(good leafonly wrongorder unrelated withroot expired expiring
	wronghost selfsigned revokedocsp revokedcrl cnonly weak sha1 tls10 nohsts)
CHECK_SCENARIOS=("${CHECK_TLS_SCENARIOS[@]}" plain redirect)

declare -gA CHECK_PORT=() CHECK_NAME=() CHECK_DESC=() CHECK_LEAF=() CHECK_KEY=()
declare -gA CHECK_ISSUER=() CHECK_CHAIN=() CHECK_FULLCHAIN=() CHECK_SENT=()
declare -gA CHECK_SENT_ORIG=()

CHECK_ROOT=$CHECK_PKI/root/ca.pem
CHECK_INT=$CHECK_PKI/int/ca.pem
CHECK_INTB=$CHECK_PKI/intb/ca.pem
CHECK_INTB2=$CHECK_PKI/intb2/ca.pem
CHECK_UNRELATED=$CHECK_PKI/otherint/ca.pem
CHECK_ROOT_DER=$CHECK_PUB/root.der
CHECK_INT_DER=$CHECK_PUB/int.der
CHECK_CRL=$CHECK_PUB/int.crl.pem
CHECK_CRL_DER=$CHECK_PUB/int.crl
CHECK_ROOT_CRL=$CHECK_PUB/root.crl.pem
CHECK_OCSP_CERT=$CHECK_PKI/ocsp/ocsp.pem
CHECK_HTTP_PORT=${CHECK_HTTP_PORT:-}
CHECK_OCSP_PORT=${CHECK_OCSP_PORT:-}
CHECK_HTTP_URL=''
CHECK_AIA_URL=''
CHECK_CRL_URL=''
CHECK_OCSP_URL=''
CHECK_HTTP_LOG=$CHECK_SRV_DIR/http.log
CHECK_OCSP_LOG=$CHECK_SRV_DIR/ocsp.log
CHECK_NGINX_LOG=$CHECK_NGINX_DIR/error.log
CHECK_HTTP_PID=''
CHECK_OCSP_PID=''
CHECK_NGINX_PID=''
CHECK_TLS10=no

CHECK_NAME=([good]=good.test [leafonly]=leafonly.test [wrongorder]=wrongorder.test
	[unrelated]=unrelated.test [withroot]=withroot.test [expired]=expired.test
	[expiring]=expiring.test [wronghost]=wrong.test [selfsigned]=selfsigned.test
	[revokedocsp]=revoked-ocsp.test [revokedcrl]=revoked-crl.test
	[cnonly]=cnonly.test [weak]=weak.test [sha1]=sha1.test [tls10]=tls10.test
	[nohsts]=nohsts.test [plain]=plain.test [redirect]=good.test)

CHECK_DESC=([good]='complete chain, stapled OCSP, HSTS: nothing wrong'
	[leafonly]='leaf only: the intermediate is missing'
	[wrongorder]='chain certificates in the wrong order'
	[unrelated]='an unrelated certificate in the chain'
	[withroot]='the root is sent too (harmless)'
	[expired]='the leaf has expired'
	[expiring]="the leaf expires within $CHECK_EXPIRING_DAYS days"
	[wronghost]='the certificate is for another name (other.test)'
	[selfsigned]='self-signed leaf'
	[revokedocsp]='revoked, as the OCSP responder says'
	[revokedcrl]='revoked, as the CRL says'
	[cnonly]='CN only, no subjectAltName'
	[weak]='RSA 1024 key'
	[sha1]='SHA-1 signature'
	[tls10]='TLS 1.0 and 1.1 accepted'
	[nohsts]='no HSTS header'
	[plain]='plain HTTP where HTTPS is expected'
	[redirect]='HTTP port that redirects (308) to the good HTTPS endpoint')

# ------------------------------------------------------------------ basics

# check_have_tools: nginx, python3, openssl and curl are there (else the
# first missing one is in CHECK_MISSING).
check_have_tools() {
	local t
	for t in nginx python3 openssl curl; do
		if ! command -v "$t" >/dev/null 2>&1; then
			CHECK_MISSING=$t
			return 1
		fi
	done
	return 0
}

# _check_ports_open PORT...: every port accepts TCP connections on 127.0.0.1
# (bash's /dev/tcp: no process per probe).
_check_ports_open() {
	local p
	for p in "$@"; do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || return 1
	done
}

# _check_free_ports N: N distinct free TCP ports on 127.0.0.1, one a line
# (all bound at once, then released).
_check_free_ports() {
	"$CHECK_PY" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
PY
}

# _check_log FILE WHAT: show the tail of a log after a failure.
_check_log() {
	if [ -s "$1" ]; then
		tail -n 8 "$1" | sed -e "s/^/#   $2: /"
	fi
}

# _check_stop PID: stop one server we started (and forget it).
_check_stop() {
	stop_server "$1"
}

# -------------------------------------------------- the small Python servers

# The script behind check_start_http and check_start_ocsp.  It binds
# 127.0.0.1:PORT (0: any free port), writes the port it got to PORTFILE once
# it listens, and serves until killed.
_check_write_srv() {
	mkdir -p "$CHECK_SRV_DIR"
	cat >"$CHECK_SRV_DIR/srv.py" <<'EOF'
import base64, http.server, os, subprocess, sys, tempfile, urllib.parse

mode, port, portfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]

TYPES = {".der": "application/pkix-cert", ".cer": "application/pkix-cert",
         ".crl": "application/pkix-crl", ".pem": "application/x-pem-file",
         ".txt": "text/plain"}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "moat-fixture"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))
        sys.stderr.flush()

    def log_request(self, code="-", size="-"):
        self.log_message("%s %s %s", self.command, self.path, code)

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # ---- pub: static files, no listing
    def pub(self):
        root = sys.argv[4]
        name = urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
        path = os.path.join(root, name)
        if "/" in name or name in ("", ".", "..") or not os.path.isfile(path):
            return self.reply(404, b"not found\n", "text/plain")
        with open(path, "rb") as f:
            body = f.read()
        ext = os.path.splitext(name)[1]
        self.reply(200, body, TYPES.get(ext, "application/octet-stream"))

    # ---- ocsp: openssl ocsp answers each request
    def ocsp(self, req):
        work, index, ca, rsigner, rkey = sys.argv[4:9]
        fd, reqf = tempfile.mkstemp(dir=work, suffix=".req")
        with os.fdopen(fd, "wb") as f:
            f.write(req)
        respf = reqf[:-4] + ".resp"
        cmd = ["openssl", "ocsp", "-index", index, "-CA", ca, "-rsigner", rsigner,
               "-rkey", rkey, "-ndays", "1", "-reqin", reqf, "-respout", respf]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
        try:
            if r.returncode != 0 or not os.path.exists(respf):
                sys.stderr.write("openssl ocsp failed: %s\n" % r.stderr.decode(errors="replace"))
                return self.reply(400, b"bad OCSP request\n", "text/plain")
            with open(respf, "rb") as f:
                body = f.read()
            self.reply(200, body, "application/ocsp-response")
        finally:
            for p in (reqf, respf):
                try:
                    os.unlink(p)
                except OSError:
                    pass

    def do_GET(self):
        if mode == "pub":
            return self.pub()
        b64 = urllib.parse.unquote(self.path.lstrip("/"))
        try:
            req = base64.b64decode(b64, validate=True)
        except ValueError:
            return self.reply(400, b"bad OCSP request\n", "text/plain")
        self.ocsp(req)

    def do_HEAD(self):
        if mode == "pub":
            return self.pub()
        self.reply(405, b"", "text/plain")

    def do_POST(self):
        if mode == "pub":
            return self.reply(405, b"", "text/plain")
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0 or n > 65536:
            return self.reply(400, b"bad OCSP request\n", "text/plain")
        self.ocsp(self.rfile.read(n))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


srv = Server(("127.0.0.1", port), Handler)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, portfile)
srv.serve_forever()
EOF
}

# _check_start_py MODE WANT_PORT LOG ARGS...: start srv.py, wait until it
# listens; sets _CHECK_PID and _CHECK_PORT.  (Not to be called in $(...):
# the PID must reach SERVER_PIDS of this shell.)
_CHECK_PID=''
_CHECK_PORT=''
_check_start_py() {
	local mode=$1 want=$2 log=$3 pf pid port
	shift 3
	[ -f "$CHECK_SRV_DIR/srv.py" ] || _check_write_srv
	pf=$CHECK_SRV_DIR/$mode.port
	rm -f "$pf"
	"$CHECK_PY" -u "$CHECK_SRV_DIR/srv.py" "$mode" "${want:-0}" "$pf" "$@" \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	if ! poll_pid "$pid" "$CHECK_START_TIMEOUT" test -s "$pf"; then
		note "check: the $mode server did not start (port ${want:-any})"
		_check_log "$log" "$mode"
		_check_stop "$pid"
		return 1
	fi
	port=$(<"$pf")
	if ! poll_pid "$pid" "$CHECK_START_TIMEOUT" _check_ports_open "$port"; then
		note "check: the $mode server does not answer on 127.0.0.1:$port"
		_check_log "$log" "$mode"
		_check_stop "$pid"
		return 1
	fi
	_CHECK_PID=$pid
	_CHECK_PORT=$port
}

_check_urls() {
	CHECK_HTTP_URL=http://127.0.0.1:$CHECK_HTTP_PORT
	CHECK_AIA_URL=$CHECK_HTTP_URL/int.der
	CHECK_CRL_URL=$CHECK_HTTP_URL/int.crl
	CHECK_OCSP_URL=http://127.0.0.1:$CHECK_OCSP_PORT
}

# check_start_http: the AIA / CRL file server (see the top).
check_start_http() {
	mkdir -p "$CHECK_PUB" "$CHECK_SRV_DIR"
	_check_start_py pub "$CHECK_HTTP_PORT" "$CHECK_HTTP_LOG" "$CHECK_PUB" || return 1
	CHECK_HTTP_PID=$_CHECK_PID
	CHECK_HTTP_PORT=$_CHECK_PORT
	_check_urls
}

# check_start_ocsp: the OCSP responder (see the top).
check_start_ocsp() {
	mkdir -p "$CHECK_SRV_DIR/ocsp-work" "$CHECK_PKI/int" "$CHECK_PKI/ocsp"
	_check_start_py ocsp "$CHECK_OCSP_PORT" "$CHECK_OCSP_LOG" \
		"$CHECK_SRV_DIR/ocsp-work" "$CHECK_PKI/int/index.txt" "$CHECK_INT" \
		"$CHECK_OCSP_CERT" "$CHECK_PKI/ocsp/ocsp.key" || return 1
	CHECK_OCSP_PID=$_CHECK_PID
	CHECK_OCSP_PORT=$_CHECK_PORT
	_check_urls
}

# ------------------------------------------------------------------- PKI

# _check_date OFFSET_SECONDS: an ASN.1 GeneralizedTime for now + offset.
_check_date() {
	TZ=UTC0 printf '%(%Y%m%d%H%M%S)TZ\n' "$((EPOCHSECONDS + $1))"
}

# _check_ossl LOGNAME CMD...: run an openssl command quietly; on failure,
# note it with its output.
_check_ossl() {
	local what=$1 log=$CHECK_PKI/log/$1.log
	shift
	if ! "$@" </dev/null >"$log" 2>&1; then
		note "check: $what failed: $*"
		_check_log "$log" "$what"
		return 1
	fi
}

# _check_keycsr KEY TYPE SUBJ CSR: a new private key (TYPE: ec = P-256,
# rsa1024, rsa2048) and a CSR for it, in one `openssl req`.
_check_keycsr() {
	local kopt
	case $2 in
	ec) kopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa*) kopt=(-newkey "rsa:${2#rsa}") ;;
	esac
	local b=${4##*/}
	_check_ossl "req-${b%.csr}" openssl req -new -config "$CHECK_PKI/req.cnf" \
		"${kopt[@]}" -noenc -keyout "$1" -subj "$3" -out "$4"
}

# _check_ca_dir NAME: a CA directory for `openssl ca` (config ca.cnf).
_check_ca_dir() {
	local d=$CHECK_PKI/$1
	mkdir -p "$d/newcerts"
	: >"$d/index.txt"
	echo 1000 >"$d/crlnumber"
	cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = no
[ policy_any ]
commonName = supplied
organizationName = optional
EOF
}

# _check_ext FILE [KEY=VALUE lines on stdin]: an extension section "ext".
_check_ext() {
	local line c=$'[ ext ]\n'
	while IFS= read -r line; do
		c+=$line$'\n'
	done
	printf '%s' "$c" >"$1"
}

# _check_sign CA CSR OUT START END EXTFILE [MD]: `openssl ca` issues.
_check_sign() {
	local b=${3##*/} d=${3%/*}
	b=${d##*/}-${b%.pem}
	_check_ossl "sign-$b" openssl ca -batch -notext \
		-config "$CHECK_PKI/$1/ca.cnf" -in "$2" -out "$3" -rand_serial \
		-startdate "$4" -enddate "$5" -extfile "$6" -extensions ext -md "${7:-sha256}"
}

# _check_make_ca NAME SUBJ ISSUER(or -self) START END EXTLINES
_check_make_ca() {
	local name=$1 subj=$2 issuer=$3 start=$4 end=$5 d=$CHECK_PKI/$1
	_check_ca_dir "$name"
	_check_keycsr "$d/ca.key" ec "$subj" "$d/ca.csr" || return 1
	printf '%s\n' "$6" | _check_ext "$d/ext.cnf"
	if [ "$issuer" = -self ]; then
		_check_ossl "sign-$name" openssl ca -batch -notext -selfsign \
			-config "$d/ca.cnf" -keyfile "$d/ca.key" -in "$d/ca.csr" -out "$d/ca.pem" \
			-rand_serial -startdate "$start" -enddate "$end" \
			-extfile "$d/ext.cnf" -extensions ext -md sha256 || return 1
	else
		_check_sign "$issuer" "$d/ca.csr" "$d/ca.pem" "$start" "$end" "$d/ext.cnf" || return 1
	fi
}

# _check_der PEM DER
_check_der() {
	_check_ossl "der-${2##*/}" openssl x509 -in "$1" -outform DER -out "$2"
}

# _check_crl CA: a fresh CRL of CA, as PEM and DER in pub/.
_check_crl() {
	local d=$CHECK_PKI/$1
	_check_ossl "crl-$1" openssl ca -batch -config "$d/ca.cnf" -gencrl \
		-crldays 30 -md sha256 -out "$CHECK_PUB/$1.crl.pem" || return 1
	_check_ossl "crlder-$1" openssl crl -in "$CHECK_PUB/$1.crl.pem" -outform DER \
		-out "$CHECK_PUB/$1.crl"
}

# _check_leaf SCENARIO ISSUER KEYTYPE SUBJ SAN START END URLS [MD]
#   SAN: a subjectAltName value or '' (none); URLS: any of ocsp, crl, aia.
_check_leaf() {
	local s=$1 issuer=$2 ktype=$3 subj=$4 san=$5 start=$6 end=$7 urls=$8 md=${9:-sha256}
	local d=$CHECK_PKI/leaf/$s ku aia=''
	mkdir -p "$d"
	_check_keycsr "$d/key.pem" "$ktype" "$subj" "$d/leaf.csr" || return 1
	ku='critical, digitalSignature'
	case $ktype in rsa*) ku="$ku, keyEncipherment" ;; esac
	{
		echo 'basicConstraints = critical, CA:FALSE'
		echo "keyUsage = $ku"
		echo 'extendedKeyUsage = serverAuth'
		echo 'subjectKeyIdentifier = hash'
		echo 'authorityKeyIdentifier = keyid:always'
		if [ -n "$san" ]; then
			echo "subjectAltName = $san"
		fi
		case " $urls " in *' ocsp '*) aia="OCSP;URI:$CHECK_OCSP_URL" ;; esac
		case " $urls " in *' aia '*) aia="${aia:+$aia, }caIssuers;URI:$CHECK_HTTP_URL/$issuer.der" ;; esac
		if [ -n "$aia" ]; then
			echo "authorityInfoAccess = $aia"
		fi
		case " $urls " in *' crl '*) echo "crlDistributionPoints = URI:$CHECK_HTTP_URL/$issuer.crl" ;; esac
	} | _check_ext "$d/ext.cnf"
	_check_sign "$issuer" "$d/leaf.csr" "$d/leaf.pem" "$start" "$end" "$d/ext.cnf" "$md" || return 1
	CHECK_LEAF[$s]=$d/leaf.pem
	CHECK_KEY[$s]=$d/key.pem
	CHECK_ISSUER[$s]=$CHECK_PKI/$issuer/ca.pem
}

# _check_cat FILE...: cat, with builtins (text files that end in a newline).
_check_cat() {
	local f
	for f in "$@"; do
		printf '%s\n' "$(<"$f")"
	done
}

# _check_files SCENARIO CHAIN_FILES -- SENT_FILES: the chain, fullchain and
# sent files of a scenario (leaf is CHECK_LEAF[s]).
_check_files() {
	local s=$1 d=$CHECK_PKI/leaf/$1 f chain=() sent=()
	shift
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		chain+=("$1")
		shift
	done
	shift
	sent=("$@")
	_check_cat "${chain[@]}" >"$d/chain.pem"
	_check_cat "${CHECK_LEAF[$s]}" "${chain[@]}" >"$d/fullchain.pem"
	_check_cat "${sent[@]}" >"$d/sent.pem"
	CHECK_CHAIN[$s]=$d/chain.pem
	CHECK_FULLCHAIN[$s]=$d/fullchain.pem
	CHECK_SENT[$s]=$d/sent.pem
	CHECK_SENT_ORIG[$s]=$d/sent.pem
}

# check_pki: the whole PKI (see the top of this file).
check_pki() {
	local now_m1h now_m1y now_p100d s o h
	if [ -z "$CHECK_HTTP_PORT" ]; then
		CHECK_HTTP_PORT=$(_check_free_ports 1) || return 1
	fi
	if [ -z "$CHECK_OCSP_PORT" ]; then
		CHECK_OCSP_PORT=$(_check_free_ports 1) || return 1
	fi
	_check_urls
	mkdir -p "$CHECK_PKI/leaf" "$CHECK_PUB" "$CHECK_PKI/log"
	# (a config of our own: nothing from the system's openssl.cnf)
	printf '[ req ]\ndistinguished_name = dn\n[ dn ]\n' >"$CHECK_PKI/req.cnf"
	now_m1h=$(_check_date -3600)
	now_m1y=$(_check_date -$((365 * 86400)))
	now_p100d=$(_check_date $((100 * 86400)))
	h=$CHECK_HTTP_URL

	# ---- the CAs
	_check_make_ca root '/O=moat fixture/CN=moat fixture Root CA' -self \
		"$now_m1y" "$(_check_date $((20 * 365 * 86400)))" \
		'basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash' || return 1
	o="authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:$h/root.der
crlDistributionPoints = URI:$h/root.crl
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash"
	_check_make_ca int '/O=moat fixture/CN=moat fixture Intermediate CA' root \
		"$now_m1y" "$(_check_date $((10 * 365 * 86400)))" \
		"basicConstraints = critical, CA:TRUE, pathlen:0
$o" || return 1
	_check_make_ca intb '/O=moat fixture/CN=moat fixture Intermediate B' root \
		"$now_m1y" "$(_check_date $((10 * 365 * 86400)))" \
		"basicConstraints = critical, CA:TRUE, pathlen:1
$o" || return 1
	_check_make_ca intb2 '/O=moat fixture/CN=moat fixture Intermediate B2' intb \
		"$now_m1y" "$(_check_date $((10 * 365 * 86400)))" \
		"basicConstraints = critical, CA:TRUE, pathlen:0
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:$h/intb.der
crlDistributionPoints = URI:$h/intb.crl
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash" || return 1
	# Another PKI altogether (its intermediate is the "unrelated" certificate).
	_check_make_ca otherroot '/O=someone else/CN=Unrelated Root CA' -self \
		"$now_m1y" "$(_check_date $((20 * 365 * 86400)))" \
		'basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash' || return 1
	_check_make_ca otherint '/O=someone else/CN=Unrelated Intermediate CA' otherroot \
		"$now_m1y" "$(_check_date $((10 * 365 * 86400)))" \
		'basicConstraints = critical, CA:TRUE, pathlen:0
authorityKeyIdentifier = keyid:always
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash' || return 1

	# ---- the OCSP responder's certificate (delegated, issued by int)
	mkdir -p "$CHECK_PKI/ocsp"
	_check_keycsr "$CHECK_PKI/ocsp/ocsp.key" ec '/O=moat fixture/CN=moat fixture OCSP responder' \
		"$CHECK_PKI/ocsp/ocsp.csr" || return 1
	_check_ext "$CHECK_PKI/ocsp/ext.cnf" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
	_check_sign int "$CHECK_PKI/ocsp/ocsp.csr" "$CHECK_OCSP_CERT" "$now_m1h" "$now_p100d" \
		"$CHECK_PKI/ocsp/ext.cnf" || return 1

	# ---- the leaves
	_check_leaf good int ec /CN=good.test 'DNS:good.test, DNS:localhost, IP:127.0.0.1' \
		"$now_m1h" "$now_p100d" 'ocsp crl aia' || return 1
	for s in leafonly unrelated withroot tls10 nohsts; do
		_check_leaf "$s" int ec "/CN=${CHECK_NAME[$s]}" "DNS:${CHECK_NAME[$s]}" \
			"$now_m1h" "$now_p100d" 'ocsp crl aia' || return 1
	done
	_check_leaf wrongorder intb2 ec /CN=wrongorder.test DNS:wrongorder.test \
		"$now_m1h" "$now_p100d" 'crl aia' || return 1
	_check_leaf expired int ec /CN=expired.test DNS:expired.test \
		"$(_check_date -$((90 * 86400)))" "$(_check_date -86400)" 'ocsp crl aia' || return 1
	_check_leaf expiring int ec /CN=expiring.test DNS:expiring.test \
		"$(_check_date -$((85 * 86400)))" "$(_check_date $((CHECK_EXPIRING_DAYS * 86400)))" \
		'ocsp crl aia' || return 1
	_check_leaf wronghost int ec /CN=other.test DNS:other.test \
		"$now_m1h" "$now_p100d" 'ocsp crl aia' || return 1
	_check_leaf revokedocsp int ec /CN=revoked-ocsp.test DNS:revoked-ocsp.test \
		"$now_m1h" "$now_p100d" 'ocsp aia' || return 1
	_check_leaf revokedcrl int ec /CN=revoked-crl.test DNS:revoked-crl.test \
		"$now_m1h" "$now_p100d" 'crl aia' || return 1
	_check_leaf cnonly int ec /CN=cnonly.test '' \
		"$now_m1h" "$now_p100d" 'ocsp crl aia' || return 1
	_check_leaf weak int rsa1024 /CN=weak.test DNS:weak.test \
		"$now_m1h" "$now_p100d" 'ocsp crl aia' || return 1
	_check_leaf sha1 int ec /CN=sha1.test DNS:sha1.test \
		"$now_m1h" "$now_p100d" 'ocsp crl aia' sha1 || return 1

	# selfsigned: its own issuer, through `openssl ca -selfsign` too.
	_check_make_ca selfsigned /CN=selfsigned.test -self "$now_m1h" "$now_p100d" \
		'basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:selfsigned.test' || return 1
	mkdir -p "$CHECK_PKI/leaf/selfsigned"
	cp "$CHECK_PKI/selfsigned/ca.pem" "$CHECK_PKI/leaf/selfsigned/leaf.pem"
	cp "$CHECK_PKI/selfsigned/ca.key" "$CHECK_PKI/leaf/selfsigned/key.pem"
	CHECK_LEAF[selfsigned]=$CHECK_PKI/leaf/selfsigned/leaf.pem
	CHECK_KEY[selfsigned]=$CHECK_PKI/leaf/selfsigned/key.pem
	CHECK_ISSUER[selfsigned]=$CHECK_PKI/leaf/selfsigned/leaf.pem

	# ---- revocations (in int's database: both the CRL and the responder
	# say so; each leaf advertises only one of them)
	for s in revokedocsp revokedcrl; do
		_check_ossl "revoke-$s" openssl ca -batch -config "$CHECK_PKI/int/ca.cnf" \
			-revoke "${CHECK_LEAF[$s]}" -crl_reason keyCompromise || return 1
	done

	# ---- what is published
	for s in root int intb intb2; do
		_check_der "$CHECK_PKI/$s/ca.pem" "$CHECK_PUB/$s.der" || return 1
		cp "$CHECK_PKI/$s/ca.pem" "$CHECK_PUB/$s.pem"
		_check_crl "$s" || return 1
	done

	# ---- chain files: correct chain -- what nginx sends
	local L
	for s in good leafonly unrelated withroot expired expiring wronghost revokedocsp \
		revokedcrl cnonly weak sha1 tls10 nohsts; do
		L=${CHECK_LEAF[$s]}
		case $s in
		leafonly) _check_files "$s" "$CHECK_INT" -- "$L" ;;
		unrelated) _check_files "$s" "$CHECK_INT" -- "$L" "$CHECK_INT" "$CHECK_UNRELATED" ;;
		withroot) _check_files "$s" "$CHECK_INT" -- "$L" "$CHECK_INT" "$CHECK_ROOT" ;;
		*) _check_files "$s" "$CHECK_INT" -- "$L" "$CHECK_INT" ;;
		esac
	done
	_check_files wrongorder "$CHECK_INTB2" "$CHECK_INTB" -- \
		"${CHECK_LEAF[wrongorder]}" "$CHECK_INTB" "$CHECK_INTB2"
	_check_files selfsigned -- "${CHECK_LEAF[selfsigned]}"
	# what nginx trusts to verify good's OCSP answers
	_check_cat "$CHECK_INT" "$CHECK_ROOT" >"$CHECK_PKI/trusted.pem"
}

# ------------------------------------------------------------------ nginx

# The suites of a fixture server that allows only modern ones.
CHECK_MODERN_CIPHERS='ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305'

# _check_nginx_head DIR HTTP_LINE: _CHECK_HEAD is the start of an
# nginx.conf for a fixture nginx in DIR (its pid, error log and temp files
# there), up to inside "http {", with HTTP_LINE (may be "") first in it.
# Builtins only: a process costs here.
_CHECK_HEAD=''
_check_nginx_head() {
	local n=$1
	_CHECK_HEAD=''
	if [ "$EUID" -eq 0 ]; then
		_CHECK_HEAD=$'user root;\n' # workers must read the files in $T (mode 700)
	fi
	_CHECK_HEAD+="worker_processes 1;
daemon off;
master_process on;
pid $n/nginx.pid;
error_log $n/error.log notice;
events { worker_connections 256; }
http {
"
	[ -n "$2" ] && _CHECK_HEAD+="    $2
"
	_CHECK_HEAD+="    client_body_temp_path $n/tmp/body;
    proxy_temp_path $n/tmp/proxy;
    fastcgi_temp_path $n/tmp/fastcgi;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
    default_type text/plain;
    server_tokens off;
"
	return 0
}

# _check_nginx_conf: write $CHECK_NGINX_DIR/nginx.conf for CHECK_PORT
# (built with builtins only: a process costs here).
_check_nginx_conf() {
	local n=$CHECK_NGINX_DIR s c modern=$CHECK_MODERN_CIPHERS
	_check_nginx_head "$n" "access_log $n/access.log;"
	c=$_CHECK_HEAD
	for s in "${CHECK_TLS_SCENARIOS[@]}"; do
		c+="    # $s: ${CHECK_DESC[$s]}
    server {
        listen 127.0.0.1:${CHECK_PORT[$s]} ssl;
        server_name ${CHECK_NAME[$s]};
        ssl_certificate ${CHECK_SENT[$s]};
        ssl_certificate_key ${CHECK_KEY[$s]};
"
		# (nginx applies ssl_ciphers before it loads the certificate, so
		# @SECLEVEL=0 here is what lets it load RSA 1024 / SHA-1 at all.)
		case $s in
		tls10)
			c+="        ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
        ssl_ciphers $CHECK_SECLEVEL0;
" ;;
		weak | sha1)
			c+="        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers $modern:@SECLEVEL=0;
" ;;
		*)
			c+="        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers $modern;
" ;;
		esac
		if [ "$s" = good ]; then
			c+="        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate $CHECK_PKI/trusted.pem;
"
		fi
		if [ "$s" != nohsts ]; then
			c+=$'        add_header Strict-Transport-Security "max-age=31536000" always;\n'
		fi
		c+="        location / { return 200 \"moat-fixture $s\\n\"; }
    }
"
	done
	c+="    # plain: ${CHECK_DESC[plain]}
    server {
        listen 127.0.0.1:${CHECK_PORT[plain]};
        server_name ${CHECK_NAME[plain]};
        location / { return 200 \"moat-fixture plain\\n\"; }
    }
    # redirect: ${CHECK_DESC[redirect]}
    server {
        listen 127.0.0.1:${CHECK_PORT[redirect]};
        server_name ${CHECK_NAME[redirect]};
        location / { return 308 https://\$host:${CHECK_PORT[good]}\$request_uri; }
    }
}
"
	printf '%s' "$c" >"$n/nginx.conf"
}

# _check_staple_ready: good's stapled OCSP answer is there.
_check_staple_ready() {
	timeout 15 openssl s_client -connect "127.0.0.1:${CHECK_PORT[good]}" \
		-servername "${CHECK_NAME[good]}" -status </dev/null 2>/dev/null |
		grep -q 'OCSP Response Status: successful'
}

# _check_nginx_up DIR LOG CONF_FN SCENARIOS_VAR: an nginx in DIR for the
# scenarios in the array named SCENARIOS_VAR, each on a free port
# (CHECK_PORT), its config written by CONF_FN, its error log LOG; waits
# until every port accepts connections, again with other ports when one was
# taken.  _CHECK_UP_PID is its pid.
_CHECK_UP_PID=''
_check_nginx_up() {
	local dir=$1 log=$2 conf_fn=$3 attempt s pid ports i
	local -n scen=$4
	_CHECK_UP_PID=''
	mkdir -p "$dir/tmp" "$dir/logs"
	for attempt in 1 2 3; do
		mapfile -t ports < <(_check_free_ports "${#scen[@]}")
		if [ "${#ports[@]}" -ne "${#scen[@]}" ]; then
			note "check: cannot pick free ports"
			return 1
		fi
		i=0
		for s in "${scen[@]}"; do
			CHECK_PORT[$s]=${ports[$i]}
			i=$((i + 1))
		done
		"$conf_fn"
		: >"$log"
		nginx -p "$dir/" -c "$dir/nginx.conf" -e "$log" </dev/null >"$dir/stderr.log" 2>&1 &
		pid=$!
		SERVER_PIDS+=("$pid")
		if poll_pid "$pid" "$CHECK_START_TIMEOUT" _check_ports_open "${ports[@]}"; then
			_CHECK_UP_PID=$pid
			return 0
		fi
		note "check: nginx ($dir) attempt $attempt failed"
		_check_log "$dir/stderr.log" nginx
		_check_log "$log" nginx
		_check_stop "$pid"
		if ! grep -q 'Address already in use' "$log" "$dir/stderr.log"; then
			return 1
		fi
	done
	return 1
}

# check_start_nginx: every scenario's endpoint (see the top).
check_start_nginx() {
	local log=$CHECK_NGINX_LOG
	_check_nginx_up "$CHECK_NGINX_DIR" "$log" _check_nginx_conf CHECK_SCENARIOS || return 1
	CHECK_NGINX_PID=$_CHECK_UP_PID
	# nginx fetches the OCSP answer after the first handshake that asks for
	# it; ask until it is cached, so that every later client gets it.
	if ! poll_pid "$CHECK_NGINX_PID" "$CHECK_START_TIMEOUT" _check_staple_ready; then
		note "check: nginx does not staple an OCSP answer for good"
		_check_log "$log" nginx
		_check_log "$CHECK_OCSP_LOG" ocsp
		return 1
	fi
	# Can this OpenSSL still do TLS 1.0 (server and client side)?
	if timeout 15 openssl s_client -connect "127.0.0.1:${CHECK_PORT[tls10]}" -tls1 \
		-cipher "$CHECK_SECLEVEL0" -servername "${CHECK_NAME[tls10]}" \
		</dev/null >/dev/null 2>&1; then
		CHECK_TLS10=yes
	else
		CHECK_TLS10=no
	fi
}

# check_sent_chain SCENARIO OUT: the certificates the endpoint sends, in the
# order sent, as PEM in OUT (from `openssl s_client -showcerts`).
check_sent_chain() {
	timeout 15 openssl s_client -connect "127.0.0.1:${CHECK_PORT[$1]}" -servername "${CHECK_NAME[$1]}" \
		-showcerts -cipher "$CHECK_SECLEVEL0" </dev/null 2>/dev/null |
		sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' >"$2"
	[ -s "$2" ]
}

# _check_canon FILE: the certificates of a PEM file in a canonical text form.
_check_canon() {
	openssl crl2pkcs7 -nocrl -certfile "$1" 2>/dev/null | openssl pkcs7 -print_certs 2>/dev/null
}

# _check_serves SCENARIO WANT_CANON: the endpoint sends exactly these certs.
_check_serves() {
	local got=$T/.check-sent.pem
	check_sent_chain "$1" "$got" && [ "$(_check_canon "$got")" = "$2" ]
}

# _check_workers: the PIDs of nginx's worker processes.
_check_workers() {
	local f=/proc/$CHECK_NGINX_PID/task/$CHECK_NGINX_PID/children
	if [ -r "$f" ]; then
		cat "$f"
	else
		pgrep -P "$CHECK_NGINX_PID" 2>/dev/null
	fi
}

# _check_gone PID...: none of these processes is left.
_check_gone() {
	local p
	for p in "$@"; do
		if kill -0 "$p" 2>/dev/null; then
			return 1
		fi
	done
}

# check_serve SCENARIO CERTFILE [KEYFILE]: from now on the endpoint sends
# CERTFILE (leaf first, then its chain: e.g. what `moat check --fix-chain`
# wrote).  nginx reloads (SIGHUP) on the same port; returns once every old
# worker is gone and the endpoint sends exactly CERTFILE.  check_serve s
# "$CHECK_SENT_ORIG[s]" puts the scenario back.
check_serve() {
	local s=$1 file=$2 old want
	if [ ! -s "$file" ]; then
		note "check: check_serve: no file $file"
		return 1
	fi
	CHECK_SENT[$s]=$file
	if [ -n "${3:-}" ]; then
		CHECK_KEY[$s]=$3
	fi
	_check_nginx_conf
	read -r -a old <<<"$(_check_workers | tr '\n' ' ')"
	want=$(_check_canon "$file")
	kill -HUP "$CHECK_NGINX_PID" 2>/dev/null || return 1
	if ! poll_pid "$CHECK_NGINX_PID" "$CHECK_START_TIMEOUT" _check_gone "${old[@]}" ||
		! poll_pid "$CHECK_NGINX_PID" "$CHECK_START_TIMEOUT" _check_serves "$s" "$want"; then
		note "check: nginx did not take $file for $s"
		_check_log "$CHECK_NGINX_LOG" nginx
		return 1
	fi
	# a new worker: good's OCSP staple must be fetched again
	poll_pid "$CHECK_NGINX_PID" "$CHECK_START_TIMEOUT" _check_staple_ready
}

# --------------------------------------------------------------- together

# check_setup: servers first (they pick their own ports, so the URLs in the
# certificates cannot name a port that someone else took), then the PKI,
# then nginx.
check_setup() {
	local t0=$SECONDS
	check_start_http || {
		note "check: the AIA/CRL HTTP server did not start"
		return 1
	}
	check_start_ocsp || {
		note "check: the OCSP responder did not start"
		return 1
	}
	check_pki || {
		note "check: building the test PKI failed"
		return 1
	}
	check_start_nginx || {
		note "check: nginx did not start (log: $CHECK_NGINX_LOG)"
		return 1
	}
	note "check fixture up in $((SECONDS - t0))s: http :$CHECK_HTTP_PORT, ocsp :$CHECK_OCSP_PORT, nginx pid $CHECK_NGINX_PID, TLS 1.0: $CHECK_TLS10"
}

# check_list: the scenarios, as notes.
check_list() {
	local s
	for s in "${CHECK_SCENARIOS[@]}"; do
		note "$(printf '%-12s %5s %-18s %s' "$s" "${CHECK_PORT[$s]:-}" "${CHECK_NAME[$s]}" "${CHECK_DESC[$s]}")"
	done
}

# check_ocsp_status SCENARIO: good / revoked / unknown (or nothing), as the
# responder answers for the scenario's leaf.
check_ocsp_status() {
	openssl ocsp -issuer "${CHECK_ISSUER[$1]}" -cert "${CHECK_LEAF[$1]}" \
		-url "$CHECK_OCSP_URL" -CAfile "$CHECK_ROOT" -timeout 10 </dev/null 2>/dev/null |
		sed -n -E "s/^[^:]*: (good|revoked|unknown)\$/\\1/p" | head -n 1
}

# ==================================================================== more
# More scenarios, for t_check_findings.sh: each makes `moat check` give one
# finding (or show one option) that the scenarios above do not.  Made the same
# way (`openssl ca`, nginx), on top of check_start_http, check_start_ocsp and
# check_pki, plus tests/integration/findings_srv.py (odd network peers: see
# that file), and served by a second nginx so that the first stays as
# described at the top.
#
#   check_more_setup          all of the below, in the order that needs no port
#                             guessing (check_setup's order, without its nginx)
#   check_more_start_helpers  findings_srv.py; CHECK_HELPER_PORT[ROLE] for its
#                             roles garbage, plain, silent, syndrop, dead; its
#                             log (one line per request) in CHECK_HELPER_LOG
#   check_more_pki            the certificates (after check_pki and the helpers)
#   check_more_start_nginx    the second nginx (prefix $CHECK_MORE_NGINX_DIR),
#                             one port per scenario on 127.0.0.1; each scenario
#                             logs its requests to
#                             $CHECK_MORE_NGINX_DIR/access-SCENARIO.log
#   check_codes FILE SEVERITY the finding codes of that severity in a
#                             `moat check --json` document, sorted, one line
#
# Scenarios (CHECK_MORE_SCENARIOS; host names SCENARIO.test; every leaf is a
# P-256 leaf for its name (CN and DNS SAN), issued by int and sent with int,
# carrying no OCSP URL, CRL DP or caIssuers URL, unless said otherwise):
#   notyet       valid from +30 d to +120 d (openssl ca -startdate)
#   badsig       sent with a copy of int whose signature's last byte is flipped
#   notca        root -> "Not A CA" (basicConstraints critical CA:FALSE, no
#                keyUsage) -> leaf; sends leaf + Not A CA
#   nameconstr   root -> an intermediate whose nameConstraints exclude
#                DNS:nameconstr.test -> leaf; sends leaf + it
#   critext      the leaf has an unknown critical extension
#                (1.3.6.1.4.1.55555.1), which no verifier may ignore
#   tls13only    ssl_protocols TLSv1.3
#   tls12only    ssl_protocols TLSv1.2
#   oldonly      ssl_protocols TLSv1 TLSv1.1 (ciphers DEFAULT:@SECLEVEL=0)
#   nocipher     TLSv1.2 only, PSK cipher suites only: a client without a
#                pre-shared key has no cipher in common with it
#   ocspunknown  signed with int's key by `openssl x509 -req`, so that int's
#                database (the responder's index) lacks its serial: the
#                responder answers "unknown"; OCSP URL $CHECK_OCSP_URL
#   ocspgarbage  OCSP URL -> findings_srv.py's garbage peer (200, not OCSP)
#   staplebad    nginx staples a file (ssl_stapling_file): the responder's
#                answer about good's leaf, so about another certificate
#   crldead      CRL DP -> the helper's dead port (connection refused)
#   crlgarbage   CRL DP -> $CHECK_HTTP_URL/garbage.crl (text, not a CRL)
#   crlother     CRL DP -> $CHECK_HTTP_URL/root.crl (a real CRL, but root's)
#   nohttp       nothing odd (for --no-http)
# Every scenario sends Strict-Transport-Security and answers "moat-fixture NAME".
#
# Variables: CHECK_PORT, CHECK_NAME, CHECK_DESC, CHECK_LEAF, CHECK_KEY,
# CHECK_ISSUER, CHECK_CHAIN, CHECK_FULLCHAIN, CHECK_SENT, CHECK_SENT_ORIG as
# above, for these scenarios too; CHECK_BADSIG_INT (the damaged int),
# CHECK_NOTCA_INT, CHECK_NC_INT (the two odd intermediates), CHECK_STAPLE_FILE,
# CHECK_HELPER_PID, CHECK_MORE_NGINX_PID, CHECK_MORE_NGINX_LOG.

CHECK_MORE_SCENARIOS=(notyet badsig notca nameconstr critext tls13only tls12only oldonly
	nocipher ocspunknown ocspgarbage staplebad crldead crlgarbage crlother nohttp)
CHECK_MORE_NGINX_DIR=$T/nginx-more
CHECK_MORE_NGINX_LOG=$CHECK_MORE_NGINX_DIR/error.log
CHECK_MORE_NGINX_PID=''
CHECK_HELPER_LOG=$CHECK_SRV_DIR/helpers.log
CHECK_HELPER_PID=''
CHECK_BADSIG_INT=$CHECK_PKI/more/badsig-int.pem
CHECK_NOTCA_INT=$CHECK_PKI/notcaint/ca.pem
CHECK_NC_INT=$CHECK_PKI/ncint/ca.pem
CHECK_STAPLE_FILE=$CHECK_PKI/more/staple-good.der
declare -gA CHECK_HELPER_PORT=()

# _check_more_defs: names and descriptions of the more scenarios.
_check_more_defs() {
	local s
	for s in "${CHECK_MORE_SCENARIOS[@]}"; do
		CHECK_NAME[$s]=$s.test
	done
	CHECK_DESC+=([notyet]='the leaf is not valid yet (from +30 days)'
		[badsig]="the intermediate's signature is damaged"
		[notca]='the issuer is not a CA (basicConstraints CA:FALSE)'
		[nameconstr]="the intermediate's name constraints exclude the name"
		[critext]='the leaf has an unknown critical extension'
		[tls13only]='TLS 1.3 only'
		[tls12only]='TLS 1.2 only'
		[oldonly]='TLS 1.0 and 1.1 only'
		[nocipher]='TLS 1.2 with PSK cipher suites only'
		[ocspunknown]='the OCSP responder does not know the leaf'
		[ocspgarbage]='the OCSP responder answers garbage'
		[staplebad]='the stapled OCSP response is about another certificate'
		[crldead]='the CRL URL refuses connections'
		[crlgarbage]='the CRL URL serves garbage'
		[crlother]="the CRL URL serves another CA's CRL"
		[nohttp]='nothing odd (for --no-http)')
}

# check_more_start_helpers: findings_srv.py (see the top of this section).
check_more_start_helpers() {
	local pf=$CHECK_SRV_DIR/helpers.port pid role port
	mkdir -p "$CHECK_SRV_DIR"
	printf 'this is not an OCSP response\n' >"$CHECK_SRV_DIR/garbage.body"
	rm -f "$pf"
	"$CHECK_PY" -u "$IT_DIR/findings_srv.py" "$pf" "$CHECK_SRV_DIR/garbage.body" \
		</dev/null >>"$CHECK_HELPER_LOG" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	# (the port file is written once every socket is bound and listening;
	# no connection probe: the syndrop port would not answer one)
	if ! poll_pid "$pid" "$CHECK_START_TIMEOUT" test -s "$pf"; then
		note "check: findings_srv.py did not start"
		_check_log "$CHECK_HELPER_LOG" helpers
		_check_stop "$pid"
		return 1
	fi
	while read -r role port; do
		CHECK_HELPER_PORT[$role]=$port
	done <"$pf"
	CHECK_HELPER_PID=$pid
}

# _check_more_leaf SCENARIO ISSUER START END EXTLINES [x509]: the scenario's
# leaf (see the top of this section) with EXTLINES added to its extensions,
# issued by `openssl ca` of ISSUER (a CA directory under $CHECK_PKI), or with
# x509 by `openssl x509 -req` with ISSUER's key (valid from now for 100 days;
# not in ISSUER's database).
_check_more_leaf() {
	local s=$1 issuer=$2 d=$CHECK_PKI/leaf/$1 n=${CHECK_NAME[$1]} ext
	mkdir -p "$d"
	_check_keycsr "$d/key.pem" ec "/CN=$n" "$d/leaf.csr" || return 1
	ext="basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:$n"
	if [ -n "$5" ]; then
		ext+=$'\n'$5
	fi
	printf '%s\n' "$ext" | _check_ext "$d/ext.cnf"
	if [ "${6:-}" = x509 ]; then
		_check_ossl "x509-$s" openssl x509 -req -in "$d/leaf.csr" \
			-CA "$CHECK_PKI/$issuer/ca.pem" -CAkey "$CHECK_PKI/$issuer/ca.key" \
			-set_serial "0x4d$(openssl rand -hex 15)" -days 100 -sha256 \
			-extfile "$d/ext.cnf" -extensions ext -out "$d/leaf.pem" || return 1
	else
		_check_sign "$issuer" "$d/leaf.csr" "$d/leaf.pem" "$3" "$4" "$d/ext.cnf" || return 1
	fi
	CHECK_LEAF[$s]=$d/leaf.pem
	CHECK_KEY[$s]=$d/key.pem
	CHECK_ISSUER[$s]=$CHECK_PKI/$issuer/ca.pem
}

# check_more_pki: the certificates and files of the more scenarios.
check_more_pki() {
	local m=$CHECK_PKI/more s o now_m1h now_m1y now_p100d h=$CHECK_HTTP_URL
	_check_more_defs
	mkdir -p "$m"
	now_m1h=$(_check_date -3600)
	now_m1y=$(_check_date -$((365 * 86400)))
	now_p100d=$(_check_date $((100 * 86400)))

	# ---- the odd intermediates (both issued by root)
	_check_make_ca notcaint '/O=moat fixture/CN=moat fixture Not A CA' root \
		"$now_m1y" "$(_check_date $((10 * 365 * 86400)))" \
		'basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always' || return 1
	_check_make_ca ncint '/O=moat fixture/CN=moat fixture Constrained CA' root \
		"$now_m1y" "$(_check_date $((10 * 365 * 86400)))" \
		"basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
nameConstraints = critical, excluded;DNS:${CHECK_NAME[nameconstr]}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always" || return 1
	# int with its signature damaged (the last byte of the DER is the last
	# byte of the signature value)
	_check_ossl der-badsig openssl x509 -in "$CHECK_INT" -outform DER -out "$m/int.der" || return 1
	"$CHECK_PY" -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-1] ^= 0x01
open(sys.argv[2], "wb").write(b)' "$m/int.der" "$m/badsig-int.der" || return 1
	_check_ossl pem-badsig openssl x509 -inform DER -in "$m/badsig-int.der" \
		-out "$CHECK_BADSIG_INT" || return 1

	# ---- the leaves
	_check_more_leaf notyet int "$(_check_date $((30 * 86400)))" \
		"$(_check_date $((120 * 86400)))" '' || return 1
	for s in badsig critext tls13only tls12only oldonly nocipher ocspgarbage staplebad \
		crldead crlgarbage crlother nohttp; do
		case $s in
		critext) o='1.3.6.1.4.1.55555.1 = critical, ASN1:UTF8String:moat fixture' ;;
		ocspgarbage) o="authorityInfoAccess = OCSP;URI:http://127.0.0.1:${CHECK_HELPER_PORT[garbage]}/" ;;
		crldead) o="crlDistributionPoints = URI:http://127.0.0.1:${CHECK_HELPER_PORT[dead]}/int.crl" ;;
		crlgarbage) o="crlDistributionPoints = URI:$h/garbage.crl" ;;
		crlother) o="crlDistributionPoints = URI:$h/root.crl" ;;
		*) o='' ;;
		esac
		_check_more_leaf "$s" int "$now_m1h" "$now_p100d" "$o" || return 1
	done
	_check_more_leaf ocspunknown int '' '' "authorityInfoAccess = OCSP;URI:$CHECK_OCSP_URL" \
		x509 || return 1
	_check_more_leaf notca notcaint "$now_m1h" "$now_p100d" '' || return 1
	_check_more_leaf nameconstr ncint "$now_m1h" "$now_p100d" '' || return 1

	# ---- what is published: a CRL URL that serves text
	printf 'this is not a CRL\n' >"$CHECK_PUB/garbage.crl"
	# ---- staplebad's staple: the responder's answer about good's leaf
	_check_ossl staple-req openssl ocsp -issuer "$CHECK_INT" -cert "${CHECK_LEAF[good]}" \
		-no_nonce -reqout "$m/staple-good.req" || return 1
	_check_ossl staple-resp openssl ocsp -index "$CHECK_PKI/int/index.txt" -CA "$CHECK_INT" \
		-rsigner "$CHECK_OCSP_CERT" -rkey "$CHECK_PKI/ocsp/ocsp.key" -ndays 1 \
		-reqin "$m/staple-good.req" -respout "$CHECK_STAPLE_FILE" || return 1

	# ---- chain files
	for s in "${CHECK_MORE_SCENARIOS[@]}"; do
		case $s in
		badsig) _check_files "$s" "$CHECK_BADSIG_INT" -- "${CHECK_LEAF[$s]}" "$CHECK_BADSIG_INT" ;;
		notca) _check_files "$s" "$CHECK_NOTCA_INT" -- "${CHECK_LEAF[$s]}" "$CHECK_NOTCA_INT" ;;
		nameconstr) _check_files "$s" "$CHECK_NC_INT" -- "${CHECK_LEAF[$s]}" "$CHECK_NC_INT" ;;
		*) _check_files "$s" "$CHECK_INT" -- "${CHECK_LEAF[$s]}" "$CHECK_INT" ;;
		esac
	done
}

# _check_more_nginx_conf: $CHECK_MORE_NGINX_DIR/nginx.conf for CHECK_PORT.
_check_more_nginx_conf() {
	local n=$CHECK_MORE_NGINX_DIR s c modern=$CHECK_MODERN_CIPHERS
	_check_nginx_head "$n" ""
	c=$_CHECK_HEAD
	for s in "${CHECK_MORE_SCENARIOS[@]}"; do
		c+="    # $s: ${CHECK_DESC[$s]}
    server {
        listen 127.0.0.1:${CHECK_PORT[$s]} ssl;
        server_name ${CHECK_NAME[$s]};
        access_log $n/access-$s.log;
        ssl_certificate ${CHECK_SENT[$s]};
        ssl_certificate_key ${CHECK_KEY[$s]};
"
		case $s in
		tls13only) c+=$'        ssl_protocols TLSv1.3;\n' ;;
		tls12only) c+="        ssl_protocols TLSv1.2;
        ssl_ciphers $modern;
" ;;
		oldonly) c+="        ssl_protocols TLSv1 TLSv1.1;
        ssl_ciphers $CHECK_SECLEVEL0;
" ;;
		nocipher) c+="        ssl_protocols TLSv1.2;
        ssl_ciphers PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305;
" ;;
		*) c+="        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers $modern;
" ;;
		esac
		if [ "$s" = staplebad ]; then
			c+="        ssl_stapling on;
        ssl_stapling_file $CHECK_STAPLE_FILE;
"
		fi
		c+="        add_header Strict-Transport-Security \"max-age=31536000\" always;
        location / { return 200 \"moat-fixture $s\\n\"; }
    }
"
	done
	c+=$'}\n'
	printf '%s' "$c" >"$n/nginx.conf"
}

# check_more_start_nginx: the more scenarios' endpoints (see the top of this
# section); waits until every port accepts connections.
check_more_start_nginx() {
	_check_nginx_up "$CHECK_MORE_NGINX_DIR" "$CHECK_MORE_NGINX_LOG" _check_more_nginx_conf \
		CHECK_MORE_SCENARIOS || return 1
	CHECK_MORE_NGINX_PID=$_CHECK_UP_PID
}

# check_more_setup: the helpers and the file server and responder first (they
# pick their own ports, which the certificates name), then both PKIs, then
# the second nginx.  (The first nginx is not started: check_setup does that.)
check_more_setup() {
	local t0=$SECONDS step
	for step in check_start_http check_start_ocsp check_more_start_helpers check_pki \
		check_more_pki check_more_start_nginx; do
		if ! "$step"; then
			note "check: $step failed"
			return 1
		fi
	done
	note "more scenarios up in $((SECONDS - t0))s: http :$CHECK_HTTP_PORT, ocsp :$CHECK_OCSP_PORT, helpers pid $CHECK_HELPER_PID, nginx pid $CHECK_MORE_NGINX_PID"
}

# check_codes FILE SEVERITY: the codes of the findings of that severity in the
# `moat check --json` document FILE, sorted, space-separated.
check_codes() {
	"$CHECK_PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(f["code"] for t in d["targets"] for f in t["findings"]
                      if f["severity"] == sys.argv[2])))' "$1" "$2"
}
