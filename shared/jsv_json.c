/*
 * JSON value rules of JSON Schema that jansson does not share: a number is
 * one type whether written 1 or 1.0 (json_equal says 1 != 1.0), and lengths
 * are in code points.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "jsv_impl.h"

/* Equality of values nested deeper than this is "not equal"; jansson's
 * parser stops at 2048 anyway, this only bounds built values. */
#define EQUAL_MAX_DEPTH 2048

static bool whole(double d)
{
    return isfinite(d) && d == floor(d);
}

unsigned jsv_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return JSV_T_OBJECT;
    case JSON_ARRAY:   return JSV_T_ARRAY;
    case JSON_STRING:  return JSV_T_STRING;
    case JSON_INTEGER: return JSV_T_NUMBER | JSV_T_INTEGER;
    case JSON_REAL:    return JSV_T_NUMBER | (whole(json_real_value(v)) ? JSV_T_INTEGER : 0);
    case JSON_TRUE:
    case JSON_FALSE:   return JSV_T_BOOLEAN;
    case JSON_NULL:    return JSV_T_NULL;
    }
    return 0;
}

bool jsv_type_matches(unsigned mask, const json_t *v)
{
    return (mask & jsv_type_of(v)) != 0;
}

/* i against d without rounding i to a double first. */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    json_int_t ti = (json_int_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

int jsv_num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_integer(a))
        return cmp_int_real(json_integer_value(a), json_real_value(b));
    if (json_is_integer(b))
        return -cmp_int_real(json_integer_value(b), json_real_value(a));
    double x = json_real_value(a), y = json_real_value(b);
    return x < y ? -1 : x > y;
}

static bool equal(const json_t *a, const json_t *b, int depth)
{
    if (depth > EQUAL_MAX_DEPTH)
        return false;
    if (json_is_number(a) && json_is_number(b))
        return jsv_num_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!equal(json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    }
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *av;
        json_object_foreach((json_t *)a, k, av) {
            const json_t *bv = json_object_get(b, k);
            if (!bv || !equal(av, bv, depth + 1))
                return false;
        }
        return true;
    }
    default:
        return true; /* true, false, null: the type is the value */
    }
}

bool jsv_equal(const json_t *a, const json_t *b)
{
    return equal(a, b, 0);
}

static double num(const json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

bool jsv_multiple_of(const json_t *v, const json_t *m)
{
    if (json_is_integer(v) && json_is_integer(m)) {
        json_int_t d = json_integer_value(m);
        /* d > 0 was checked at compile time; -1 would overflow INT64_MIN % d */
        return d == 1 || json_integer_value(v) % d == 0;
    }
    double q = num(v) / num(m);
    if (!isfinite(q))
        return false;
    /* The quotient of two decimals written in JSON is a whole number up to
     * the rounding of the division (0.0075 / 0.0001 = 75.00000000000001). */
    return fabs(q - nearbyint(q)) <= 4 * DBL_EPSILON * fmax(1.0, fabs(q));
}

size_t jsv_utf8_len(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

bool jsv_is_count(const json_t *v, size_t *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return false;
        *out = (size_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!whole(d) || d < 0)
            return false;
        *out = d >= 18446744073709551615.0 ? SIZE_MAX - 1 : (size_t)d;
        return true;
    }
    return false;
}
