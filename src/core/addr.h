/* addr.h: socket addresses as text, for logs, request records and
 * messages -- written the same way by every server in moat. */
#ifndef MOAT_CORE_ADDR_H
#define MOAT_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* Room for any moat_addr_text: "[" IPv6 "]:65535" and the NUL. */
#define MOAT_ADDR_TEXT_MAX 56

/* sa (borrowed; AF_INET or AF_INET6) as "192.0.2.1" or "2001:db8::1", and
 * with_port as "192.0.2.1:443" or "[2001:db8::1]:443".  An IPv4 address
 * mapped into IPv6 (the IPv4 peer of a dual-stack socket, ::ffff:192.0.2.1)
 * is written as the IPv4 address it is.  0, or -1 with out "" (when n > 0)
 * for another family or an out of fewer than the n the text needs. */
int moat_addr_text(const struct sockaddr *sa, char *out, size_t n, bool with_port);

#endif
