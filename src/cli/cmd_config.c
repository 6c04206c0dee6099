/* cmd_config.c: moat config apache|nginx|haproxy NAME -- a server
 * configuration snippet that puts TLS in front of an application with a
 * lineage's certificate: TLS 1.2 and 1.3 only, the full chain (webhook
 * senders such as RingCentral refuse servers that send the leaf alone),
 * the key, and the headers a proxied application needs. */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

struct target {
	char host[256]; /* host:port of the upstream, for haproxy */
	char url[600];  /* as given, without a trailing slash */
};

/* http://HOST[:PORT][/] only: the snippets proxy plain HTTP to a local app. */
static int parse_upstream(const char *u, struct target *t)
{
	const char *h;
	size_t n;

	if (strncmp(u, "http://", 7) != 0 || strlen(u) >= sizeof(t->url) ||
	    strpbrk(u, " \t\r\n\"';{}") != NULL)
		return -1;
	h = u + 7;
	n = strcspn(h, "/");
	if (n == 0 || n >= sizeof(t->host) || (h[n] != '\0' && strcmp(h + n, "/") != 0))
		return -1;
	memcpy(t->host, h, n);
	t->host[n] = '\0';
	if (strchr(t->host, ':') == NULL || t->host[0] == '[') {
		/* haproxy needs the port spelled out */
		if (strlen(t->host) + 3 >= sizeof(t->host))
			return -1;
		strcat(t->host, ":80");
	}
	snprintf(t->url, sizeof(t->url), "http://%.*s", (int)n, h);
	return 0;
}

static void nginx(const char *name, const char *live, const struct target *t, const char *addr,
		  int port)
{
	printf("# moat config nginx %s: TLS for %s in front of %s.\n"
	       "# Put it in /etc/nginx/sites-available/, link it into sites-enabled/,\n"
	       "# then `nginx -t && systemctl reload nginx` (and after every renewal:\n"
	       "# moat acme issue/renew --deploy-hook \"systemctl reload nginx\").\n"
	       "server {\n",
	       name, name, t->url);
	if (addr != NULL)
		printf("    listen %s:%d ssl;\n", addr, port);
	else
		printf("    listen %d ssl;\n    listen [::]:%d ssl;\n", port, port);
	printf("    server_name %s;\n\n"
	       "    ssl_certificate     %s/fullchain.pem;   # certificate + chain\n"
	       "    ssl_certificate_key %s/privkey.pem;\n"
	       "    ssl_protocols       TLSv1.2 TLSv1.3;\n"
	       "    ssl_prefer_server_ciphers off;\n"
	       "    ssl_session_tickets off;\n\n"
	       "    location / {\n"
	       "        proxy_pass %s;\n"
	       "        proxy_http_version 1.1;\n"
	       "        proxy_set_header Host $host;\n"
	       "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
	       "        proxy_set_header X-Forwarded-Proto https;\n"
	       "        proxy_set_header Upgrade $http_upgrade;       # WebSockets (Rocket.Chat)\n"
	       "        proxy_set_header Connection \"upgrade\";\n"
	       "    }\n"
	       "}\n",
	       name, live, live, t->url);
}

static void apache(const char *name, const char *live, const struct target *t, const char *addr,
		   int port)
{
	printf("# moat config apache %s: TLS for %s in front of %s.\n"
	       "# Needs: a2enmod ssl proxy proxy_http proxy_wstunnel headers; put it in\n"
	       "# /etc/apache2/sites-available/%s.conf, a2ensite %s, systemctl reload apache2.\n",
	       name, name, t->url, name, name);
	if (port != 443)
		printf("Listen %s%s%d\n", addr ? addr : "", addr ? ":" : "", port);
	printf("<VirtualHost %s:%d>\n"
	       "    ServerName %s\n"
	       "    SSLEngine on\n"
	       "    SSLCertificateFile    %s/fullchain.pem\n"
	       "    SSLCertificateKeyFile %s/privkey.pem\n"
	       "    SSLProtocol -all +TLSv1.2 +TLSv1.3\n"
	       "    SSLSessionTickets off\n"
	       "    ProxyPreserveHost On\n"
	       "    ProxyPass        / %s/ upgrade=websocket\n"
	       "    ProxyPassReverse / %s/\n"
	       "    RequestHeader set X-Forwarded-Proto \"https\"\n"
	       "</VirtualHost>\n",
	       addr ? addr : "*", port, name, live, live, t->url, t->url);
}

static void haproxy(const char *name, const char *live, const struct target *t,
		    const char *addr, int port)
{
	printf("# moat config haproxy %s: TLS for %s in front of %s.\n"
	       "# HAProxy reads the key from fullchain.pem.key beside the certificate: moat\n"
	       "# made that a link to privkey.pem, so renewals need only a reload.\n"
	       "frontend moat_%s\n"
	       "    mode http\n"
	       "    bind %s:%d ssl crt %s/fullchain.pem ssl-min-ver TLSv1.2\n"
	       "    http-request set-header X-Forwarded-Proto https\n"
	       "    default_backend moat_%s_app\n\n"
	       "backend moat_%s_app\n"
	       "    mode http\n"
	       "    server app %s\n",
	       name, name, t->url, name, addr ? addr : "", port, live, name, name, t->host);
}

int cli_cmd_config(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"upstream", required_argument, NULL, 'u'},
		{"listen", required_argument, NULL, 'l'},
		{"address", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	const char *upstream = "http://127.0.0.1:3000", *addr = NULL, *server, *name;
	char home[PATH_MAX], live[PATH_MAX + 300], probe[PATH_MAX + 340], link[PATH_MAX + 340];
	char addr_buf[INET6_ADDRSTRLEN + 2];
	struct target t;
	struct moat_err err;
	uint16_t port = 443;
	int c;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'u': upstream = optarg; break;
		case 'l':
			if (cli_opt_port("config", "--listen", optarg, false, &port) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'a': {
			unsigned char ip[16];

			if (strlen(optarg) + 3 > sizeof(addr_buf) ||
			    (inet_pton(AF_INET, optarg, ip) != 1 && inet_pton(AF_INET6, optarg, ip) != 1))
				return cli_usage_error("config", "--address takes an IP address");
			/* The three servers read [IPv6]:PORT, not IPv6:PORT. */
			snprintf(addr_buf, sizeof(addr_buf), strchr(optarg, ':') ? "[%s]" : "%s", optarg);
			addr = addr_buf;
			break;
		}
		default: return cli_bad_option("config", c, argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("config", "e.g. moat config nginx chat.example.com");
	server = argv[optind];
	name = argv[optind + 1];
	if (strcmp(server, "nginx") != 0 && strcmp(server, "apache") != 0 &&
	    strcmp(server, "haproxy") != 0)
		return cli_usage_error("config", "which server? apache, nginx or haproxy");
	if (parse_upstream(upstream, &t) != 0)
		return cli_usage_error("config", "--upstream takes http://HOST[:PORT] (the application)");
	if (strchr(name, '/') != NULL || name[0] == '.' || strpbrk(name, " \t\r\n;{}\"'") != NULL)
		return cli_usage_error("config", "not a certificate name: %.60s", name);
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	snprintf(live, sizeof(live), "%s/live/%s", home, name);
	snprintf(probe, sizeof(probe), "%s/fullchain.pem", live);
	if (!moat_file_exists(probe)) {
		moat_err_set(&err, "there is no certificate named %s in %s/live", name, home);
		moat_err_hint(&err, "get one first: moat issue %s (private CA) or moat acme issue %s",
			      name, name);
		return cli_fail(&err);
	}
	if (strcmp(server, "haproxy") == 0) {
		snprintf(link, sizeof(link), "%s/fullchain.pem.key", live);
		if (!moat_file_exists(link) && symlink("privkey.pem", link) != 0) {
			moat_err_errno(&err, errno, "cannot create %s for HAProxy", link);
			return cli_fail(&err);
		}
		haproxy(name, live, &t, addr, (int)port);
	} else if (strcmp(server, "nginx") == 0) {
		nginx(name, live, &t, addr, (int)port);
	} else {
		apache(name, live, &t, addr, (int)port);
	}
	return CLI_OK;
}
