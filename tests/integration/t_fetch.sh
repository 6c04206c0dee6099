#!/usr/bin/env bash
# t_fetch: moat fetch saves the chain exactly as a server sends it --
# compared with what `openssl s_client -showcerts` sees from the same
# openssl s_server -- and says clearly when there is no TLS to fetch.
. "$(dirname "$0")/lib.sh"

need_ca --name "Fetch Test CA"
moat issue localhost 127.0.0.1 ::1
L=$MOAT_HOME/live/localhost

# Fingerprints of the certificates in a PEM file, in order, one per line.
fps() {
	python3 - "$1" <<'PY'
import re, subprocess, sys
for c in re.findall(r'-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----', open(sys.argv[1]).read(), re.S):
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=c,
                         capture_output=True, text=True).stdout
    print(out.strip().split("=")[-1])
PY
}
s_client_chain() {
	openssl s_client -connect "$1" -servername localhost -showcerts </dev/null 2>/dev/null >"$T/sc.out"
	fps "$T/sc.out"
}

# ---- full chain
start_s_server 127.0.0.1 "$T/s1.log" -cert "$L/cert.pem" -cert_chain "$L/chain.pem" \
	-key "$L/privkey.pem" || { fail "s_server did not start"; finish; }
P1=$SERVER_PORT
moat fetch "https://localhost:$P1/some/path" --out "$T/full.pem"
assert_rc 0 "fetch a full chain"
assert_eq "$(fps "$T/full.pem")" "$(s_client_chain "127.0.0.1:$P1")" \
	"the same certificates in the same order as openssl s_client -showcerts sees"
assert_eq "$(count_certs "$T/full.pem")" 2 "leaf and intermediate"
assert_eq "$(cert_fp "$T/full.pem")" "$(cert_fp "$L/cert.pem")" "the leaf comes first"
assert_contains "$ERR" "sent 2 certificates" "the summary says 2 certificates"
run openssl verify -x509_strict -CAfile "$MOAT_HOME/ca/root.pem" -untrusted "$T/full.pem" "$T/full.pem"
assert_rc 0 "the fetched chain verifies against the root"
moat fetch "localhost:$P1"
assert_rc 0 "fetch to standard output"
printf '%s\n' "$OUT" >"$T/stdout.pem"
assert_eq "$(fps "$T/stdout.pem")" "$(fps "$T/full.pem")" "standard output holds the same PEM"
moat fetch "127.0.0.1:$P1" --servername localhost --json
assert_rc 0 "fetch --json"
assert_json "fetch --json is JSON"
assert_eq "$(json_get 'len(d["chain"])' <"$OUT_F")" 2 "--json: two certificates"
assert_eq "$(json_get 'd["chain"][0]["sha256"].replace(":","").lower()' <"$OUT_F")" \
	"$(cert_fp "$L/cert.pem")" "--json: the leaf's fingerprint"
assert_match "$(json_get 'd["version"]' <"$OUT_F")" '^TLSv1\.[23]$' "--json: the TLS version"
assert_ne "$(json_get 'd["cipher"]' <"$OUT_F")" "" "--json: the cipher"
moat fetch "example.test:$P1" --connect-to 127.0.0.1 --out "$T/ct.pem"
assert_rc 0 "--connect-to reaches a name that is not in DNS"
assert_eq "$(fps "$T/ct.pem")" "$(fps "$T/full.pem")" "--connect-to fetches the same chain"
stop_server "$SERVER_PID"

# ---- leaf only (the SUB-524 case) and IPv6
start_s_server ::1 "$T/s2.log" -cert "$L/cert.pem" -key "$L/privkey.pem" ||
	{ fail "s_server on ::1 did not start"; finish; }
moat fetch "[::1]:$SERVER_PORT" --out "$T/leaf.pem"
assert_rc 0 "fetch over IPv6"
assert_eq "$(count_certs "$T/leaf.pem")" 1 "a server that sends the leaf alone: one certificate"
assert_contains "$ERR" "sent 1 certificate " "the summary says 1 certificate"
stop_server "$SERVER_PID"

# ---- no TLS there
HP=$(free_port 127.0.0.1)
python3 -m http.server "$HP" --bind 127.0.0.1 --directory "$T" >/dev/null 2>&1 &
SERVER_PIDS+=($!)
wait_port $! 127.0.0.1 "$HP" 15 || fail "http.server did not start"
moat fetch "127.0.0.1:$HP" --out "$T/plain.pem"
assert_error_shape "plain HTTP port: one error"
assert_contains "$ERR" "plain HTTP" "plain HTTP port: says so"
assert_no_file "$T/plain.pem" "plain HTTP port: no file written"
CP=$(free_port 127.0.0.1)
moat fetch "127.0.0.1:$CP"
assert_rc 3 "nothing listening: exit 3 (unreachable)"
assert_contains "$ERR" "cannot connect" "nothing listening: says cannot connect"
moat fetch "no-such-host.invalid"
assert_rc 3 "unknown name: exit 3"
assert_contains "$ERR" "cannot resolve" "unknown name: says cannot resolve"
moat fetch "ftp://example.com"
assert_rc 2 "ftp:// is a usage error"
moat fetch "http://example.com"
assert_rc 1 "http:// has nothing to fetch"
moat fetch
assert_rc 2 "no target: usage error"
moat fetch --help
assert_contains "$OUT" "SUB-524" "help names the symptom"

finish
