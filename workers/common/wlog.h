/* wlog — the workers' log: one line per message on stderr, with the UTC
 * time and the program name. Ids and codes only, never client data. */
#ifndef EXF_WLOG_H
#define EXF_WLOG_H

void wlog_init (const char *program);
void wlog (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
