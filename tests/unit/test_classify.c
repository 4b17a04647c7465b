/* Unit tests of failure classification (architecture.md's table). */
#include <string.h>

#include "gw_classify.h"
#include "gw_up_curl.h"
#include "unit.h"

#define BODY(s) s, strlen(s)

int main(void)
{
    CHECK(gw_classify_http(200, NULL, 0) == FAIL_NONE);
    CHECK(gw_classify_http(429, BODY("{\"error\":{\"code\":\"rate_limit_exceeded\"}}")) == FAIL_RATE_LIMIT);
    CHECK(gw_classify_http(429, BODY("{\"error\":{\"type\":\"insufficient_quota\"}}")) == FAIL_QUOTA);
    CHECK(gw_classify_http(402, NULL, 0) == FAIL_QUOTA);
    CHECK(gw_classify_http(401, NULL, 0) == FAIL_AUTH);
    CHECK(gw_classify_http(403, NULL, 0) == FAIL_AUTH);
    CHECK(gw_classify_http(404, NULL, 0) == FAIL_NOT_FOUND);
    CHECK(gw_classify_http(400, BODY("{\"error\":{\"code\":\"context_length_exceeded\"}}")) == FAIL_CONTEXT);
    CHECK(gw_classify_http(400, BODY("{\"error\":{\"code\":\"invalid_value\"}}")) == FAIL_CLIENT);
    CHECK(gw_classify_http(413, NULL, 0) == FAIL_CLIENT);
    CHECK(gw_classify_http(422, NULL, 0) == FAIL_CLIENT);
    int server[] = { 500, 502, 503, 504, 529, 408, 409 };
    for (size_t i = 0; i < sizeof server / sizeof server[0]; i++)
        CHECK(gw_classify_http(server[i], NULL, 0) == FAIL_SERVER);
    CHECK(gw_classify_http(302, NULL, 0) == FAIL_BAD_RESPONSE);

    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_OK), true, true) == FAIL_NONE);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_COULDNT_CONNECT), false, false) == FAIL_CONNECT);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_COULDNT_RESOLVE_HOST), false, false) == FAIL_DNS);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_OPERATION_TIMEDOUT), false, false) == FAIL_CONNECT_TIMEOUT);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_SSL_CONNECT_ERROR), true, false) == FAIL_TLS);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_RECV_ERROR), true, false) == FAIL_CONNECT);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_GOT_NOTHING), true, false) == FAIL_CONNECT);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_PARTIAL_FILE), true, true) == FAIL_STREAM_CUT);
    CHECK(gw_classify_xfer(gw_up_curl_rc(CURLE_OPERATION_TIMEDOUT), true, false) == FAIL_FIRST_TOKEN_TIMEOUT);
    for (int c = 0; c < FAIL__COUNT; c++)
        CHECK(strcmp(fail_class_name(c), "unknown") != 0);
    CHECK(strcmp(fail_class_name(FAIL__COUNT), "unknown") == 0);
    UNIT_END("classify");
}
