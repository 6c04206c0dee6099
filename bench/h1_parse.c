/* h1_parse.c: the cost of parsing one HTTP/1.1 head with src/net/h1.c --
 * a browser's request (459 bytes, 12 fields) and an upstream's response
 * (299 bytes, 8 fields) -- counted in instructions by callgrind (noise-free;
 * this machine has no hardware counters).
 *
 *   cc -std=c17 -O2 -g -D_GNU_SOURCE -Isrc bench/h1_parse.c src/net/h1.c -o /tmp/h1_parse
 *   valgrind --tool=callgrind --toggle-collect='net_h1_parse_*' \
 *     --callgrind-out-file=/tmp/h1.req.cg /tmp/h1_parse req 10000
 *   callgrind_annotate /tmp/h1.req.cg | grep 'PROGRAM TOTALS'
 *
 * and the same with "resp".  Only the parse calls are counted (the toggle),
 * not net_h1_msg_reset; divide the total by N for instructions per head.
 * An optional third argument PIECE feeds the head PIECE bytes more per call
 * (1: a byte per read, the incremental path); 0 or absent: all at once.
 * It exits non-zero if a parse does not return NET_H1_DONE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/h1.h"

static const char request[] =
	"GET /assets/js/app.min.js?v=20261207 HTTP/1.1\r\n"
	"Host: www.example.com\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n"
	"Accept: */*\r\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate, br, zstd\r\n"
	"Referer: https://www.example.com/\r\n"
	"Connection: keep-alive\r\n"
	"Cookie: session=4f2a9c1e7b3d8a60; theme=dark\r\n"
	"Sec-Fetch-Dest: script\r\n"
	"Sec-Fetch-Mode: no-cors\r\n"
	"Sec-Fetch-Site: same-origin\r\n"
	"If-None-Match: \"5f3c-62b1a7e4\"\r\n"
	"\r\n";

static const char response[] =
	"HTTP/1.1 200 OK\r\n"
	"Server: nginx/1.26.2\r\n"
	"Date: Mon, 07 Dec 2026 19:20:00 GMT\r\n"
	"Content-Type: application/javascript; charset=utf-8\r\n"
	"Content-Length: 24380\r\n"
	"Last-Modified: Fri, 04 Dec 2026 10:02:41 GMT\r\n"
	"Connection: keep-alive\r\n"
	"ETag: \"5f3c-62b1a7e4\"\r\n"
	"Cache-Control: public, max-age=31536000, immutable\r\n"
	"\r\n";

int main(int argc, char **argv)
{
	static struct net_h1_msg m;
	bool resp;
	const char *head;
	size_t len, piece;
	long n;

	if (argc < 3 || (strcmp(argv[1], "req") != 0 && strcmp(argv[1], "resp") != 0)) {
		fprintf(stderr, "usage: %s req|resp N [PIECE]\n", argv[0]);
		return 2;
	}
	resp = strcmp(argv[1], "resp") == 0;
	head = resp ? response : request;
	len = resp ? sizeof(response) - 1 : sizeof(request) - 1;
	n = atol(argv[2]);
	piece = argc > 3 ? (size_t)atol(argv[3]) : 0;
	if (piece == 0)
		piece = len;
	for (long i = 0; i < n; i++) {
		enum net_h1_result r = NET_H1_MORE;

		net_h1_msg_reset(&m);
		for (size_t k = 0; r == NET_H1_MORE && k < len;) {
			k = len - k > piece ? k + piece : len;
			r = resp ? net_h1_parse_response(head, k, NET_H1_MAX_HEAD, "GET", 3, &m)
				 : net_h1_parse_request(head, k, NET_H1_MAX_HEAD, &m);
		}
		if (r != NET_H1_DONE || m.head_len != len) {
			fprintf(stderr, "%s: parse failed (status %d)\n", argv[1], m.status);
			return 1;
		}
	}
	printf("%s: %zu bytes, %zu fields, %ld parses\n", argv[1], len, m.nfields, n);
	return 0;
}
