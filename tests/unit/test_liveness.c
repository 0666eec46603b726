/* test_liveness.c - the fast liveness rules (ha/liveness.h): missed
 * intervals, the path states, the early-takeover gate, the codec. */
#include <criterion/criterion.h>
#include <errno.h>

#include "liveness.h"

/* n packets every ivl ms from t0; returns the time of the last one. */
static uint64_t feed(struct liveness_path *p, uint64_t t0, uint32_t ivl, int n)
{
	uint64_t t = t0;

	for (int i = 0; i < n; i++) {
		t = t0 + (uint64_t)i * ivl;
		liveness_path_rx(p, t, ivl);
	}
	return t;
}

Test(liveness, detection_is_three_intervals)
{
	struct liveness_path p = { .state = LIVE_DOWN };

	feed(&p, 1000, 20, 1);
	cr_assert_eq(liveness_detect_ms(&p), 60);
	cr_assert_eq(liveness_path_deadline(&p), 1060);
}

Test(liveness, up_after_ten_in_a_row)
{
	struct liveness_path p = { .state = LIVE_DOWN };

	feed(&p, 1000, 20, LIVENESS_UP_MIN - 1);
	cr_assert_eq(p.state, LIVE_INIT);
	liveness_path_rx(&p, 1000 + 20 * (LIVENESS_UP_MIN - 1), 20);
	cr_assert_eq(p.state, LIVE_UP);
	cr_assert_eq(p.rx, LIVENESS_UP_MIN);
}

/* A gap of the detection time or more restarts the count: the path is
 * not UP again until LIVENESS_UP_MIN packets follow in time. */
Test(liveness, a_gap_restarts_the_count)
{
	struct liveness_path p = { .state = LIVE_DOWN };
	uint64_t t = feed(&p, 1000, 20, 5);

	liveness_path_rx(&p, t + 60, 20); /* 3 intervals: too late */
	cr_assert_eq(p.run, 1);
	cr_assert_eq(p.state, LIVE_INIT);
}

/* Two lost packets in a row (40 ms of silence) are not a silence; the
 * third missed interval is. */
Test(liveness, two_missed_are_not_a_silence_three_are)
{
	struct liveness_path p = { .state = LIVE_DOWN };
	uint64_t t = feed(&p, 1000, 20, 20);

	cr_assert_eq(p.state, LIVE_UP);
	cr_assert_not(liveness_path_expire(&p, t + 40));
	cr_assert_not(liveness_path_expire(&p, t + 59));
	cr_assert_eq(p.state, LIVE_UP);
	liveness_path_rx(&p, t + 59, 20); /* the third came, just in time */
	cr_assert_eq(p.state, LIVE_UP);
	cr_assert(liveness_path_expire(&p, t + 59 + 60));
	cr_assert_eq(p.state, LIVE_DOWN);
	cr_assert_eq(p.downs, 1);
	cr_assert_not(liveness_path_expire(&p, t + 500)); /* once per silence */
	cr_assert_eq(liveness_path_deadline(&p), 0);
}

/* A path that was only INIT goes DOWN without counting a silence: it
 * never proved it works, so its silence says nothing. */
Test(liveness, an_init_path_is_no_silence)
{
	struct liveness_path p = { .state = LIVE_DOWN };
	uint64_t t = feed(&p, 1000, 20, 3);

	cr_assert_not(liveness_path_expire(&p, t + 100));
	cr_assert_eq(p.state, LIVE_DOWN);
	cr_assert_eq(p.downs, 0);
}

/* The sender's interval, not ours, sets its detection time. */
Test(liveness, the_senders_interval_counts)
{
	struct liveness_path p = { .state = LIVE_DOWN };
	uint64_t t = feed(&p, 1000, 50, 12);

	cr_assert_eq(liveness_detect_ms(&p), 150);
	cr_assert_not(liveness_path_expire(&p, t + 149));
	cr_assert(liveness_path_expire(&p, t + 150));
}

static struct liveness_gate ready_gate(void)
{
	return (struct liveness_gate){ .backup = true,
				       .link_up = true,
				       .successor = true,
				       .have_state = true,
				       .was_up = true,
				       .silent_ms = 60,
				       .detect_ms = 60,
				       .advert_age_ms = 120,
				       .master_adver_interval_ms = 100,
				       .liveness_interval_ms = 20 };
}

Test(liveness, gate_all_true_confirms)
{
	struct liveness_gate g = ready_gate();

	cr_assert_eq(liveness_judge(&g), LIVE_CONFIRM);
}

Test(liveness, gate_not_silent_keeps)
{
	struct liveness_gate g = ready_gate();

	g.silent_ms = 59;
	cr_assert_eq(liveness_judge(&g), LIVE_KEEP);
}

/* Each rule alone stops an early move. */
Test(liveness, gate_every_rule_counts)
{
	struct liveness_gate g;

	g = ready_gate();
	g.link_up = false; /* our own link is down: FAULT, never a takeover */
	cr_assert_eq(liveness_judge(&g), LIVE_NOT_OURS);
	g = ready_gate();
	g.backup = false;
	cr_assert_eq(liveness_judge(&g), LIVE_NOT_OURS);
	g = ready_gate();
	g.successor = false; /* other backups keep the RFC timing */
	cr_assert_eq(liveness_judge(&g), LIVE_NOT_OURS);
	g = ready_gate();
	g.have_state = false;
	cr_assert_eq(liveness_judge(&g), LIVE_NOT_OURS);
	g = ready_gate();
	g.was_up = false; /* a path that never worked (a MASTER without liveness) */
	cr_assert_eq(liveness_judge(&g), LIVE_NOT_OURS);
}

/* No advert may have come during the silence: with 20 ms liveness,
 * 60 ms since the last advert too. */
Test(liveness, gate_waits_until_the_adverts_are_missed_too)
{
	struct liveness_gate g = ready_gate();

	cr_assert_eq(liveness_advert_due_ms(&g), 60);
	g.advert_age_ms = 59; /* an advert came 59 ms ago: it lives */
	cr_assert_eq(liveness_judge(&g), LIVE_WAIT_ADVERT);
	g.advert_age_ms = 60;
	cr_assert_eq(liveness_judge(&g), LIVE_CONFIRM);
	g.advert_age_ms = UINT64_MAX; /* never heard one */
	cr_assert_eq(liveness_judge(&g), LIVE_CONFIRM);
	g.silent_ms = 200; /* a long silence: the advert gate is still the detection time */
	g.advert_age_ms = 30;
	cr_assert_eq(liveness_judge(&g), LIVE_WAIT_ADVERT);
}

Test(liveness, codec_round_trip)
{
	struct liveness_msg m = { .interval_ms = 20,
				  .role = LIVENESS_ROLE_MASTER,
				  .heard = LIVE_UP },
			    out;
	uint8_t buf[16];

	cr_assert_eq(liveness_encode(&m, buf, sizeof(buf)), LIVENESS_PAYLOAD_LEN);
	cr_assert_eq(buf[0], 0);
	cr_assert_eq(buf[3], 20); /* big-endian */
	cr_assert_eq(liveness_decode(buf, LIVENESS_PAYLOAD_LEN, &out), 0);
	cr_assert_eq(out.interval_ms, 20);
	cr_assert_eq(out.role, LIVENESS_ROLE_MASTER);
	cr_assert_eq(out.heard, LIVE_UP);
}

Test(liveness, codec_rejects)
{
	struct liveness_msg m = { .interval_ms = 20, .role = LIVENESS_ROLE_BACKUP }, out;
	uint8_t buf[16];

	cr_assert_eq(liveness_encode(&m, buf, 7), -ENOSPC);
	liveness_encode(&m, buf, sizeof(buf));
	cr_assert_eq(liveness_decode(buf, 7, &out), -EINVAL);
	cr_assert_eq(liveness_decode(buf, 9, &out), -EINVAL);
	buf[4] = 3; /* no such role */
	cr_assert_eq(liveness_decode(buf, 8, &out), -EINVAL);
	buf[4] = LIVENESS_ROLE_BACKUP;
	buf[0] = buf[1] = buf[2] = buf[3] = 0; /* interval 0 */
	cr_assert_eq(liveness_decode(buf, 8, &out), -EINVAL);
	buf[3] = 20;
	buf[5] = 200; /* unknown state word: read as off, not trusted */
	cr_assert_eq(liveness_decode(buf, 8, &out), 0);
	cr_assert_eq(out.heard, LIVE_OFF);
}

Test(liveness, state_names)
{
	cr_assert_str_eq(liveness_state_name(LIVE_OFF), "off");
	cr_assert_str_eq(liveness_state_name(LIVE_DOWN), "down");
	cr_assert_str_eq(liveness_state_name(LIVE_INIT), "init");
	cr_assert_str_eq(liveness_state_name(LIVE_UP), "up");
}

/* A reset after the SYN-ACK (a listener whose process died with our SYN
 * in its backlog) is the kernel answering that the process is gone, like
 * a refusal; only errors that carry no packet from it are no answer. */
Test(liveness, syn_outcome_reads_resets_as_gone)
{
	cr_assert_eq(liveness_syn_outcome(0), LIVE_SYN_ALIVE);
	cr_assert_eq(liveness_syn_outcome(ECONNREFUSED), LIVE_SYN_GONE);
	cr_assert_eq(liveness_syn_outcome(ECONNRESET), LIVE_SYN_GONE);
	cr_assert_eq(liveness_syn_outcome(EHOSTUNREACH), LIVE_SYN_NO_ANSWER);
	cr_assert_eq(liveness_syn_outcome(ENETUNREACH), LIVE_SYN_NO_ANSWER);
	cr_assert_eq(liveness_syn_outcome(ETIMEDOUT), LIVE_SYN_NO_ANSWER);
}
