/* Unit tests of the model splice: the result must equal what re-serialising
 * would send, for every shape the splice accepts, and refuse the rest. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gw_body.h"
#include "gw_reqscan.h"
#include "unit.h"

/* What the request path does: gw_reqscan finds the top-level "model"
 * string, gw_body_splice replaces it; NULL when the splice does not apply. */
static char *gw_body_with_model(const char *body, size_t len, const char *model, size_t *outlen)
{
    static struct gw_reqscan scan;
    char err[128];
    if (gw_reqscan(body, len, &scan, err, sizeof err) < 0 || !scan.object)
        return NULL;
    const struct gw_member *m = gw_reqscan_get(&scan, body, "model");
    if (!m || body[m->val] != '"')
        return NULL;
    return gw_body_splice(body, len, m->val, m->val_end, model, outlen);
}

/* The spliced body parses to the original document with model replaced. */
static int same_as_reserialised(const char *body, const char *model)
{
    size_t n;
    char *out = gw_body_with_model(body, strlen(body), model, &n);
    if (!out)
        return 0;
    json_t *a = json_loads(out, 0, NULL);
    json_t *b = json_loads(body, 0, NULL);
    json_object_set_new(b, "model", json_string(model));
    int ok = a && b && json_equal(a, b) && strlen(out) == n;
    json_decref(a);
    json_decref(b);
    free(out);
    return ok;
}

int main(void)
{
    CHECK(same_as_reserialised("{\"model\":\"a\",\"messages\":[]}", "gpt-4o-2024-08-06"));
    CHECK(same_as_reserialised(" { \"messages\" : [ {\"content\":\"{\\\"model\\\":\\\"x\\\"}\"} ] ,\n"
                               " \"model\" : \"a\" , \"stream\": true } ", "m"));
    CHECK(same_as_reserialised("{\"x\":{\"model\":\"nested\"},\"model\":\"a\"}", "b"));
    CHECK(same_as_reserialised("{\"model\":\"a\\\"b\",\"n\":1.5e3,\"t\":null}", "q\"uote\\back"));
    CHECK(same_as_reserialised("{\"model\":\"a\",\"s\":\"]}[{\"}", "ctl\x01"));
    /* An escaped key is the same key: the request path routes on it, so it
     * is the one replaced. */
    CHECK(same_as_reserialised("{\"mod\\u0065l\":\"a\"}", "m"));
    /* The splice leaves every other byte as it was. */
    size_t n;
    const char *raw = "{\"messages\":[1,  2],\"model\":\"old\",\"z\":\"\\u00e9\"}";
    char *out = gw_body_with_model(raw, strlen(raw), "new", &n);
    CHECK(out && strcmp(out, "{\"messages\":[1,  2],\"model\":\"new\",\"z\":\"\\u00e9\"}") == 0);
    free(out);
    /* Refused: the caller re-serialises instead. */
    const char *refuse[] = { "[]", "{}", "{\"model\":1}", "{\"model\":\"a\",\"model\":\"b\"}",
                             "{\"model\":\"a\"", "" };
    for (size_t i = 0; i < sizeof refuse / sizeof refuse[0]; i++)
        CHECK(gw_body_with_model(refuse[i], strlen(refuse[i]), "m", &n) == NULL);
    UNIT_END("body");
}
