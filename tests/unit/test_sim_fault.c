/*
 * Unit tests for the simulated provider's fault-spec parser.
 *
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Itests/simprov \
 *       tests/unit/test_sim_fault.c tests/simprov/sim_fault.c -o /tmp/t
 *
 * Last line of output: "sim_fault: N passed, N failed, N skipped" (unit.h).
 */
#include <stdio.h>
#include <string.h>

#include "sim_fault.h"
#include "unit.h"


static struct sim_fault f;
static struct sim_fault_error err;

static int ok(const char *spec)
{
	return sim_fault_parse(spec, SIM_FAULT_FROM_SERVER, &f, &err) == 0;
}

static int ok_header(const char *spec)
{
	return sim_fault_parse(spec, SIM_FAULT_FROM_HEADER, &f, &err) == 0;
}

/* The spec must be rejected, and the error must name `key` (if given) both
 * in the key field and in the message. */
static int rejects(const char *spec, const char *key)
{
	if (sim_fault_parse(spec, SIM_FAULT_FROM_SERVER, &f, &err) == 0) {
		fprintf(stderr, "  accepted: '%s'\n", spec);
		return 0;
	}
	if (f.has != 0) {
		fprintf(stderr, "  '%s' left keys set after failing\n", spec);
		return 0;
	}
	if (err.message[0] == '\0') {
		fprintf(stderr, "  '%s': empty error message\n", spec);
		return 0;
	}
	if (key && (strcmp(err.key, key) != 0 || !strstr(err.message, key))) {
		fprintf(stderr, "  '%s': key='%s' message='%s'\n", spec,
			err.key, err.message);
		return 0;
	}
	return 1;
}

static void test_examples(void)
{
	CHECK(ok("status=503;retry_after=2"));
	CHECK(f.has == (SIM_F_STATUS | SIM_F_RETRY_AFTER));
	CHECK(f.status == 503 && f.retry_after == 2);

	CHECK(ok("hang"));
	CHECK(f.has == SIM_F_HANG);

	CHECK(ok("close_after=3"));
	CHECK(f.has == SIM_F_CLOSE_AFTER && f.close_after == 3);

	CHECK(ok("status=429;code=insufficient_quota"));
	CHECK(f.status == 429 && strcmp(f.code, "insufficient_quota") == 0);

	CHECK(ok("status=400;code=context_length_exceeded"));
	CHECK(strcmp(f.code, "context_length_exceeded") == 0);
}

static void test_every_key(void)
{
	CHECK(ok("status=599") && f.status == 599);
	CHECK(ok("status=400") && f.status == 400);
	CHECK(ok("status=500;code=server_is_overloaded") &&
	      strcmp(f.code, "server_is_overloaded") == 0 &&
	      sim_fault_has(&f, SIM_F_CODE));
	CHECK(ok("status=500;message=it broke, badly = very") &&
	      strcmp(f.message, "it broke, badly = very") == 0 &&
	      sim_fault_has(&f, SIM_F_MESSAGE));
	CHECK(ok("retry_after=0") && sim_fault_has(&f, SIM_F_RETRY_AFTER) &&
	      f.retry_after == 0);
	CHECK(ok("retry_after_ms=1500") && f.retry_after_ms == 1500 &&
	      sim_fault_has(&f, SIM_F_RETRY_AFTER_MS));
	CHECK(ok("latency_ms=250") && f.latency_ms == 250 &&
	      sim_fault_has(&f, SIM_F_LATENCY_MS));
	CHECK(ok("ttfb_ms=800") && f.ttfb_ms == 800 &&
	      sim_fault_has(&f, SIM_F_TTFB_MS));
	CHECK(ok("chunk_delay_ms=20") && f.chunk_delay_ms == 20 &&
	      sim_fault_has(&f, SIM_F_CHUNK_DELAY_MS));
	CHECK(ok("chunks=7") && f.chunks == 7 && sim_fault_has(&f, SIM_F_CHUNKS));
	CHECK(ok("cut_mid_event=3") && f.cut_mid_event == 3 && sim_fault_has(&f, SIM_F_CUT_MID_EVENT));
	CHECK(!ok("cut_mid_event=3;close_after=2"));
	CHECK(ok("chunk_delay_ms=5;delay_after=2") && f.delay_after == 2 &&
	      sim_fault_has(&f, SIM_F_DELAY_AFTER));
	CHECK(ok("reset") && f.has == SIM_F_RESET);
	CHECK(ok("close_after=0") && sim_fault_has(&f, SIM_F_CLOSE_AFTER) &&
	      f.close_after == 0);
	CHECK(ok("stream_error_after=2") && f.stream_error_after == 2 &&
	      sim_fault_has(&f, SIM_F_STREAM_ERROR_AFTER));
	CHECK(ok("stream_error_after=1;code=overloaded;message=slow down") &&
	      strcmp(f.code, "overloaded") == 0 &&
	      strcmp(f.message, "slow down") == 0);
	CHECK(ok("empty_tool_turn") && f.has == SIM_F_EMPTY_TOOL_TURN);
	CHECK(ok("bad_tool_args") && f.has == SIM_F_BAD_TOOL_ARGS);
	CHECK(ok("unknown_tool") && f.has == SIM_F_UNKNOWN_TOOL);
	CHECK(ok("schema_violation") && f.has == SIM_F_SCHEMA_VIOLATION);
	CHECK(ok("not_json") && f.has == SIM_F_NOT_JSON);
	CHECK(!ok("not_json=1"));
	CHECK(ok("model=gpt-4o-2099-01-01") &&
	      strcmp(f.model, "gpt-4o-2099-01-01") == 0 &&
	      sim_fault_has(&f, SIM_F_MODEL));
	CHECK(ok("no_tools") && f.has == SIM_F_NO_TOOLS);
	CHECK(ok("bad_crc_after=2") && f.has == SIM_F_BAD_CRC_AFTER && f.bad_crc_after == 2);
	CHECK(ok("status=503;count=3") && f.count == 3 &&
	      sim_fault_has(&f, SIM_F_COUNT));
	CHECK(ok("status=503;rate=25") && f.rate == 25 &&
	      sim_fault_has(&f, SIM_F_RATE));
	CHECK(ok("rate=0;hang") && f.rate == 0 && sim_fault_has(&f, SIM_F_RATE));
	CHECK(ok("none") && f.has == SIM_F_NONE);
	CHECK(ok("words=5") && f.has == SIM_F_WORDS && f.words == 5);
	CHECK(ok("words=1") && f.words == 1);
	CHECK(ok("content_filter") && f.has == SIM_F_CONTENT_FILTER);
	CHECK(ok("cut_after_done") && f.has == SIM_F_CUT_AFTER_DONE);
	CHECK(rejects("cut_after_done=1", "cut_after_done"));
	CHECK(ok("no_done") && f.has == SIM_F_NO_DONE);
	CHECK(rejects("no_done=0", "no_done"));
	CHECK(ok_header("no_done;chunks=3;chunk_delay_ms=5") &&
	      f.has == (SIM_F_NO_DONE | SIM_F_CHUNKS | SIM_F_CHUNK_DELAY_MS));
	CHECK(rejects("content_filter=1", "content_filter"));
	CHECK(ok("words=1000000") && f.words == 1000000);
	CHECK(ok_header("words=200000;chunks=10") && f.words == 200000 &&
	      f.chunks == 10 && f.has == (SIM_F_WORDS | SIM_F_CHUNKS));
}

static void test_combinations_and_blanks(void)
{
	CHECK(ok("chunks=4;chunk_delay_ms=10;ttfb_ms=100;latency_ms=5;"
		 "stream_error_after=3;model=m2;no_tools;retry_after=1;"
		 "retry_after_ms=10"));
	CHECK(f.chunks == 4 && f.chunk_delay_ms == 10 && f.ttfb_ms == 100 &&
	      f.latency_ms == 5 && f.stream_error_after == 3 &&
	      strcmp(f.model, "m2") == 0 && sim_fault_has(&f, SIM_F_NO_TOOLS));

	CHECK(ok("  status = 503 ;\tretry_after=2 ; "));
	CHECK(f.status == 503 && f.retry_after == 2);
	CHECK(ok("status=503;"));
	CHECK(ok(";;hang;;"));
	CHECK(ok("status=503\r\n"));
	CHECK(ok("empty_tool_turn;bad_tool_args"));
	CHECK(ok("status=500;message=caf\xc3\xa9") &&
	      strcmp(f.message, "caf\xc3\xa9") == 0);
}

static void test_unknown_and_malformed(void)
{
	CHECK(rejects("bogus=1", "bogus"));
	CHECK(rejects("status=503;sttaus=1", "sttaus"));
	CHECK(rejects("Status=503", "Status"));
	CHECK(rejects("hang;frobnicate", "frobnicate"));
	CHECK(rejects("=5", NULL));
	CHECK(rejects("status", "status"));          /* value missing */
	CHECK(rejects("status=", "status"));         /* empty value */
	CHECK(rejects("hang=1", "hang"));            /* flag with value */
	CHECK(rejects("reset=true", "reset"));
	CHECK(rejects("status=503;status=500", "status"));  /* duplicate */
}

static void test_bad_numbers(void)
{
	CHECK(rejects("status=abc", "status"));
	CHECK(rejects("status=5o3", "status"));
	CHECK(rejects("status=-503", "status"));
	CHECK(rejects("status=+503", "status"));
	CHECK(rejects("status=503.0", "status"));
	CHECK(rejects("status=0x1f7", "status"));
	CHECK(rejects("status=200", "status"));      /* not an error status */
	CHECK(rejects("status=600", "status"));
	CHECK(rejects("status=399", "status"));
	CHECK(rejects("latency_ms=-1", "latency_ms"));
	CHECK(rejects("latency_ms=99999999999", "latency_ms"));
	CHECK(rejects("latency_ms=3600001", "latency_ms"));
	CHECK(rejects("ttfb_ms=1 0", "ttfb_ms"));
	CHECK(rejects("chunk_delay_ms=fast", "chunk_delay_ms"));
	CHECK(rejects("chunks=0", "chunks"));
	CHECK(rejects("rate=101", "rate"));
	CHECK(rejects("status=503;count=0", "count"));
	CHECK(rejects("retry_after=1s", "retry_after"));
	CHECK(rejects("retry_after_ms=1.5", "retry_after_ms"));
	CHECK(rejects("close_after=x", "close_after"));
	CHECK(rejects("stream_error_after=-2", "stream_error_after"));
	CHECK(rejects("words=0", "words"));
	CHECK(rejects("words=1000001", "words"));
	CHECK(rejects("words=99999999999", "words"));
	CHECK(rejects("words=-5", "words"));
	CHECK(rejects("words=5k", "words"));
	CHECK(rejects("words", "words"));
	CHECK(rejects("words=", "words"));
	CHECK(rejects("words=5;words=6", "words"));
	CHECK(rejects("none;words=5", "none"));
}

static void test_bad_strings(void)
{
	char long_code[SIM_FAULT_CODE_MAX + 8];
	memset(long_code, 'c', sizeof(long_code) - 1);
	long_code[sizeof(long_code) - 1] = '\0';
	char spec[256];
	snprintf(spec, sizeof(spec), "status=500;code=%s", long_code);
	CHECK(rejects(spec, "code"));
	CHECK(rejects("status=500;message=bad\x01" "byte", "message"));
	CHECK(rejects("status=500;message=bad\xc3", "message"));  /* cut UTF-8 */
	CHECK(rejects("model=", "model"));
}

static void test_empty(void)
{
	CHECK(rejects(NULL, NULL));
	CHECK(rejects("", NULL));
	CHECK(rejects("   ", NULL));
	CHECK(rejects(";", NULL));
	CHECK(rejects(" ; ;\n", NULL));
	CHECK(strstr(err.message, "empty") != NULL);
}

static void test_conflicts_and_origin(void)
{
	CHECK(rejects("status=503;hang", NULL));
	CHECK(rejects("reset;hang", NULL));
	CHECK(rejects("status=500;reset", NULL));
	CHECK(rejects("close_after=1;stream_error_after=1", "close_after"));
	/* one end of the stream at a time, named whichever comes first */
	CHECK(rejects("cut_after_done;no_done", "cut_after_done"));
	CHECK(rejects("no_done;cut_after_done", "cut_after_done"));
	CHECK(rejects("close_after=2;no_done", "no_done"));
	CHECK(rejects("stream_error_after=1;cut_after_done", "cut_after_done"));
	CHECK(rejects("no_done;stream_error_after=0", "no_done"));
	CHECK(rejects("code=rate_limit_exceeded", "code"));
	CHECK(rejects("message=hi", "message"));
	CHECK(rejects("none;hang", "none"));

	/* count only makes sense for a standing fault */
	CHECK(ok("status=503;count=1"));
	CHECK(!ok_header("status=503;count=1"));
	CHECK(strcmp(err.key, "count") == 0);
	CHECK(ok_header("status=503;rate=50"));

	char big[SIM_FAULT_SPEC_MAX + 16];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "hang", 4);
	CHECK(rejects(big, NULL));
}

static void test_rate(void)
{
	int hits = 0;
	for (unsigned long i = 0; i < 100; i++)
		hits += sim_fault_rate_hit(30, i);
	CHECK(hits == 30);

	hits = 0;
	for (unsigned long i = 0; i < 1000; i++)
		hits += sim_fault_rate_hit(7, i);
	CHECK(hits == 70);

	CHECK(sim_fault_rate_hit(50, 0) && !sim_fault_rate_hit(50, 1) &&
	      sim_fault_rate_hit(50, 2));
	CHECK(!sim_fault_rate_hit(0, 0) && !sim_fault_rate_hit(0, 57));
	CHECK(sim_fault_rate_hit(100, 0) && sim_fault_rate_hit(100, 99));
	CHECK(sim_fault_rate_hit(1, 0) && !sim_fault_rate_hit(1, 1) &&
	      sim_fault_rate_hit(1, 100));
	/* no overflow trouble far into a long run */
	hits = 0;
	for (unsigned long i = 0; i < 100; i++)
		hits += sim_fault_rate_hit(30, (unsigned long)-1 - i);
	CHECK(hits == 30);
}

int main(void)
{
	test_examples();
	test_every_key();
	test_combinations_and_blanks();
	test_unknown_and_malformed();
	test_bad_numbers();
	test_bad_strings();
	test_empty();
	test_conflicts_and_origin();
	test_rate();
	UNIT_END("sim_fault");
}
