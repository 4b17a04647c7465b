/*
 * Anthropic models on Vertex AI: POST .../publishers/anthropic/models/
 * {model}:rawPredict and :streamRawPredict.  The Anthropic body without
 * "model" (the URL names it) and with "anthropic_version" in place of the
 * header, under a bearer token.  After those checks the request is the
 * Anthropic route's, with the model and version put back where that route
 * reads them.  (Gemini on Vertex is served by sim_gemini_route.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sim_server.h"

static void refuse(struct evhttp_request *req, int status, const char *type, const char *message)
{
	json_t *e = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message", message);
	char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	sim_http_send_json(req, status, s);
}

bool sim_route_vertex(struct sim_server *srv, struct evhttp_request *req, const char *path)
{
	static const char pub[] = "/publishers/anthropic/models/";
	const char *m = strstr(path, pub);
	const char *colon = m ? strchr(m + strlen(pub), ':') : NULL;
	if (!colon || colon == m + strlen(pub))
		return false;
	bool stream = strcmp(colon, ":streamRawPredict") == 0;
	if (!stream && strcmp(colon, ":rawPredict") != 0)
		return false;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		refuse(req, 405, "invalid_request_error", "Method not allowed for this URL.");
		return true;
	}
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	const char *auth = evhttp_find_header(hdr, "authorization");
	if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
		json_t *e = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", 401, "message",
				      "Request had invalid authentication credentials.", "status", "UNAUTHENTICATED");
		char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(e);
		sim_http_send_json(req, 401, s);
		return true;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *body = len ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL) : NULL;
	const char *version = json_string_value(json_object_get(body, "anthropic_version"));
	if (!json_is_object(body) || !version) {
		refuse(req, 400, "invalid_request_error", "anthropic_version: Field required");
	} else if (json_object_get(body, "model")) {
		refuse(req, 400, "invalid_request_error", "model: Extra inputs are not permitted");
	} else {
		char model[256];
		snprintf(model, sizeof(model), "%.*s", (int)(colon - m - strlen(pub)), m + strlen(pub));
		evhttp_remove_header(hdr, "anthropic-version");
		evhttp_add_header(hdr, "anthropic-version", version);
		if (!evhttp_find_header(hdr, "x-api-key"))
			evhttp_add_header(hdr, "x-api-key", auth);
		json_object_del(body, "anthropic_version");
		json_object_set_new(body, "model", json_string(model));
		char *text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			evhttp_send_error(req, 500, NULL);
		} else {
			evbuffer_drain(in, len);
			evbuffer_add(in, text, strlen(text));
			free(text);
			sim_chat_anthropic(srv, req);
		}
	}
	json_decref(body);
	return true;
}
