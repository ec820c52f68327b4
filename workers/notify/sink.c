/* sink — making sinks from specs and delivering with retries. See sink.h. */
#include "workers/notify/sink.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/common/stop.h"

static bool
starts_with (const char *s, const char *prefix)
{
    return strncmp (s, prefix, strlen (prefix)) == 0;
}

sink_t *
sink_new (const char *spec, const sink_options_t *options, char *why,
          size_t cap)
{
    static const sink_options_t defaults = { NULL, NULL, 0 };
    if (!options)
        options = &defaults;
    sink_t *sink = NULL;
    if (strlen (spec) >= SINK_SPEC_MAX)
        snprintf (why, cap, "sink spec longer than %d bytes", SINK_SPEC_MAX - 1);
    else if (strpbrk (spec, " \t\r\n"))
        snprintf (why, cap, "sink spec contains white space");
    else if (starts_with (spec, "file:")) {
        if (!spec[5])
            snprintf (why, cap, "file: needs a path");
        else
            sink = sink_file_new (spec + 5);
    } else if (starts_with (spec, "http://") || starts_with (spec, "https://")) {
        sink = sink_http_new (spec, options);
    } else if (starts_with (spec, "smtp://") || starts_with (spec, "smtps://")) {
        sink = sink_smtp_new (spec, options);
    } else
        snprintf (why, cap, "unknown sink \"%s\": use file:PATH, "
                  "http://HOST:PORT/PATH or smtp://HOST:PORT", spec);
    if (sink)
        snprintf (sink->spec, sizeof sink->spec, "%s", spec);
    else if (!why[0])
        snprintf (why, cap, "cannot make sink %s: %s", spec, strerror (errno));
    return sink;
}

void
sink_destroy (sink_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sink_t *self = *self_p;
    if (self->destroy)
        self->destroy (self);
    free (self);
    *self_p = NULL;
}

deliver_result_t
sink_deliver (sink_t *sink, const notification_t *n,
              const retry_policy_t *policy, volatile sig_atomic_t *stop,
              int *attempts, char *why, size_t cap)
{
    int max = policy && policy->attempts > 0 ? policy->attempts : 1;
    int backoff = policy ? policy->backoff_ms : 0;
    int backoff_max = policy ? policy->backoff_max_ms : 0;
    int tries = 0;
    deliver_result_t result = DELIVER_GAVE_UP;
    while (tries < max) {
        why[0] = '\0';
        sink_status_t st = sink->deliver (sink, n, why, cap);
        tries++;
        if (st == SINK_OK) {
            result = DELIVER_OK;
            break;
        }
        if (st == SINK_FAIL || tries == max)
            break;
        if (!stop_wait_ms (stop, backoff)) {
            result = DELIVER_STOPPED;
            break;
        }
        backoff = backoff * 2 > backoff_max ? backoff_max : backoff * 2;
    }
    if (attempts)
        *attempts = tries;
    return result;
}

/* ---- the libcurl sinks ---- */

static void
curl_destroy (sink_t *self)
{
    sink_curl_t *c = self->impl;
    curl_easy_cleanup (c->curl);
    free (c);
}

sink_t *
sink_curl_new (const char *kind, sink_deliver_fn *deliver, size_t impl_size,
               const sink_options_t *options)
{
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = true;
    }
    sink_t *sink = calloc (1, sizeof *sink);
    sink_curl_t *c = calloc (1, impl_size);
    if (sink && c)
        c->curl = curl_easy_init ();
    if (!sink || !c || !c->curl) {
        free (sink);
        free (c);
        return NULL;
    }
    c->timeout_ms = options && options->timeout_ms > 0 ? options->timeout_ms
                                                       : 10000;
    sink->kind = kind;
    sink->impl = c;
    sink->deliver = deliver;
    sink->delivered = NULL;
    sink->destroy = curl_destroy;
    return sink;
}

void *
sink_curl_start (sink_t *self, const char *protocols)
{
    sink_curl_t *s = self->impl;
    CURL *c = s->curl;
    curl_easy_reset (c);
    curl_easy_setopt (c, CURLOPT_URL, self->spec);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, protocols);
    return c;
}

bool
sink_curl_perform (void *curl, long *code, const char **error)
{
    CURLcode rc = curl_easy_perform (curl);
    *code = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, code);
    *error = rc == CURLE_OK ? NULL : curl_easy_strerror (rc);
    return rc == CURLE_OK;
}
