/* help.c: `moat help [CMD]` and `--help`. */
#include "cli/cli.h"

#include <string.h>

#include "moat_config.h"

struct help {
	const char *cmd;
	const char *text;
};

static const char overview[] =
	"moat " MOAT_VERSION " - correct, trusted TLS for servers that do not do TLS themselves\n"
	"\n"
	"Usage: moat COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"Private CA:\n"
	"  ca init        create a root CA and an intermediate that signs day to day\n"
	"  ca show        describe the CA\n"
	"  ca list        list issued certificates, their status and days left\n"
	"  issue NAME...  issue a server certificate (DNS names, wildcards, IPs, .local)\n"
	"  csr NAME...    make a key and a CSR for a third-party CA\n"
	"  sign CSR       sign an external CSR with the CA\n"
	"  revoke WHAT    revoke a certificate (by name, serial or file)\n"
	"  crl            write a fresh certificate revocation list\n"
	"  trust install  trust the root on this computer (system, browsers, Java)\n"
	"  trust uninstall  remove exactly what trust install added\n"
	"  trust status   where the root is trusted\n"
	"  trust share    a LAN page with a QR code that hands the root to phones\n"
	"  trust export   the root for computers, browsers and phones, as a file\n"
	"  fetch          save the certificate chain a server sends, as PEM\n"
	"\n"
	"ACME (Let's Encrypt and any RFC 8555 CA):\n"
	"  acme register  create an account with the CA\n"
	"  acme account   show, update, roll over or deactivate it\n"
	"  acme issue     get a certificate (http-01: --standalone or --webroot)\n"
	"  acme renew     renew certificates that are due\n"
	"  acme revoke    revoke a certificate\n"
	"  acme list      list ACME certificates\n"
	"\n"
	"Servers:\n"
	"  config SERVER NAME  a TLS snippet for apache, nginx or haproxy\n"
	"\n"
	"Tools:\n"
	"  inspect FILE...  read certificates, chains, CSRs, keys and CRLs\n"
	"  help [COMMAND]   show help for a command (also: moat COMMAND --help)\n"
	"\n"
	"Environment:\n"
	"  MOAT_HOME            state directory (default $XDG_DATA_HOME/moat, i.e.\n"
	"                       ~/.local/share/moat; /var/lib/moat for root)\n"
	"  MOAT_CA_PASSPHRASE   passphrase of the CA keys (instead of a prompt)\n"
	"  MOAT_P12_PASSPHRASE  passphrase for PKCS#12 bundles (instead of a prompt)\n"
	"  MOAT_ACME_SERVER     default for --server (letsencrypt)\n"
	"  MOAT_CA_BUNDLE       CA certificates that sign a private ACME server's TLS\n"
	"\n"
	"Exit codes: 0 success, 1 failure, 2 usage error.\n"
	"Documentation: docs/ in the source tree (docs/cli.md, docs/files.md).\n";

static const struct help helps[] = {
	{"config",
	 "Usage: moat config apache|nginx|haproxy NAME [--upstream http://HOST:PORT]\n"
	 "                   [--listen PORT] [--address IP]\n"
	 "\n"
	 "Prints a server configuration that terminates TLS for NAME with the\n"
	 "certificate in $MOAT_HOME/live/NAME (from `moat issue` or `moat acme issue`)\n"
	 "and passes requests on to the application: TLS 1.2 and 1.3 only, the full\n"
	 "chain, WebSocket upgrades, X-Forwarded-Proto.  For haproxy it also links\n"
	 "fullchain.pem.key to privkey.pem (where HAProxy looks for the key).\n"
	 "\n"
	 "  --upstream URL  the application (default http://127.0.0.1:3000, Rocket.Chat's)\n"
	 "  --listen PORT   the TLS port (default 443)\n"
	 "  --address IP    listen on one address only\n"},
	{"acme",
	 "Usage: moat acme register|account|issue|renew|revoke|list [OPTIONS]\n"
	 "\n"
	 "  acme register  create an account with the CA (once per server)\n"
	 "  acme account   show, update, roll over or deactivate the account\n"
	 "  acme issue     get a certificate for names you control\n"
	 "  acme renew     renew what is due (or --force), run deploy hooks\n"
	 "  acme revoke    revoke a certificate\n"
	 "  acme list      the ACME certificates, their expiry and renewal dates\n"
	 "\n"
	 "See `moat help acme issue` and so on.\n"},
	{"acme account",
	 "Usage: moat acme account [show | update --email ADDR... | rollover [--key-type T]\n"
	 "                         | deactivate --yes] [--server S] [--ca-bundle F] [--json]\n"
	 "\n"
	 "  show        the account as the CA sees it: status, contacts (default)\n"
	 "  update      replace the contact addresses\n"
	 "  rollover    switch the account to a new key (RFC 8555 key change); the new\n"
	 "              key is saved before the CA is told, the old one is dropped\n"
	 "  deactivate  close the account for good (certificates stay valid)\n"},
	{"acme renew",
	 "Usage: moat acme renew (--all | NAME...) [--force] [--dry-run] [--deploy-hook CMD]\n"
	 "                       [--json]\n"
	 "\n"
	 "Renews each certificate that is due -- two thirds into its lifetime, i.e. 30\n"
	 "days before a 90-day certificate ends -- the way it was first obtained\n"
	 "($MOAT_HOME/renewal/NAME.conf), then runs its deploy hook.  Run it daily\n"
	 "(systemd timer or cron); it does nothing until something is due.\n"
	 "\n"
	 "  --all              every ACME certificate in $MOAT_HOME\n"
	 "  --force            renew even if not due\n"
	 "  --dry-run          run the whole order, write nothing, run no hook\n"
	 "  --deploy-hook CMD  run CMD (sh -c) after each renewal, instead of the one\n"
	 "                     given at issue; it gets MOAT_LINEAGE, MOAT_DOMAINS,\n"
	 "                     MOAT_CERT, MOAT_KEY, MOAT_CHAIN, MOAT_FULLCHAIN (and\n"
	 "                     certbot's RENEWED_LINEAGE, RENEWED_DOMAINS)\n"
	 "\n"
	 "Exit status 1 if any renewal failed (each failure is reported).\n"},
	{"acme revoke",
	 "Usage: moat acme revoke NAME|CERTFILE [--reason R] [--server S] [--ca-bundle F]\n"
	 "\n"
	 "Revokes a certificate with the account that ordered it.  Reasons:\n"
	 "unspecified, keyCompromise, affiliationChanged, superseded,\n"
	 "cessationOfOperation.\n"},
	{"acme list",
	 "Usage: moat acme list [--json]\n"
	 "\n"
	 "The ACME certificates in $MOAT_HOME: names, expiry, days left, renewal date.\n"},
	{"acme register",
	 "Usage: moat acme register --email ADDR --agree-tos [--server S] [--ca-bundle F]\n"
	 "                          [--eab-kid KID --eab-hmac-key KEY] [--key-type T]\n"
	 "                          [--force] [--json]\n"
	 "\n"
	 "Creates an account key (ec-p256 by default, 0600) and registers it with the\n"
	 "ACME server; both are kept in $MOAT_HOME/acme/accounts/<server>/.\n"
	 "\n"
	 "  --server S        letsencrypt (default), letsencrypt-staging, or a directory URL\n"
	 "  --ca-bundle F     CA certificates for a private ACME server's TLS\n"
	 "                    (default: the system store; also MOAT_CA_BUNDLE)\n"
	 "  --email ADDR      contact for expiry and policy mail (repeatable)\n"
	 "  --agree-tos       accept the CA's terms of service (required when it has any)\n"
	 "  --eab-kid KID, --eab-hmac-key KEY\n"
	 "                    external account binding, for CAs that require one\n"
	 "  --force           register a new account even if one exists\n"},
	{"acme issue",
	 "Usage: moat acme issue NAME... (--standalone [--http-port N] | --webroot DIR |\n"
	 "                                --manual [--manual-hook CMD])\n"
	 "       moat acme issue NAME... --challenge dns-01 (--dns-hook CMD | --manual)\n"
	 "                       [--dns-resolver IP[:PORT]] [--dns-wait S]\n"
	 "       moat acme issue NAME... --challenge tls-alpn-01 --standalone\n"
	 "                       [--tls-port N] [--http-address A]\n"
	 "                       [--server S] [--ca-bundle F] [--key-type T] [--profile P]\n"
	 "                       [--preferred-chain CN] [--deploy-hook CMD] [--timeout S]\n"
	 "                       [--force] [--json]\n"
	 "\n"
	 "Proves control of each NAME (http-01, dns-01 for wildcards, or tls-alpn-01)\n"
	 "and writes the certificate in certbot's layout:\n"
	 "$MOAT_HOME/live/NAME/{fullchain,privkey,cert,chain}.pem, symlinks to versioned\n"
	 "files in $MOAT_HOME/archive/NAME/, plus $MOAT_HOME/renewal/NAME.conf.  A fresh\n"
	 "key is made for every certificate.\n"
	 "\n"
	 "  --standalone        answer the challenge with moat's own HTTP server\n"
	 "  --http-port N       port for --standalone (default 80)\n"
	 "  --http-address A    address for --standalone (default: all)\n"
	 "  --webroot DIR       write the challenge file under DIR for a running web server\n"
	 "  --manual            show the file to publish and wait for Enter; moat fetches\n"
	 "                      the URL itself and asks the CA only once it is right\n"
	 "  --manual-hook CMD   publish it with `CMD add|remove TOKEN CONTENT` instead\n"
	 "                      (also MOAT_HTTP_TOKEN, MOAT_HTTP_CONTENT, MOAT_HTTP_URL)\n"
	 "  --challenge dns-01  prove control with a DNS TXT record (wildcards need it)\n"
	 "  --dns-hook CMD      runs `CMD add|remove NAME VALUE` to create and delete\n"
	 "                      _acme-challenge TXT records (also MOAT_DNS_ACTION,\n"
	 "                      MOAT_DNS_NAME, MOAT_DNS_VALUE, MOAT_DOMAIN); exit 0 = done\n"
	 "  --manual            show the TXT record and wait for Enter instead\n"
	 "  --dns-resolver A    where to check that the record is visible (default: the\n"
	 "                      system's resolvers), before the CA is asked to look\n"
	 "  --dns-wait S        how long to wait for it (default 120)\n"
	 "  --challenge tls-alpn-01  prove control on the TLS port instead (RFC 8737):\n"
	 "                      with --standalone, moat's own TLS responder answers\n"
	 "                      handshakes for ALPN acme-tls/1 (not for wildcards)\n"
	 "  --tls-port N        port for tls-alpn-01 (default 443); --http-address A\n"
	 "                      picks its address\n"
	 "  --key-type T        the certificate's key (default ec-p256)\n"
	 "  --profile P         a certificate profile the CA offers\n"
	 "  --preferred-chain CN  use the alternate chain whose top is issued by CN\n"
	 "  --deploy-hook CMD   run CMD (sh -c) after this and every renewal; see\n"
	 "                      `moat help acme renew` for its environment\n"
	 "  --timeout S         give up after S seconds (default 300)\n"
	 "  --force             replace a private-CA certificate with the same name\n"},
	{"ca",
	 "Usage: moat ca init|show|list [OPTIONS]\n"
	 "\n"
	 "  ca init   create a root CA and an intermediate\n"
	 "  ca show   describe the CA\n"
	 "  ca list   list issued certificates\n"
	 "\n"
	 "See `moat help ca init` and so on.\n"},
	{"ca init",
	 "Usage: moat ca init [--name NAME] [--key-type T] [--permit NAME|CIDR]...\n"
	 "                    [--passphrase-file F | --no-passphrase] [--encrypt-intermediate]\n"
	 "                    [--force] [--json]\n"
	 "\n"
	 "Creates a root certificate (10 years) and an intermediate signed by it\n"
	 "(5 years, path length 0) in $MOAT_HOME/ca.  The root key is encrypted\n"
	 "(PKCS#8, scrypt + AES-256); the intermediate key signs day to day.\n"
	 "\n"
	 "  --name NAME             CA name shown in trust stores (default \"moat USER@HOST\")\n"
	 "  --key-type T            ec-p256 (default), ec-p384, rsa-2048, rsa-3072,\n"
	 "                          rsa-4096, ed25519 (ed25519 is not accepted by browsers)\n"
	 "  --permit NAME|CIDR      limit the CA to these names (RFC 5280 name constraints),\n"
	 "                          e.g. --permit .local --permit home.example\n"
	 "                          --permit 192.168.0.0/16.  Repeat as needed.  If you give\n"
	 "                          only names, no IP address can be certified, and the\n"
	 "                          other way round.  A stolen CA key then cannot mint\n"
	 "                          certificates for the rest of the internet.\n"
	 "  --passphrase-file F     read the root key's passphrase from the first line of F\n"
	 "                          (else MOAT_CA_PASSPHRASE, else a prompt)\n"
	 "  --no-passphrase         store the root key unencrypted (not recommended)\n"
	 "  --encrypt-intermediate  encrypt the intermediate key with the same passphrase;\n"
	 "                          every `moat issue` then asks for it\n"
	 "  --force                 replace an existing CA (the old one is kept as\n"
	 "                          $MOAT_HOME/ca.replaced-TIME)\n"
	 "  --json                  machine-readable output\n"},
	{"ca show", "Usage: moat ca show [--json]\n\nDescribes the CA: names, validity, fingerprints, constraints, key protection.\n"},
	{"ca list",
	 "Usage: moat ca list [--json]\n\nLists every certificate the CA issued: serial, names, status (valid,\n"
	 "revoked, expired) and days left.\n"},
	{"issue",
	 "Usage: moat issue NAME... [--key-type T] [--days N] [--client] [--out DIR]\n"
	 "                  [--p12] [--p12-passphrase-file F] [--passphrase-file F]\n"
	 "                  [--force] [--json]\n"
	 "\n"
	 "Issues a certificate for every NAME: DNS names (example.com, printer.local),\n"
	 "wildcards (*.example.com), IPv4 and IPv6 addresses.  Writes, in certbot's\n"
	 "layout, $MOAT_HOME/live/NAME/:\n"
	 "  privkey.pem    the private key (0600)\n"
	 "  cert.pem       the certificate alone\n"
	 "  chain.pem      the intermediate\n"
	 "  fullchain.pem  certificate + intermediate: the file your server must use\n"
	 "\n"
	 "  --key-type T            ec-p256 (default), ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519\n"
	 "  --days N                validity (default 397, at most 825: Apple's limit)\n"
	 "  --client                also allow TLS client authentication\n"
	 "  --out DIR               also write the files to DIR\n"
	 "  --p12                   also write cert.p12 (PKCS#12, for Windows, Android, Java);\n"
	 "                          passphrase from --p12-passphrase-file, MOAT_P12_PASSPHRASE\n"
	 "                          or a prompt\n"
	 "  --passphrase-file F     passphrase of an encrypted intermediate key\n"
	 "  --force                 replace an existing certificate for NAME\n"
	 "  --json                  machine-readable output\n"},
	{"csr",
	 "Usage: moat csr NAME... [--key-type T] [--out DIR] [--force] [--json]\n"
	 "\n"
	 "Makes a private key and a PKCS#10 certificate signing request with every NAME\n"
	 "in subjectAltName, for a third-party CA.  Writes DIR/NAME.key (0600) and\n"
	 "DIR/NAME.csr; DIR defaults to the current directory.\n"},
	{"sign",
	 "Usage: moat sign CSR [--days N] [--client] [--out DIR] [--passphrase-file F]\n"
	 "                 [--force] [--json]\n"
	 "\n"
	 "Signs an external CSR (PEM or DER) after verifying its signature and its\n"
	 "names.  A CSR with only a Common Name (as `openssl req -new` makes) gets that\n"
	 "name copied into subjectAltName, which browsers require.  Writes cert.pem,\n"
	 "chain.pem and fullchain.pem to $MOAT_HOME/live/NAME/ (and DIR with --out).\n"},
	{"revoke",
	 "Usage: moat revoke NAME|SERIAL|CERTFILE [--reason R] [--passphrase-file F] [--json]\n"
	 "\n"
	 "Revokes every valid certificate that matches and rewrites $MOAT_HOME/ca/crl.pem.\n"
	 "Reasons: unspecified (default), keyCompromise, affiliationChanged, superseded,\n"
	 "cessationOfOperation, privilegeWithdrawn.\n"},
	{"crl",
	 "Usage: moat crl [--out FILE] [--passphrase-file F] [--json]\n"
	 "\n"
	 "Writes a fresh CRL, signed by the intermediate and valid for 30 days, to\n"
	 "$MOAT_HOME/ca/crl.pem and to FILE.\n"},
	{"inspect",
	 "Usage: moat inspect FILE... [--json] [--decrypt] [--passphrase-file F]\n"
	 "\n"
	 "A concise reading of certificates, chains, CSRs, private keys and CRLs (PEM\n"
	 "or DER; - reads standard input): subject, names, issuer, validity and days\n"
	 "left, key type, key usage, SHA-256 fingerprint.  Chains are checked for\n"
	 "order; given a key and a certificate it says whether they belong together.\n"
	 "\n"
	 "  --decrypt            open encrypted keys (passphrase from --passphrase-file,\n"
	 "                       MOAT_CA_PASSPHRASE or the terminal), e.g. to check that\n"
	 "                       an offline root key and its passphrase still work:\n"
	 "                       moat inspect --decrypt root-key.pem root.pem\n"
	 "  --passphrase-file F  the first line of F is the passphrase (implies --decrypt)\n"},
	{"trust",
	 "Usage: moat trust install|uninstall|status|share|export ...\n"
	 "\n"
	 "  install    trust the root on this computer: system store, Firefox and\n"
	 "             Chromium (NSS), Java\n"
	 "  uninstall  remove exactly what install added\n"
	 "  status     where the root is trusted\n"
	 "  share      a page on the LAN (with a QR code) that phones open to get the root\n"
	 "  export     the root as PEM, DER or an Apple .mobileconfig file\n"
	 "\n"
	 "See `moat help trust install` and the others.\n"},
	{"fetch",
	 "Usage: moat fetch TARGET [--out FILE] [--servername NAME] [--connect-to ADDR]\n"
	 "                  [--timeout SECONDS] [--json]\n"
	 "\n"
	 "Connects to TARGET (https://HOST[:PORT][/PATH], HOST[:PORT] or [IPv6]:PORT;\n"
	 "port 443 by default) the way a browser does and saves the certificates the\n"
	 "server sends, exactly as sent: same order, nothing added, nothing verified.\n"
	 "A chain of one certificate is what webhook senders such as RingCentral\n"
	 "refuse (\"SUB-524 HTTPS certificate is not valid\"): the intermediate is missing.\n"
	 "\n"
	 "  --out FILE          write the PEM to FILE (default: standard output)\n"
	 "  --servername NAME   the name sent in SNI (default: HOST when it is a name)\n"
	 "  --connect-to ADDR   connect to ADDR instead of HOST's address (HOST is still\n"
	 "                      sent in SNI), e.g. a server not yet in DNS\n"
	 "  --timeout SECONDS   give up after this long (default 10)\n"
	 "  --json              subject, issuer, validity, fingerprint and PEM of each\n"
	 "                      certificate, the TLS version, cipher and key exchange\n"
	 "\n"
	 "A summary of the chain goes to stderr.  Exit status: 0 saved, 1 error (e.g. the\n"
	 "port speaks plain HTTP), 2 usage, 3 unreachable (name unknown, refused, timeout).\n"},
	{"trust install",
	 "Usage: moat trust install [--store system,nss,java|all] [--sysroot DIR]\n"
	 "                          [--nssdb DIR]... [--replace] [--json]\n"
	 "\n"
	 "Makes this computer trust the CA's root for TLS servers:\n"
	 "  system  the distribution's anchors, then its tool rebuilds the bundle that\n"
	 "          OpenSSL, curl, Python, Node... read (needs root):\n"
	 "            Debian, Ubuntu  /usr/local/share/ca-certificates + update-ca-certificates\n"
	 "            Fedora, RHEL    /etc/pki/ca-trust/source/anchors + update-ca-trust\n"
	 "            Arch            /etc/ca-certificates/trust-source/anchors + trust\n"
	 "  nss     Firefox profiles and Chromium/Chrome's ~/.pki/nssdb, with certutil\n"
	 "          (apt-get install libnss3-tools); trust \"C,,\"; ~/.pki/nssdb is created\n"
	 "          when a Chromium-family browser is installed; restart Firefox after\n"
	 "  java    the JDK's cacerts ($JAVA_HOME, or next to keytool), with keytool\n"
	 "\n"
	 "Every place is checked first (tools, permissions, conflicts); if one cannot\n"
	 "take the root nothing is changed, and if one fails half-way what this run\n"
	 "added is taken back.  Running it again changes nothing.  The report says per\n"
	 "place what was added, what was already there, and what was skipped and why.\n"
	 "\n"
	 "Without --store: every store found; one this user may not change is\n"
	 "skipped with the command to run as root.  With --store: a store that cannot\n"
	 "be changed is an error (and a store named one by one must exist).\n"
	 "\n"
	 "  --store LIST   system, nss, java or all (comma-separated)\n"
	 "  --sysroot DIR  the system and Java stores of the tree DIR instead of / (image\n"
	 "                 builds); Debian's bundle is rebuilt there, for Fedora and Arch\n"
	 "                 run their tool inside the image\n"
	 "  --nssdb DIR    also this NSS database (created when empty)\n"
	 "  --replace      replace another certificate that holds moat's name (the root\n"
	 "                 of an earlier `moat ca init --force`)\n"
	 "  --json         the report as JSON (see docs/trust.md)\n"
	 "\n"
	 "Exit status: 0 done, 1 something could not be installed, 2 usage.\n"},
	{"trust uninstall",
	 "Usage: moat trust uninstall [--store system,nss,java|all] [--sysroot DIR]\n"
	 "                            [--nssdb DIR]... [--json]\n"
	 "\n"
	 "Removes exactly what `moat trust install` added: only where the certificate\n"
	 "under moat's name is this CA's root; another certificate there is left alone.\n"
	 "Options as for install.  Exit status: 0 done (also when nothing was there),\n"
	 "1 something could not be removed, 2 usage.\n"},
	{"trust status",
	 "Usage: moat trust status [--store system,nss,java|all] [--sysroot DIR]\n"
	 "                         [--nssdb DIR]... [--json]\n"
	 "\n"
	 "Where the root is trusted: one line per place with its state -- trusted,\n"
	 "absent, pending (there but not in effect: bundle not rebuilt, NSS trust bits\n"
	 "off), conflict (another certificate holds moat's name), skipped (store or\n"
	 "tool not on this machine).\n"
	 "\n"
	 "Exit status: 0 trusted in every store found, 1 not (or an error), 2 usage.\n"},
	{"trust share",
	 "Usage: moat trust share [--listen ADDR:PORT] [--name HOST] [--timeout DURATION]\n"
	 "                        [--no-qr] [--json]\n"
	 "\n"
	 "Serves a small web page on the LAN from which phones and other computers\n"
	 "install the CA's root certificate, and prints its address with a QR code:\n"
	 "scan it with the phone's camera.  The page offers\n"
	 "  moat-root.mobileconfig  iPhone, iPad, Mac (configuration profile)\n"
	 "  moat-root.crt           Android, Windows (DER)\n"
	 "  moat-root.pem           Linux, Firefox, command-line tools (PEM)\n"
	 "with short install steps for iOS, Android, macOS, Windows, Linux and\n"
	 "Firefox, and the SHA-256 fingerprint to compare on the device.  Only the\n"
	 "public root is served, never a key.  Each request is logged on stderr.\n"
	 "It runs until Ctrl-C (or SIGTERM), or until --timeout; both exit 0.\n"
	 "\n"
	 "  --listen ADDR:PORT  where to listen: 192.168.1.5:8080, :8080, [::]:8080, or\n"
	 "                      a port alone (default: every address, port 8080; when\n"
	 "                      8080 is taken and no port was given, any free port)\n"
	 "  --name HOST         host name or IP address phones reach this machine at,\n"
	 "                      used in the URL and the QR code (default: the --listen\n"
	 "                      address, else this machine's first LAN IPv4 address;\n"
	 "                      the others are listed)\n"
	 "  --timeout DURATION  stop by itself after 90, 90s, 10m, 1h or 1h30m\n"
	 "  --no-qr             do not draw the QR code in the terminal\n"
	 "  --json              print {url, sha256, port, other_urls, files, timeout} on\n"
	 "                      stdout (the QR code then goes to stderr)\n"
	 "\n"
	 "The URL and the QR code go to stdout, the rest to stderr.  The page is plain\n"
	 "HTTP: anyone on the network can fetch the root, and could fake the page, so\n"
	 "compare the fingerprint the device shows with the one printed here.\n"
	 "\n"
	 "Examples:\n"
	 "  moat trust share --timeout 10m\n"
	 "  moat trust share --listen :8099 --name laptop.local\n"},
	{"trust export",
	 "Usage: moat trust export --format pem|der|mobileconfig --out FILE\n"
	 "\n"
	 "Writes the CA's root certificate for the devices that must trust it:\n"
	 "  pem           Linux, Windows, Firefox, curl --cacert, Node's NODE_EXTRA_CA_CERTS\n"
	 "  der           Android: Settings > Security > Encryption & credentials >\n"
	 "                Install a certificate > CA certificate\n"
	 "  mobileconfig  iPhone, iPad, Mac: open the profile, install it, then (iOS)\n"
	 "                Settings > General > About > Certificate Trust Settings\n"
	 "--out - writes to standard output.\n"},
};

int cli_help(const char *cmd, FILE *f)
{
	if (cmd == NULL) {
		fputs(overview, f);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (strcmp(helps[i].cmd, cmd) == 0) {
			fputs(helps[i].text, f);
			return CLI_OK;
		}
	}
	return cli_usage_error(NULL, "no help for unknown command \"%.40s\"", cmd);
}

int cli_cmd_help(int argc, char **argv)
{
	char cmd[64];

	if (argc <= 1)
		return cli_help(NULL, stdout);
	if (argc == 2)
		return cli_help(argv[1], stdout);
	snprintf(cmd, sizeof(cmd), "%s %s", argv[1], argv[2]);
	return cli_help(cmd, stdout);
}
