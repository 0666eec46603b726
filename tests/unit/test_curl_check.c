/* test_curl_check.c - the libcurl helpers health.c and agent_check.c share:
 * the status classification and the options of a check. */
#include <criterion/criterion.h>

#include <curl/curl.h>

#include "curl_check.h"

Test(curl_check, status_ok_is_2xx_and_3xx)
{
	cr_assert_not(curl_check_status_ok(0));
	cr_assert_not(curl_check_status_ok(199));
	cr_assert(curl_check_status_ok(200));
	cr_assert(curl_check_status_ok(302));
	cr_assert(curl_check_status_ok(399));
	cr_assert_not(curl_check_status_ok(400));
	cr_assert_not(curl_check_status_ok(503));
}

Test(curl_check, setup_on_a_fresh_handle)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *h;
	CURL *e;

	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	e = curl_easy_init();
	h = curl_slist_append(NULL, "Connection: close");
	cr_assert_not_null(e);
	cr_assert_not_null(h);
	cr_assert_eq(curl_check_setup(e, "http://127.0.0.1:9/", errbuf, "http,https", 500),
		     CURLE_OK);
	cr_assert_eq(curl_check_setup_http(e, "test/1", h, NULL, NULL), CURLE_OK);
	/* An unknown protocol is refused, and the error comes back. */
	cr_assert_neq(curl_check_setup(e, "http://127.0.0.1:9/", errbuf, "gopher-nope", 500),
		      CURLE_OK);
	cr_assert_eq(curl_check_duration_ms(e), 0);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	curl_global_cleanup();
}
