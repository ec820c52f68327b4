/* sink_smtp — one mail per notification (libcurl). See sink.h. */
#include "workers/notify/sink.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    sink_curl_t base;
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

/* The mail: headers, then notification_text. NULL when out of memory. */
static char *
compose (const smtp_sink_t *s, const notification_t *n, const char *to,
         size_t *len)
{
    char *mail = NULL;
    FILE *f = open_memstream (&mail, len);
    if (!f)
        return NULL;
    char date[64];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    fprintf (f, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n"
             "Message-ID: <%s@exitflow>\r\nX-Exitflow-Id: %s\r\n"
             "Subject: ", date, s->from, to, n->id, n->id);
    notification_subject (n, f);
    fputs ("\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n", f);
    notification_text (n, f);
    if (fclose (f) != 0) {
        free (mail);
        return NULL;
    }
    return mail;
}

static sink_status_t
smtp_deliver (sink_t *self, const notification_t *n, char *why, size_t cap)
{
    smtp_sink_t *s = self->impl;
    struct curl_slist *rcpt = NULL;
    char to[sizeof n->actor + 3 * NOTE_ADDR_MAX], addr[sizeof to];
    to[0] = '\0';
    if (n->actor[0] && s->actor_domain[0] && plain_local_part (n->actor)) {
        snprintf (addr, sizeof addr, "<%s@%s>", n->actor, s->actor_domain);
        rcpt = curl_slist_append (rcpt, addr);
        snprintf (to, sizeof to, "%s@%s", n->actor, s->actor_domain);
    }
    if (n->ops[0] && plain_address (n->ops)) {
        snprintf (addr, sizeof addr, "<%s>", n->ops);
        rcpt = curl_slist_append (rcpt, addr);
        size_t used = strlen (to);
        snprintf (to + used, sizeof to - used, "%s%s", used ? ", " : "",
                  n->ops);
    }
    if (!rcpt) {
        snprintf (why, cap, "no recipient: set notify/ops, or "
                  "notify/actor-domain for the caseworker");
        return SINK_FAIL;
    }
    size_t len = 0;
    char *mail = compose (s, n, to, &len);
    if (!mail) {
        snprintf (why, cap, "cannot compose the mail: out of memory");
        curl_slist_free_all (rcpt);
        return SINK_RETRY;
    }

    snprintf (addr, sizeof addr, "<%s>", s->from);
    reader_t r = { mail, len, 0 };
    CURL *c = sink_curl_start (self, "smtp,smtps");
    curl_easy_setopt (c, CURLOPT_MAIL_FROM, addr);
    curl_easy_setopt (c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt (c, CURLOPT_READFUNCTION, read_payload);
    curl_easy_setopt (c, CURLOPT_READDATA, &r);
    curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);

    sink_status_t status = SINK_OK;
    long code;
    const char *error;
    if (!sink_curl_perform (c, &code, &error)) {
        snprintf (why, cap, "SMTP %s: %s (reply %ld)", self->spec, error, code);
        /* 5xx is the server's final no; 4xx and no reply are worth a retry */
        status = code >= 500 && code < 600 ? SINK_FAIL : SINK_RETRY;
    }
    curl_slist_free_all (rcpt);
    free (mail);
    return status;
}

sink_t *
sink_smtp_new (const char *url, const sink_options_t *options)
{
    (void) url;
    sink_t *sink = sink_curl_new ("smtp", smtp_deliver, sizeof (smtp_sink_t),
                                  options);
    if (!sink)
        return NULL;
    smtp_sink_t *s = sink->impl;
    snprintf (s->from, sizeof s->from, "%s",
              options && options->from && options->from[0]
              ? options->from : "exitflow@localhost");
    snprintf (s->actor_domain, sizeof s->actor_domain, "%s",
              options && options->actor_domain ? options->actor_domain : "");
    return sink;
}
