/* sink_smtp — one mail per notification (libcurl). See sink.h. */
#include "sink.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    CURL *curl;
    long timeout_ms;
    char from[NOTE_ADDR_MAX];
    char actor_domain[NOTE_ADDR_MAX];
} smtp_sink_t;

typedef struct {
    const char *data;
    size_t len, off;
} reader_t;

static size_t
read_payload (char *ptr, size_t size, size_t nmemb, void *arg)
{
    reader_t *r = arg;
    size_t room = size * nmemb, left = r->len - r->off;
    size_t n = left < room ? left : room;
    memcpy (ptr, r->data + r->off, n);
    r->off += n;
    return n;
}

/* An address we are willing to put on an envelope: no spaces, brackets or
 * line breaks, one @ with something on both sides. */
static bool
plain_address (const char *a)
{
    const char *at = strchr (a, '@');
    if (!at || at == a || !at[1] || strchr (at + 1, '@'))
        return false;
    for (const char *p = a; *p; p++)
        if ((unsigned char) *p <= ' ' || strchr ("<>()[],;:\"\\", *p))
            return false;
    return true;
}

/* Ids become local parts only when they are plainly safe. */
static bool
plain_local_part (const char *id)
{
    if (!id[0])
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || strchr ("._+-", *p)))
            return false;
    return true;
}

static sink_status_t
smtp_deliver (sink_t *self, const notification_t *n, char *why, size_t cap)
{
    smtp_sink_t *s = self->impl;
    struct curl_slist *rcpt = NULL;
    strbuf_t to, mail, addr;
    strbuf_init (&to);
    strbuf_init (&mail);
    strbuf_init (&addr);
    if (n->actor[0] && s->actor_domain[0] && plain_local_part (n->actor)) {
        strbuf_printf (&addr, "<%s@%s>", n->actor, s->actor_domain);
        rcpt = curl_slist_append (rcpt, addr.data);
        strbuf_printf (&to, "%s@%s", n->actor, s->actor_domain);
    }
    if (n->ops[0] && plain_address (n->ops)) {
        strbuf_reset (&addr);
        strbuf_printf (&addr, "<%s>", n->ops);
        rcpt = curl_slist_append (rcpt, addr.data);
        strbuf_printf (&to, "%s%s", to.len ? ", " : "", n->ops);
    }
    if (!rcpt) {
        snprintf (why, cap, "no recipient: set notify/ops, or "
                  "notify/actor-domain for the caseworker");
        strbuf_free (&to);
        strbuf_free (&mail);
        strbuf_free (&addr);
        return SINK_FAIL;
    }

    char date[64];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    strbuf_printf (&mail, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n"
                   "Message-ID: <%s@exitflow>\r\nX-Exitflow-Id: %s\r\n"
                   "Subject: ", date, s->from, to.data, n->id, n->id);
    notification_subject (n, &mail);
    strbuf_puts (&mail, "\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n\r\n");
    notification_text (n, &mail);

    strbuf_reset (&addr);
    strbuf_printf (&addr, "<%s>", s->from);
    reader_t r = { mail.data, mail.len, 0 };
    CURL *c = s->curl;
    curl_easy_reset (c);
    curl_easy_setopt (c, CURLOPT_URL, self->spec);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_MAIL_FROM, addr.data);
    curl_easy_setopt (c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt (c, CURLOPT_READFUNCTION, read_payload);
    curl_easy_setopt (c, CURLOPT_READDATA, &r);
    curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");

    CURLcode rc = curl_easy_perform (c);
    long code = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    sink_status_t status = SINK_OK;
    if (rc != CURLE_OK) {
        snprintf (why, cap, "SMTP %s: %s (reply %ld)", self->spec,
                  curl_easy_strerror (rc), code);
        /* 5xx is the server's final no; 4xx and no reply are worth a retry */
        status = code >= 500 && code < 600 ? SINK_FAIL : SINK_RETRY;
    }
    curl_slist_free_all (rcpt);
    strbuf_free (&to);
    strbuf_free (&mail);
    strbuf_free (&addr);
    return status;
}

static void
smtp_destroy (sink_t *self)
{
    smtp_sink_t *s = self->impl;
    curl_easy_cleanup (s->curl);
    free (s);
}

sink_t *
sink_smtp_new (const char *url, const sink_options_t *options)
{
    (void) url;
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = true;
    }
    sink_t *sink = calloc (1, sizeof *sink);
    smtp_sink_t *s = calloc (1, sizeof *s);
    if (sink && s)
        s->curl = curl_easy_init ();
    if (!sink || !s || !s->curl) {
        free (sink);
        free (s);
        return NULL;
    }
    s->timeout_ms = options && options->timeout_ms > 0 ? options->timeout_ms
                                                       : 10000;
    snprintf (s->from, sizeof s->from, "%s",
              options && options->from && options->from[0]
              ? options->from : "exitflow@localhost");
    snprintf (s->actor_domain, sizeof s->actor_domain, "%s",
              options && options->actor_domain ? options->actor_domain : "");
    sink->kind = "smtp";
    sink->impl = s;
    sink->deliver = smtp_deliver;
    sink->delivered = NULL;
    sink->destroy = smtp_destroy;
    return sink;
}
