/*
 * SigV4 verification as AWS's front end does it: the Authorization header
 * taken apart, the headers it names gathered from the request, the
 * signature recomputed with the simulator's secret (shared/sigv4.c) and
 * compared.  Failures answer 403 with the exception AWS names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"
#include "sim_bedrock.h"

/* AWS refuses requests stamped further than this from its clock. */
#define SKEW_SECONDS (15 * 60)

static int deny(struct sim_bdr_error *e, const char *type, const char *msg)
{
	memset(e, 0, sizeof(*e));
	e->status = 403;
	e->type = type;
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return -1;
}

static long long parse_amz_date(const char *s)
{
	struct tm tm = { 0 };
	if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return -1;
	return (long long)timegm(&tm);
}

int sim_bdr_verify(const struct sim_bdr_signed *r, const char *access_key, const char *secret,
		   struct sim_bdr_error *e)
{
	const char *auth = r->header(r->header_arg, "authorization");
	if (!auth)
		return deny(e, "MissingAuthenticationTokenException", "Missing Authentication Token");
	if (strncmp(auth, "Bearer ", 7) == 0 && !access_key)
		return 0;
	struct sigv4_auth a;
	if (sigv4_parse_authorization(auth, &a) < 0)
		return deny(e, "IncompleteSignatureException",
			    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
			    "parameters.");
	if (!access_key)
		return 0;
	if (strcmp(a.access_key, access_key) != 0)
		return deny(e, "UnrecognizedClientException", "The security token included in the request is invalid.");
	if (strcmp(a.service, "bedrock") != 0)
		return deny(e, "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'.");
	const char *date = r->header(r->header_arg, "x-amz-date");
	long long t = parse_amz_date(date);
	if (t < 0 || strncmp(date, a.date, 8) != 0)
		return deny(e, "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope.");
	if (t < r->now - SKEW_SECONDS || t > r->now + SKEW_SECONDS)
		return deny(e, "InvalidSignatureException", "Signature expired: the request time is too far from the server time.");

	/* The named headers, "name: value", in the order named. */
	char names[1024];
	snprintf(names, sizeof(names), "%s", a.signed_headers);
	const char *hv[32];
	char *lines[32];
	size_t n = 0;
	int rc = 0;
	bool host = false;
	for (char *save = NULL, *nm = strtok_r(names, ";", &save); nm && rc == 0; nm = strtok_r(NULL, ";", &save)) {
		const char *v = r->header(r->header_arg, nm);
		host = host || strcmp(nm, "host") == 0;
		if (!v || n == 32) {
			rc = deny(e, "IncompleteSignatureException", "A header named in SignedHeaders is missing.");
			break;
		}
		if (asprintf(&lines[n], "%s: %s", nm, v) < 0) {
			rc = deny(e, "InternalFailure", "out of memory");
			break;
		}
		hv[n] = lines[n];
		n++;
	}
	if (rc == 0 && !host)
		rc = deny(e, "IncompleteSignatureException", "SignedHeaders must include host.");
	if (rc == 0) {
		struct sigv4_request sr = { r->method, r->path, r->query, hv, n, r->body, r->body_len };
		struct sigv4_key k = { a.access_key, secret, a.region, a.service };
		char sig[65], *sh = NULL;
		if (sigv4_signature(&k, date, &sr, sig, &sh) < 0)
			rc = deny(e, "InternalFailure", "out of memory");
		else if (strcmp(sig, a.signature) != 0)
			rc = deny(e, "InvalidSignatureException",
				  "The request signature we calculated does not match the signature you provided. "
				  "Check your AWS Secret Access Key and signing method. Consult the service "
				  "documentation for details.");
		free(sh);
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	return rc;
}
