/* msgtool.c - send hostile or stale sync/registration datagrams, for the
 * tests that check they change nothing and are counted.
 *
 *   msgtool ADDR PORT KEYFILE KIND MODE [SENDER_IP]
 *     KIND: announce (registration port) | delta (sync port)
 *     MODE: wrongkey   - a well-formed message under a random key
 *           truncated  - a valid message cut in half
 *           replay     - valid, but with sequence 1 from SENDER_IP (a sender
 *                        the receiver knows, with higher sequences)
 *           garbage    - random bytes
 *           valid      - a valid message (controls that the path works)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "regmsg.h"
#include "sync_codec.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int payload(const char *kind, uint8_t *out, size_t cap, uint8_t *type)
{
	if (!strcmp(kind, "announce")) {
		struct regmsg_announce a = { .name = "intruder", .port = 80, .weight = 1, .interval_ms = 1000 };

		inet_pton(AF_INET, "198.18.0.99", &a.addr);
		*type = MSG_ANNOUNCE;
		return regmsg_encode_announce(&a, out, cap);
	}
	if (!strcmp(kind, "delta")) {
		struct sync_delta d = { .state_seq = 1000000, .op = SYNC_OP_UPSERT,
					.srv = { .name = "intruder", .port = 80, .weight = 1, .up = true } };

		inet_pton(AF_INET, "198.18.0.99", &d.srv.addr);
		*type = MSG_DELTA;
		return sync_delta_encode(&d, out, cap);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t body[MSG_MAX_PAYLOAD], buf[MSG_MAX_LEN];
	struct msg_key key, bad;
	char err[256];
	uint8_t type = 0;
	uint32_t sender = 0;
	uint64_t seq = 0;
	int plen, len, fd;

	if (argc < 6 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: msgtool ADDR PORT KEYFILE announce|delta wrongkey|truncated|replay|garbage|valid [SENDER_IP]\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	if (msg_key_load(argv[3], &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "msgtool: %s\n", err);
		return 2;
	}
	if (argc > 6)
		inet_pton(AF_INET, argv[6], &sender);
	plen = payload(argv[4], body, sizeof(body), &type);
	if (plen < 0)
		return 2;
	seq = msg_next_seq(&seq);
	if (!strcmp(argv[5], "wrongkey")) {
		bad.len = 32;
		getrandom(bad.bytes, bad.len, 0);
		len = msg_encode(&bad, type, sender, seq, wall_ms(), body, (size_t)plen, buf, sizeof(buf));
	} else if (!strcmp(argv[5], "replay")) {
		len = msg_encode(&key, type, sender, 1, wall_ms(), body, (size_t)plen, buf, sizeof(buf));
	} else if (!strcmp(argv[5], "garbage")) {
		len = 200;
		getrandom(buf, (size_t)len, 0);
	} else {
		len = msg_encode(&key, type, sender, seq, wall_ms(), body, (size_t)plen, buf, sizeof(buf));
		if (!strcmp(argv[5], "truncated"))
			len /= 2;
		else if (strcmp(argv[5], "valid"))
			return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (len < 0 || fd < 0 || sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) != len) {
		perror("msgtool: send");
		return 1;
	}
	return 0;
}
