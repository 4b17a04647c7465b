/*
 * gw_catalog_aws: a bedrock provider's AWS credentials.  The provider's key
 * (stored, or from api_key_env) is the access key id; the secret access key
 * and a session token come from aws_secret_key_env / aws_session_token_env,
 * or, for a stored key, from the key itself written as
 * "ACCESS_KEY_ID:SECRET[:SESSION_TOKEN]" (the key store holds one secret per
 * provider).  Without a secret the key is a Bedrock API key (Bearer).
 * Secrets live in sodium_malloc'd memory like the key.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "gw.h"
#include "keys.h"
#include "log.h"

static char *secure_copy(const char *s, size_t n)
{
    char *c = sodium_malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* A variable's value into *out; 0 (unset or empty: *out stays NULL), -1
 * when memory ran out. */
static int from_env(const char *var, char **out)
{
    const char *v = var ? getenv(var) : NULL;
    if (!v || !*v)
        return 0;
    return (*out = secure_copy(v, strlen(v))) ? 0 : -1;
}

/* "AKID:SECRET[:TOKEN]" in api_key: split in place. */
static int split_key(struct gw_provider *gp)
{
    char *colon = gp->api_key ? strchr(gp->api_key, ':') : NULL;
    if (!colon)
        return 0;
    char *secret = colon + 1;
    char *token = strchr(secret, ':');
    size_t slen = token ? (size_t)(token - secret) : strlen(secret);
    if (!(gp->aws_secret = secure_copy(secret, slen)))
        return -1;
    if (token && token[1] && !(gp->aws_token = secure_copy(token + 1, strlen(token + 1))))
        return -1;
    sodium_memzero(colon, strlen(colon));
    return 0;
}

int gw_catalog_aws(struct gw_provider *gp, const struct cfg_provider *p)
{
    if (p->aws_secret_key_env) {
        if (from_env(p->aws_secret_key_env, &gp->aws_secret) < 0)
            return -1;
        if (!gp->aws_secret && gp->enabled) {
            log_err("provider %s: %s is unset or empty; provider disabled", p->name, p->aws_secret_key_env);
            gp->enabled = false;
        }
    } else if (split_key(gp) < 0) {
        return -1;
    }
    if (!gp->aws_token && from_env(p->aws_session_token_env, &gp->aws_token) < 0)
        return -1;
    if (gp->enabled && !gp->api_key) {
        log_err("provider %s: no access key id (api_key_env or a stored key); provider disabled", p->name);
        gp->enabled = false;
    }
    return 0;
}
