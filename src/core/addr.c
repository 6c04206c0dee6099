/* addr.c: socket addresses as text (addr.h). */
#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int moat_addr_text(const struct sockaddr *sa, char *out, size_t n, bool with_port)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	bool v6 = false;
	int r;

	if (n == 0)
		return -1;
	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in a;

		memcpy(&a, sa, sizeof(a));
		if (inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip)) == NULL)
			return -1;
		port = ntohs(a.sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 a;

		memcpy(&a, sa, sizeof(a));
		if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
			if (inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], ip, sizeof(ip)) == NULL)
				return -1;
		} else {
			if (inet_ntop(AF_INET6, &a.sin6_addr, ip, sizeof(ip)) == NULL)
				return -1;
			v6 = true;
		}
		port = ntohs(a.sin6_port);
	} else {
		return -1;
	}
	if (with_port)
		r = snprintf(out, n, v6 ? "[%s]:%u" : "%s:%u", ip, port);
	else
		r = snprintf(out, n, "%s", ip);
	if (r < 0 || (size_t)r >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
