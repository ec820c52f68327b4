/* sink_http — a JSON POST per notification (libcurl). See sink.h. */
#include "workers/notify/sink.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *body = notification_json (n);
    char key[sizeof n->id + 32];
    snprintf (key, sizeof key, "Idempotency-Key: %s", n->id);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append (headers, "Content-Type: application/json");
    headers = curl_slist_append (headers, key);
    headers = curl_slist_append (headers, "Expect:");

    CURL *c = sink_curl_start (self, "http,https");
    curl_easy_setopt (c, CURLOPT_POST, 1L);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (c, CURLOPT_USERAGENT, "exitflow-notify/1");
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, discard);

    sink_status_t status;
    long code;
    const char *error;
    if (!sink_curl_perform (c, &code, &error)) {
        snprintf (why, cap, "POST %s: %s", self->spec, error);
        status = SINK_RETRY;
    } else if (code >= 200 && code < 300)
        status = SINK_OK;
    else {
        snprintf (why, cap, "POST %s: HTTP %ld", self->spec, code);
        status = retryable_status (code) ? SINK_RETRY : SINK_FAIL;
    }
    curl_slist_free_all (headers);
    free (body);
    return status;
}

sink_t *
sink_http_new (const char *url, const sink_options_t *options)
{
    (void) url;
    return sink_curl_new ("http", http_deliver, sizeof (sink_curl_t), options);
}
