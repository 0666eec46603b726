/* netaddr.c - see netaddr.h. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

socklen_t netaddr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

char *netaddr_ip(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
	const char *ok = NULL;

	if (sa->sa_family == AF_INET)
		ok = inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)len);
	/* A client of a dual-stack socket: show it as the IPv4 client it is. */
	else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		ok = inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		ok = inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)len);
	if (!ok)
		snprintf(buf, len, "?");
	return buf;
}

char *netaddr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
	char ip[INET6_ADDRSTRLEN];

	/* The family as it is (a v4-mapped address stays IPv6), so that the
	 * text parses back to the same endpoint. */
	if (sa->sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
			snprintf(ip, sizeof(ip), "?");
		snprintf(buf, len, "[%s]:%u", ip, netaddr_port(sa));
		return buf;
	}
	snprintf(buf, len, "%s:%u", netaddr_ip(sa, ip, sizeof(ip)), netaddr_port(sa));
	return buf;
}

bool netaddr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port && a6->sin6_scope_id == b6->sin6_scope_id &&
		       memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return false;
}

bool netaddr_is_any(const struct sockaddr *sa)
{
	const struct sockaddr_in *in = (const void *)sa;
	const struct sockaddr_in6 *in6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return in->sin_addr.s_addr == htonl(INADDR_ANY);
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
}

unsigned netaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}
