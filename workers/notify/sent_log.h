/* sent_log — the notifier's durable record of deliveries not yet acked.
 *
 * Owns: a small text file (./var/notify-<name>.state), one line per
 * (event seq, sink) whose notification was delivered or given up on since
 * the last consumer.ack: "<seq> <delivered|gave-up> <sink spec>\n". A line
 * is appended and fsync'd after the delivery and before the ack, so a
 * worker killed in between does not deliver again after its restart. When
 * the daemon has the ack, lines at or below it are dropped (rewrite to a
 * temporary file, fsync, rename). A torn last line is ignored. */
#ifndef EXF_SENT_LOG_H
#define EXF_SENT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sent_log sent_log_t;

/* Opens (creating) and reads the file. NULL with `why` on failure. */
sent_log_t *sent_log_new (const char *path, char *why, size_t cap);
void sent_log_destroy (sent_log_t **self_p);

bool sent_log_has (const sent_log_t *self, uint64_t seq, const char *sink);
/* Appends and fsyncs; 0 or an errno. */
int sent_log_add (sent_log_t *self, uint64_t seq, const char *sink,
                  const char *status);
/* Drops the entries with seq <= `acked`; 0 or an errno. */
int sent_log_trim (sent_log_t *self, uint64_t acked);
size_t sent_log_size (const sent_log_t *self);

#endif
