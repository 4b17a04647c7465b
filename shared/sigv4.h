/*
 * sigv4: AWS Signature Version 4, header form, computed with libsodium's
 * SHA-256 and HMAC-SHA-256.  The Bedrock adapter signs with it and the
 * simulated provider verifies with it; both build the same canonical
 * request from what goes over the wire.
 *
 * Why not libcurl's CURLOPT_AWS_SIGV4: adapters build their requests
 * without curl (gateway/ad.h), the simulator must recompute the signature
 * anyway, and libcurl 7.88 (this machine's) does not encode the path a
 * second time in the canonical request, as AWS wants for every service but
 * S3: a model id with ':' (all of Anthropic's on Bedrock) would be refused.
 * tests/unit/test_sigv4_curl.c shows both: where the paths agree, this
 * signer gives curl's Authorization header byte for byte; for a %3A path
 * curl's is the one signed over the path encoded once.
 *
 * Ownership: returned strings are malloc'd and belong to the caller.
 */
#ifndef BS_SIGV4_H
#define BS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

/* What is signed: the request exactly as it is sent. */
struct sigv4_request {
    const char *method;
    const char *path;                /* as sent (already percent-encoded); "" = "/" */
    const char *query;               /* after '?', NULL or "" for none */
    const char *const *headers;      /* "Name: value", the headers to sign (host and x-amz-date among them) */
    size_t nheaders;
    const void *body;
    size_t body_len;
};

struct sigv4_key {
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service;             /* "bedrock" */
};

/* The canonical request (AWS's step 1) and the signed header list (';'-joined
 * lower-case names).  NULL when memory ran out or a header has no ':'. */
char *sigv4_canonical(const struct sigv4_request *r, char **signed_headers);
/* kSigning for date (YYYYMMDD). */
void sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                       unsigned char out[32]);
/* The signature's lower-case hex (65 bytes with the NUL) for amz_date
 * (YYYYMMDDTHHMMSSZ); -1 when memory ran out or the request is malformed. */
int sigv4_signature(const struct sigv4_key *k, const char *amz_date, const struct sigv4_request *r,
                    char sig[65], char **signed_headers);
/* The Authorization header's value. */
char *sigv4_authorization(const struct sigv4_key *k, const char *amz_date, const struct sigv4_request *r);

/* An Authorization value taken apart (pointers into buf). */
struct sigv4_auth {
    char buf[1024];
    const char *access_key, *date, *region, *service;  /* from Credential= */
    const char *signed_headers;
    const char *signature;
};
/* 0, or -1 when auth is not "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=..., Signature=...". */
int sigv4_parse_authorization(const char *auth, struct sigv4_auth *out);

/* "YYYYMMDDTHHMMSSZ" for a Unix time; buf of 17 bytes. */
void sigv4_amz_date(long long unix_time, char buf[17]);
/* The path label encoding AWS wants for a model id: everything but
 * A-Za-z0-9-_.~ as %XX (':' -> %3A, '/' -> %2F).  malloc'd. */
char *sigv4_uri_encode(const char *s, bool keep_slash);

#endif
