/* calendar — the CoC's calendar: which local day a moment falls on.
 *
 * Owns: the time zone the daemon and the DQ worker count days in (an IANA
 * name, `--timezone`; default the system's), checked once at start. Wire
 * timestamps stay UTC; only "which day is it" — today, an exit in the
 * future, APR Q6e's days late — is asked here. Process-wide (TZ), set once
 * before any thread starts. */
#ifndef EXF_CALENDAR_H
#define EXF_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Uses `zone` ("America/Chicago", "UTC"; NULL or "" keeps the system's).
 * False, with `why`, when it is not a zone of the system's tz database:
 * glibc would silently count in UTC instead. */
bool calendar_set_zone (const char *zone, char *why, size_t cap);
/* The zone in use, for logs and stats: the name given, else the
 * system's by its IANA name (TZ, else /etc/localtime's link under
 * zoneinfo, else "UTC"). */
const char *calendar_zone (void);
/* The local day (days since 1970-01-01) of `ms` since the epoch. */
int64_t calendar_day_of_ms (int64_t ms);

#endif
