/* sink_http — a JSON POST per notification (libcurl). See sink.h. */
#include "sink.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    CURL *curl;
    long timeout_ms;
} http_sink_t;

static size_t
discard (char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void) ptr;
    (void) arg;
    return size * nmemb;
}

static bool
retryable_status (long code)
{
    return code == 408 || code == 425 || code == 429 || code >= 500;
}

static sink_status_t
http_deliver (sink_t *self, const notification_t *n, char *why, size_t cap)
{
    http_sink_t *h = self->impl;
    strbuf_t body, key;
    strbuf_init (&body);
    strbuf_init (&key);
    notification_json (n, &body);
    strbuf_printf (&key, "Idempotency-Key: %s", n->id);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append (headers, "Content-Type: application/json");
    headers = curl_slist_append (headers, key.data);
    headers = curl_slist_append (headers, "Expect:");

    CURL *c = h->curl;
    curl_easy_reset (c);
    curl_easy_setopt (c, CURLOPT_URL, self->spec);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_POST, 1L);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long) body.len);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (c, CURLOPT_USERAGENT, "exitflow-notify/1");
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");

    sink_status_t status;
    CURLcode rc = curl_easy_perform (c);
    long code = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        snprintf (why, cap, "POST %s: %s", self->spec, curl_easy_strerror (rc));
        status = SINK_RETRY;
    } else if (code >= 200 && code < 300)
        status = SINK_OK;
    else {
        snprintf (why, cap, "POST %s: HTTP %ld", self->spec, code);
        status = retryable_status (code) ? SINK_RETRY : SINK_FAIL;
    }
    curl_slist_free_all (headers);
    strbuf_free (&body);
    strbuf_free (&key);
    return status;
}

static void
http_destroy (sink_t *self)
{
    http_sink_t *h = self->impl;
    curl_easy_cleanup (h->curl);
    free (h);
}

sink_t *
sink_http_new (const char *url, const sink_options_t *options)
{
    (void) url;
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = true;
    }
    sink_t *sink = calloc (1, sizeof *sink);
    http_sink_t *h = calloc (1, sizeof *h);
    if (sink && h)
        h->curl = curl_easy_init ();
    if (!sink || !h || !h->curl) {
        free (sink);
        free (h);
        return NULL;
    }
    h->timeout_ms = options && options->timeout_ms > 0 ? options->timeout_ms
                                                       : 10000;
    sink->kind = "http";
    sink->impl = h;
    sink->deliver = http_deliver;
    sink->delivered = NULL;
    sink->destroy = http_destroy;
    return sink;
}
