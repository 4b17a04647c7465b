/* Unit tests of the SigV4 signer: AWS's published IAM example (providers.md
 * 6.6: canonical request, its hash, kSigning, signature), a Bedrock request
 * with a %3A model path and a session token (expected values computed with
 * Python's hashlib/hmac), the canonical forms, and the Authorization parser
 * the simulated provider verifies with. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"
#include "unit.h"

static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static void hexs(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_iam_vector(void)
{
    const char *headers[] = { "Host: iam.amazonaws.com", "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                              "X-Amz-Date: 20150830T123600Z" };
    struct sigv4_request r = { "GET", "/", "Version=2010-05-08&Action=ListUsers", headers, 3, NULL, 0 };
    char *sh = NULL;
    char *c = sigv4_canonical(&r, &sh);
    const char *want = "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                       "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
                       "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    CHECK(c && strcmp(c, want) == 0);
    CHECK(sh && strcmp(sh, "content-type;host;x-amz-date") == 0);
    unsigned char d[32];
    char dh[65];
    crypto_hash_sha256(d, (const unsigned char *)c, strlen(c));
    hexs(d, 32, dh);
    CHECK(strcmp(dh, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59") == 0);
    free(c);
    free(sh);
    sigv4_signing_key(secret, "20150830", "us-east-1", "iam", d);
    hexs(d, 32, dh);
    CHECK(strcmp(dh, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9") == 0);
    struct sigv4_key k = { "AKIDEXAMPLE", secret, "us-east-1", "iam" };
    char sig[65];
    CHECK(sigv4_signature(&k, "20150830T123600Z", &r, sig, &sh) == 0);
    CHECK(strcmp(sig, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7") == 0);
    free(sh);
    char *auth = sigv4_authorization(&k, "20150830T123600Z", &r);
    CHECK(auth && strcmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                               "SignedHeaders=content-type;host;x-amz-date, "
                               "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7") == 0);
    struct sigv4_auth pa;
    CHECK(sigv4_parse_authorization(auth, &pa) == 0);
    CHECK(strcmp(pa.access_key, "AKIDEXAMPLE") == 0 && strcmp(pa.date, "20150830") == 0 &&
          strcmp(pa.region, "us-east-1") == 0 && strcmp(pa.service, "iam") == 0 &&
          strcmp(pa.signed_headers, "content-type;host;x-amz-date") == 0 &&
          strcmp(pa.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7") == 0);
    free(auth);
}

static void test_bedrock_vector(void)
{
    char *label = sigv4_uri_encode("anthropic.claude-3-5-sonnet-20240620-v1:0", false);
    CHECK(label && strcmp(label, "anthropic.claude-3-5-sonnet-20240620-v1%3A0") == 0);
    char path[256];
    snprintf(path, sizeof path, "/model/%s/converse", label);
    free(label);
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}";
    const char *headers[] = { "host: bedrock-runtime.us-east-1.amazonaws.com", "x-amz-date: 20240101T000000Z",
                              "x-amz-security-token: tok/en+1=", "content-type: application/json" };
    struct sigv4_request r = { "POST", path, NULL, headers, 4, body, strlen(body) };
    char *sh = NULL;
    char *c = sigv4_canonical(&r, &sh);
    CHECK(c && strstr(c, "POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n\n") == c);
    CHECK(c && strstr(c, "45e583fed2564dc00e823303d7609f8587af7f685b993cb0f998afc0d480b01d"));
    free(c);
    free(sh);
    struct sigv4_key k = { "AKIDEXAMPLE", secret, "us-east-1", "bedrock" };
    char sig[65];
    CHECK(sigv4_signature(&k, "20240101T000000Z", &r, sig, &sh) == 0);
    CHECK(strcmp(sig, "64efddcce31ad5649ca1dde2e02e3bff7932344cec939620da02cc947cd6494d") == 0);
    CHECK(strcmp(sh, "content-type;host;x-amz-date;x-amz-security-token") == 0);
    free(sh);
    /* One changed byte of the body changes the signature. */
    char other[65];
    r.body_len--;
    CHECK(sigv4_signature(&k, "20240101T000000Z", &r, other, &sh) == 0 && strcmp(other, sig) != 0);
    free(sh);
}

static void test_canonical_forms(void)
{
    const char *headers[] = { "X-B:  a   b  ", "x-a: 1", "X-A: 2", "Host: h" };
    struct sigv4_request r = { "GET", "/a/./b/../c d/%3A", "b=2&a=x y&a=1&c", headers, 4, NULL, 0 };
    char *sh = NULL;
    char *c = sigv4_canonical(&r, &sh);
    CHECK(c && strncmp(c, "GET\n/a/c%20d/%253A\na=1&a=x%20y&b=2&c=\nhost:h\nx-a:1,2\nx-b:a b\n\nhost;x-a;x-b\n", 71) == 0);
    if (c && strncmp(c, "GET\n/a/c%20d/%253A\n", 19) != 0)
        fprintf(stderr, "canonical: %s\n", c);
    free(c);
    free(sh);
    struct sigv4_request empty = { "POST", "", NULL, NULL, 0, NULL, 0 };
    c = sigv4_canonical(&empty, &sh);
    CHECK(c && strncmp(c, "POST\n/\n\n\n\n", 10) == 0);
    free(c);
    free(sh);
    const char *bad[] = { "no colon here" };
    struct sigv4_request rb = { "GET", "/", NULL, bad, 1, NULL, 0 };
    CHECK(sigv4_canonical(&rb, &sh) == NULL && sh == NULL);
    char d[17];
    sigv4_amz_date(1440938160, d);
    CHECK(strcmp(d, "20150830T123600Z") == 0);
    char *e = sigv4_uri_encode("a/b c~", true);
    CHECK(e && strcmp(e, "a/b%20c~") == 0);
    free(e);
}

static void test_parse_bad(void)
{
    struct sigv4_auth a;
    CHECK(sigv4_parse_authorization(NULL, &a) == -1);
    CHECK(sigv4_parse_authorization("Bearer x", &a) == -1);
    CHECK(sigv4_parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request, SignedHeaders=host", &a) == -1);
    CHECK(sigv4_parse_authorization("AWS4-HMAC-SHA256 Credential=AK/2015/r/s/aws4_request, SignedHeaders=host, "
                                    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", &a) == -1);
    CHECK(sigv4_parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/other, SignedHeaders=host, "
                                    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", &a) == -1);
    CHECK(sigv4_parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request/x, SignedHeaders=host, "
                                    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", &a) == -1);
    CHECK(sigv4_parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request,SignedHeaders=host,"
                                    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", &a) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_iam_vector();
    test_bedrock_vector();
    test_canonical_forms();
    test_parse_bad();
    UNIT_END("sigv4");
}
