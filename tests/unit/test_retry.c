/* Unit tests of Retry-After parsing: delta seconds, HTTP dates, ms. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "unit.h"

int main(void)
{
    CHECK(gw_retry_after_ms(NULL, NULL) == -1);
    CHECK(gw_retry_after_ms("", "") == -1);
    CHECK(gw_retry_after_ms("2", NULL) == 2000);
    CHECK(gw_retry_after_ms("0", NULL) == 0);
    CHECK(gw_retry_after_ms("-1", NULL) == -1);
    CHECK(gw_retry_after_ms("soon", NULL) == -1);
    CHECK(gw_retry_after_ms("2", "350") == 350);        /* ms wins */
    CHECK(gw_retry_after_ms("2", "12.5") == 12);
    CHECK(gw_retry_after_ms("7", "abc") == 7000);       /* bad ms: fall back */
    /* An HTTP date 30 s ahead, and one in the past. */
    char date[64];
    time_t t = time(NULL) + 30;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    long ms = gw_retry_after_ms(date, NULL);
    CHECK(ms >= 28000 && ms <= 31000);
    CHECK(gw_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL) == 0);
    UNIT_END("retry");
}
