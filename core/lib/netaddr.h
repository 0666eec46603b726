/* netaddr.h - socket addresses of either family (IPv4, IPv6) as the rooms
 * print, compare and size them.  Pure functions on struct sockaddr; no
 * sockets are opened here.  Text forms are the ones operators write:
 * "198.18.0.21:80" and "[2001:db8:18::21]:80" (RFC 3986 brackets). */
#ifndef ANDROMEDA_NETADDR_H
#define ANDROMEDA_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for the longest address with brackets and port, and its NUL. */
#define NETADDR_TEXT_MAX (INET6_ADDRSTRLEN + 8)

/* The length of sa's address for bind/connect/sendto: sizeof the
 * family's struct, 0 for a family that is neither AF_INET nor AF_INET6. */
socklen_t netaddr_len(const struct sockaddr *sa);

/* The address alone ("198.18.0.21", "2001:db8:18::21") into buf; an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) prints as the IPv4 one it is.
 * "?" for an unknown family.  Returns buf. */
char *netaddr_ip(const struct sockaddr *sa, char *buf, size_t len);

/* Address and port ("198.18.0.21:80", "[2001:db8:18::21]:80"; a
 * v4-mapped address stays "[::ffff:a.b.c.d]:port", so the text parses back
 * to the same endpoint).  Returns buf. */
char *netaddr_text(const struct sockaddr *sa, char *buf, size_t len);

/* Same family, address and port (the padding and IPv6 flow info aside;
 * the scope id counts). */
bool netaddr_same(const struct sockaddr *a, const struct sockaddr *b);

/* The wildcard address of its family (0.0.0.0 or ::). */
bool netaddr_is_any(const struct sockaddr *sa);

/* The port, host order; 0 for an unknown family. */
unsigned netaddr_port(const struct sockaddr *sa);

#endif
