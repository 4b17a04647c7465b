/*
 * curlm: one libcurl multi handle driven by a libevent base (the hiperfifo
 * shape: curl says which sockets and timeout to watch, libevent tells curl
 * when they fire), with a pool of easy handles so a transfer does not pay
 * for curl_easy_init.  Connections stay alive in the multi handle's cache
 * and are reused across transfers.  The gateway's libcurl upstream backend
 * (gateway/gw_up_curl.c) and the controller's health probes
 * (controller/ctr_probe.c) both run their transfers here.
 *
 * A transfer is a struct curlm_job its owner embeds in its own state: the
 * owner sets easy up (any options but CURLOPT_PRIVATE and the socket
 * callbacks, which are curlm's), then curlm_add.  done() runs once when the
 * transfer ends, from the event loop, after easy left the multi handle;
 * curlm_remove ends it without done().  The owner holds the easy handle
 * from curlm_easy until curlm_release.
 */
#ifndef BS_CURLM_H
#define BS_CURLM_H

#include <curl/curl.h>
#include <event2/event.h>

struct curlm;

struct curlm_job {
    CURL *easy;
    void (*done)(struct curlm_job *job, CURLcode rc);
};

/* max_host_connections: CURLMOPT_MAX_HOST_CONNECTIONS (0: no limit). */
struct curlm *curlm_new(struct event_base *base, long max_host_connections);
/* Transfers must be removed or done first. */
void curlm_free(struct curlm *m);

/* A reset handle from the pool, or NULL on out of memory. */
CURL *curlm_easy(struct curlm *m);
/* Back to the pool, reset (not while in a transfer); NULL is ignored. */
void curlm_release(struct curlm *m, CURL *easy);

/* 0, or -1 (logged; done() will not run). */
int curlm_add(struct curlm *m, struct curlm_job *job);
/* Takes a running transfer out of the multi handle; done() will not run. */
void curlm_remove(struct curlm *m, struct curlm_job *job);

#endif
