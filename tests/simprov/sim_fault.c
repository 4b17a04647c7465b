#include "sim_fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum val_kind { V_FLAG, V_NUM, V_STR };

struct key_def {
	const char *name;
	unsigned int bit;
	enum val_kind kind;
	long min, max;          /* V_NUM: inclusive range; V_STR: max length */
	size_t field;           /* offsetof the long / char[] in struct sim_fault */
	size_t cap;             /* V_STR: buffer size */
};

#define NUM(n, b, lo, hi, fld) \
	{ n, b, V_NUM, lo, hi, offsetof(struct sim_fault, fld), 0 }
#define STR(n, b, fld) \
	{ n, b, V_STR, 1, sizeof(((struct sim_fault *)0)->fld) - 1, \
	  offsetof(struct sim_fault, fld), sizeof(((struct sim_fault *)0)->fld) }
#define FLAG(n, b) { n, b, V_FLAG, 0, 0, 0, 0 }

/* Upper bound for every duration: an hour is far beyond any test timeout and
 * keeps the millisecond arithmetic comfortably inside a long. */
#define MS_MAX 3600000L

static const struct key_def keys[] = {
	/* status is handled specially (it is an int, not a long) */
	{ "status", SIM_F_STATUS, V_NUM, 400, 599, 0, 0 },
	STR("code", SIM_F_CODE, code),
	STR("message", SIM_F_MESSAGE, message),
	NUM("retry_after", SIM_F_RETRY_AFTER, 0, 86400, retry_after),
	NUM("retry_after_ms", SIM_F_RETRY_AFTER_MS, 0, MS_MAX, retry_after_ms),
	NUM("latency_ms", SIM_F_LATENCY_MS, 0, MS_MAX, latency_ms),
	NUM("ttfb_ms", SIM_F_TTFB_MS, 0, MS_MAX, ttfb_ms),
	NUM("chunk_delay_ms", SIM_F_CHUNK_DELAY_MS, 0, MS_MAX, chunk_delay_ms),
	NUM("delay_after", SIM_F_DELAY_AFTER, 0, 1000000, delay_after),
	NUM("chunks", SIM_F_CHUNKS, 1, 100000, chunks),
	FLAG("hang", SIM_F_HANG),
	FLAG("reset", SIM_F_RESET),
	NUM("close_after", SIM_F_CLOSE_AFTER, 0, 1000000, close_after),
	NUM("stream_error_after", SIM_F_STREAM_ERROR_AFTER, 0, 1000000,
	    stream_error_after),
	FLAG("empty_tool_turn", SIM_F_EMPTY_TOOL_TURN),
	FLAG("bad_tool_args", SIM_F_BAD_TOOL_ARGS),
	STR("model", SIM_F_MODEL, model),
	FLAG("no_tools", SIM_F_NO_TOOLS),
	NUM("count", SIM_F_COUNT, 1, 1000000000L, count),
	NUM("rate", SIM_F_RATE, 0, 100, rate),
	FLAG("none", SIM_F_NONE),
	NUM("words", SIM_F_WORDS, 1, 1000000, words),
	NUM("bad_crc_after", SIM_F_BAD_CRC_AFTER, 0, 1000000, bad_crc_after),
	FLAG("unknown_tool", SIM_F_UNKNOWN_TOOL),
	FLAG("schema_violation", SIM_F_SCHEMA_VIOLATION),
	FLAG("not_json", SIM_F_NOT_JSON),
	FLAG("content_filter", SIM_F_CONTENT_FILTER),
	FLAG("cut_after_done", SIM_F_CUT_AFTER_DONE),
	FLAG("no_done", SIM_F_NO_DONE),
	NUM("cut_mid_event", SIM_F_CUT_MID_EVENT, 0, 1000000, cut_mid_event),
};

static int fail(struct sim_fault_error *err, const char *key, size_t keylen,
		const char *fmt, ...)
{
	if (!err)
		return -1;
	if (keylen >= sizeof(err->key))
		keylen = sizeof(err->key) - 1;
	memcpy(err->key, key, keylen);
	err->key[keylen] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

/* String values end up in JSON bodies and HTTP headers, so control bytes and
 * malformed UTF-8 are refused here rather than producing a broken reply. */
static int text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned int cp;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* Plain decimal only: a sign, blanks, hex or trailing junk is a typo in a
 * test script, and silently reading it as something else hides the typo. */
static int parse_num(const char *s, size_t n, long *out)
{
	if (n == 0 || n > 10)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static const struct key_def *find_key(const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == n && memcmp(keys[i].name, k, n) == 0)
			return &keys[i];
	return NULL;
}

static int apply_item(const char *s, const char *e, enum sim_fault_origin origin,
		      struct sim_fault *f, struct sim_fault_error *err)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	const char *ks = s, *ke = eq ? eq : e;
	trim(&ks, &ke);
	size_t kn = (size_t)(ke - ks);
	if (kn == 0)
		return fail(err, "", 0, "fault item '%.*s' has no key",
			    (int)(e - s), s);

	const struct key_def *d = find_key(ks, kn);
	if (!d)
		return fail(err, ks, kn, "unknown fault key '%.*s'", (int)kn, ks);
	if (f->has & d->bit)
		return fail(err, ks, kn, "duplicate fault key '%s'", d->name);
	if (d->bit == SIM_F_COUNT && origin == SIM_FAULT_FROM_HEADER)
		return fail(err, ks, kn,
			    "fault key 'count' is only valid for server faults "
			    "(--fault or POST /_sim/fault)");

	if (d->kind == V_FLAG) {
		if (eq)
			return fail(err, ks, kn,
				    "fault flag '%s' takes no value", d->name);
		f->has |= d->bit;
		return 0;
	}
	if (!eq)
		return fail(err, ks, kn, "fault key '%s' needs a value (%s=...)",
			    d->name, d->name);

	const char *vs = eq + 1, *ve = e;
	trim(&vs, &ve);
	size_t vn = (size_t)(ve - vs);
	if (vn == 0)
		return fail(err, ks, kn, "fault key '%s' has an empty value",
			    d->name);

	if (d->kind == V_NUM) {
		long v;
		if (parse_num(vs, vn, &v) < 0 || v < d->min || v > d->max)
			return fail(err, ks, kn,
				    "bad value '%.*s' for fault key '%s' "
				    "(expected an integer %ld..%ld)",
				    (int)vn, vs, d->name, d->min, d->max);
		if (d->bit == SIM_F_STATUS)
			f->status = (int)v;
		else
			*(long *)(void *)((char *)f + d->field) = v;
	} else {
		if (vn > (size_t)d->max)
			return fail(err, ks, kn,
				    "value for fault key '%s' is too long "
				    "(max %ld bytes)", d->name, d->max);
		if (!text_ok((const unsigned char *)vs, vn))
			return fail(err, ks, kn,
				    "value for fault key '%s' has control "
				    "characters or invalid UTF-8", d->name);
		char *dst = (char *)f + d->field;
		memcpy(dst, vs, vn);
		dst[vn] = '\0';
	}
	f->has |= d->bit;
	return 0;
}

static int count_bits(unsigned int v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* Combinations whose meaning would depend on an arbitrary precedence rule are
 * refused, so a test never silently exercises something other than intended. */
static int check_combination(const struct sim_fault *f,
			     struct sim_fault_error *err)
{
	if (count_bits(f->has & (SIM_F_STATUS | SIM_F_HANG | SIM_F_RESET)) > 1)
		return fail(err, "", 0,
			    "fault keys 'status', 'hang' and 'reset' are "
			    "mutually exclusive");
	if ((f->has & SIM_F_CLOSE_AFTER) && (f->has & SIM_F_STREAM_ERROR_AFTER))
		return fail(err, "close_after", strlen("close_after"),
			    "fault keys 'close_after' and 'stream_error_after' "
			    "are mutually exclusive");
	/* Each decides how the stream ends: two at once would need a rule. */
	if (count_bits(f->has & (SIM_F_CLOSE_AFTER | SIM_F_STREAM_ERROR_AFTER |
				 SIM_F_CUT_AFTER_DONE | SIM_F_NO_DONE | SIM_F_CUT_MID_EVENT)) > 1) {
		const char *k = (f->has & SIM_F_CUT_MID_EVENT) ? "cut_mid_event"
			      : (f->has & SIM_F_CUT_AFTER_DONE) ? "cut_after_done" : "no_done";
		return fail(err, k, strlen(k),
			    "fault key '%s' cannot be combined with another "
			    "end of the stream (close_after, stream_error_after, "
			    "cut_after_done, no_done, cut_mid_event)", k);
	}
	if ((f->has & (SIM_F_CODE | SIM_F_MESSAGE)) &&
	    !(f->has & (SIM_F_STATUS | SIM_F_STREAM_ERROR_AFTER))) {
		const char *k = (f->has & SIM_F_CODE) ? "code" : "message";
		return fail(err, k, strlen(k),
			    "fault key '%s' needs 'status' or "
			    "'stream_error_after'", k);
	}
	if ((f->has & SIM_F_NONE) && (f->has & ~SIM_F_NONE))
		return fail(err, "none", 4,
			    "fault flag 'none' cannot be combined with other keys");
	return 0;
}

int sim_fault_parse(const char *spec, enum sim_fault_origin origin,
		    struct sim_fault *out, struct sim_fault_error *err)
{
	memset(out, 0, sizeof(*out));
	if (err) {
		err->key[0] = '\0';
		err->message[0] = '\0';
	}
	if (!spec)
		return fail(err, "", 0, "empty fault spec");
	size_t len = strlen(spec);
	if (len > SIM_FAULT_SPEC_MAX)
		return fail(err, "", 0, "fault spec longer than %d bytes",
			    SIM_FAULT_SPEC_MAX);

	const char *p = spec, *end = spec + len;
	int items = 0;
	while (p <= end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *ie = semi ? semi : end;
		const char *is = p;
		trim(&is, &ie);
		if (is < ie) {
			if (apply_item(is, ie, origin, out, err) < 0) {
				memset(out, 0, sizeof(*out));
				return -1;
			}
			items++;
		}
		if (!semi)
			break;
		p = semi + 1;
	}
	if (items == 0)
		return fail(err, "", 0, "empty fault spec");
	if (check_combination(out, err) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

bool sim_fault_rate_hit(long pct, unsigned long i)
{
	if (pct <= 0)
		return false;
	if (pct >= 100)
		return true;
	return ((i % 100) * (unsigned long)pct) % 100 < (unsigned long)pct;
}
