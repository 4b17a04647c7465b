/*
 * ad_bedrock_err: AWS errors as failure classes and OpenAI error bodies.
 *
 * The exception name decides where it is known: the body's "__type" or
 * "code" (the header x-amzn-ErrorType never reaches an adapter, so the
 * simulator and AWS's JSON protocol both put it in the body where they
 * can), else the HTTP status.  Context overflow, quota and the on-demand
 * model refusal are told apart from other ValidationExceptions by their
 * text only.
 */
#include "ad_bedrock.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gw_classify.h"

static bool says(const char *msg, const char *what)
{
    return msg && strcasestr(msg, what) != NULL;
}

static const struct {
    const char *type;
    enum fail_class fail;
} types[] = {
    { "ValidationException", FAIL_CLIENT },
    { "ServiceQuotaExceededException", FAIL_QUOTA },
    /* Another request changed the resource: trying again is the remedy. */
    { "ConflictException", FAIL_SERVER },
    { "AccessDeniedException", FAIL_AUTH },
    { "UnrecognizedClientException", FAIL_AUTH },
    { "InvalidSignatureException", FAIL_AUTH },
    { "ExpiredTokenException", FAIL_AUTH },
    { "IncompleteSignatureException", FAIL_AUTH },
    { "MissingAuthenticationTokenException", FAIL_AUTH },
    { "ResourceNotFoundException", FAIL_NOT_FOUND },
    { "ModelTimeoutException", FAIL_SERVER },
    { "ModelErrorException", FAIL_SERVER },
    { "ModelStreamErrorException", FAIL_STREAM_ERROR },
    { "ThrottlingException", FAIL_RATE_LIMIT },
    /* Retryable but not a rate limit: the model is warming up. */
    { "ModelNotReadyException", FAIL_SERVER },
    { "InternalServerException", FAIL_SERVER },
    { "ServiceUnavailableException", FAIL_SERVER },
};

/* "ns#Name:detail" -> "Name" into buf. */
static const char *bare(const char *type, char *buf, size_t size)
{
    if (!type)
        return NULL;
    const char *hash = strrchr(type, '#');
    if (hash)
        type = hash + 1;
    snprintf(buf, size, "%.*s", (int)strcspn(type, ":"), type);
    return buf;
}

enum fail_class ad_bedrock_error_class(const char *type, const char *message, long status)
{
    char buf[96];
    type = bare(type, buf, sizeof buf);
    if ((status == 400 || status == 413 || status == 0) &&
        (says(message, "too long") || says(message, "context window") || says(message, "context length") ||
        says(message, "maximum context") || says(message, "too many input tokens")))
        return FAIL_CONTEXT;
    if (says(message, "on-demand throughput") || says(message, "model identifier is invalid"))
        return FAIL_NOT_FOUND; /* a routing error: this target cannot serve the model */
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        /* In-stream exceptions are spelt with a lower-case first letter. */
        if (strcasecmp(type, types[i].type) == 0)
            return types[i].fail == FAIL_STREAM_ERROR && status ? FAIL_SERVER : types[i].fail;
    if (status == 0)
        return FAIL_STREAM_ERROR;
    /* ModelNotReadyException is a 429 that is no rate limit. */
    if (status == 429 && says(message, "not ready"))
        return FAIL_SERVER;
    if (status == 400 && says(message, "quota"))
        return FAIL_QUOTA;
    if (status == 403)
        return FAIL_AUTH;
    if (status == 408 || status == 424)
        return FAIL_SERVER;
    return gw_classify_http(status, NULL, 0);
}

json_t *ad_bedrock_openai_error(enum fail_class c, const char *type, const char *message)
{
    char buf[96];
    type = bare(type, buf, sizeof buf);
    if (type && strcasecmp(type, "ServiceUnavailableException") == 0)
        return ad_openai_error(message, "server_error", "overloaded");
    if (type && strcasecmp(type, "ModelTimeoutException") == 0)
        return ad_openai_error(message, "server_error", "timeout");
    if (type && strcasecmp(type, "AccessDeniedException") == 0)
        return ad_openai_error(message, "permission_error", "permission_denied");
    if (c == FAIL_AUTH)
        return ad_openai_error(message, "invalid_request_error", "invalid_api_key");
    return ad_openai_error_for(c, message);
}

/* Bedrock names the exception in a header the adapter never sees; where
 * the status (and for 403 the front end's wording) leaves one candidate,
 * that is it. */
static const char *implied_type(long status, const char *msg)
{
    if (status == 503)
        return "ServiceUnavailableException";
    if (status == 408)
        return "ModelTimeoutException";
    if (status == 403)
        return says(msg, "signature") || says(msg, "security token") || says(msg, "authentication token")
                   ? "InvalidSignatureException"
                   : "AccessDeniedException";
    return NULL;
}

enum fail_class ad_bedrock_classify(long status, const char *body, size_t len, json_t **openai_error)
{
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    /* AWS spells the message key both ways. */
    const char *msg = ad_str(doc, "message");
    if (!msg)
        msg = ad_str(doc, "Message");
    const char *type = ad_str(doc, "__type");
    if (!type)
        type = ad_str(doc, "code");
    if (!type)
        type = implied_type(status, msg);
    enum fail_class c = status >= 200 && status < 300 ? FAIL_NONE : ad_bedrock_error_class(type, msg, status);
    if (openai_error) {
        char fallback[AD_FALLBACK_MSG_LEN];
        msg = ad_error_message(msg, status, fallback);
        *openai_error = ad_bedrock_openai_error(c, type, msg);
    }
    json_decref(doc);
    return c;
}
