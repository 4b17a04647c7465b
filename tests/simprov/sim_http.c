#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sim_openai.h"
#include "sim_server.h"

/* libevent's own table stops short of codes tests use (429 among them). */
const char *sim_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 529: return "Site Overloaded";
	default: return status >= 500 ? "Server Error" : "Client Error";
	}
}

void sim_http_send_json(struct evhttp_request *req, int status, char *body)
{
	if (!body) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	struct evbuffer *buf = evbuffer_new();
	if (!buf) {
		free(body);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(buf, body, strlen(body));
	free(body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	evhttp_send_reply(req, status, sim_http_reason(status), buf);
	evbuffer_free(buf);
}

void sim_http_send_error(struct evhttp_request *req, int status,
			 const char *type, const char *code,
			 const char *param, const char *message)
{
	struct sim_oai_error e = {
		.status = status, .type = type, .code = code, .param = param,
	};
	snprintf(e.message, sizeof(e.message), "%s", message);
	sim_http_send_json(req, status, sim_oai_render_error(&e));
}
