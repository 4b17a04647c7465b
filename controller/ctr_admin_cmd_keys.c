/* ctr_admin_cmd_keys: `keys set`, `keys list`, `keys rotate-master` (the
 * work is in ctr_keys.c; this maps it to answers). */
#include "ctr_admin.h"

#include <errno.h>

void admin_cmd_keys_set(struct ctr *c, const struct admin_peer *peer, json_t *args,
                        struct admin_reply *r)
{
    (void)peer;
    const char *provider = json_string_value(json_object_get(args, "provider"));
    json_t *secret = json_object_get(args, "secret");
    char err[512];
    int rc = ctr_keys_set(c, provider, json_string_value(secret), json_string_length(secret),
                          &r->result, err, sizeof err);
    if (rc < 0)
        admin_fail(r, rc == -ENOENT ? "not_found" : rc == -EINVAL ? "bad_args" : "store_error",
                   "keys set: %s", err);
}

void admin_cmd_keys_list(struct ctr *c, const struct admin_peer *peer, json_t *args,
                         struct admin_reply *r)
{
    (void)peer;
    (void)args;
    char err[512];
    json_t *list = ctr_keys_list(c, err, sizeof err);
    if (!list) {
        admin_fail(r, "store_error", "keys list: %s", err);
        return;
    }
    r->result = json_pack("{s:o}", "keys", list);
}

void admin_cmd_keys_rotate(struct ctr *c, const struct admin_peer *peer, json_t *args,
                           struct admin_reply *r)
{
    (void)peer;
    (void)args;
    char err[1024];
    if (ctr_keys_rotate(c, &r->result, err, sizeof err) < 0)
        admin_fail(r, "rotate_failed", "keys rotate-master: %.900s", err);
}
