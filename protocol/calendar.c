/* calendar — the CoC's local calendar. See calendar.h. */
#define _DEFAULT_SOURCE
#include "calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"

#define ZONEINFO "/usr/share/zoneinfo/"

static char zone_name[64] = "UTC";

static bool
zone_name_ok (const char *zone)
{
    if (zone[0] == '/' || strstr (zone, "..") || strlen (zone) >= sizeof zone_name)
        return false;
    for (const char *p = zone; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
              || (*p >= '0' && *p <= '9') || strchr ("/_+-", *p)))
            return false;
    return true;
}

/* Whether `zone` is a zone file of the system's tz database. */
static bool
zone_exists (const char *zone)
{
    char path[sizeof ZONEINFO + sizeof zone_name];
    struct stat st;
    if (!zone_name_ok (zone))
        return false;
    snprintf (path, sizeof path, ZONEINFO "%s", zone);
    return stat (path, &st) == 0 && S_ISREG (st.st_mode);
}

/* The system's zone by its IANA name, so that clients can name the zone
 * times are shown in: TZ when set (":Zone" too; a POSIX rule such as
 * "CET-1CEST" is shown as it is), else the zone /etc/localtime links to
 * under zoneinfo, else UTC (what glibc counts in without either). */
static void
name_system_zone (void)
{
    const char *tz = getenv ("TZ");
    if (tz && tz[0] == ':')
        tz++;
    char link[256];
    ssize_t n = readlink ("/etc/localtime", link, sizeof link - 1);
    const char *linked = NULL;
    if (n > 0) {
        link[n] = '\0';
        linked = strstr (link, "zoneinfo/");
        linked = linked ? linked + strlen ("zoneinfo/") : NULL;
    }
    const char *name = tz && tz[0] ? tz
                       : linked && zone_exists (linked) ? linked : "UTC";
    snprintf (zone_name, sizeof zone_name, "%s", name);
}

bool
calendar_set_zone (const char *zone, char *why, size_t cap)
{
    if (!zone || !zone[0]) {
        tzset ();
        name_system_zone ();
        return true;
    }
    if (!zone_name_ok (zone)) {
        snprintf (why, cap, "\"%s\" is not an IANA time zone name "
                  "(e.g. America/Chicago)", zone);
        return false;
    }
    if (!zone_exists (zone)) {
        snprintf (why, cap, "time zone \"%s\" is not in %s (is tzdata "
                  "installed?)", zone, ZONEINFO);
        return false;
    }
    setenv ("TZ", zone, 1);
    tzset ();
    snprintf (zone_name, sizeof zone_name, "%s", zone);
    return true;
}

const char *
calendar_zone (void)
{
    return zone_name;
}

int64_t
calendar_day_of_ms (int64_t ms)
{
    time_t t = (time_t) (ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    struct tm tm;
    if (!localtime_r (&t, &tm))
        return codec_days_of_ms (ms);
    /* the local date is the UTC date of the moment shifted by its offset */
    return codec_days_of_ms (ms + (int64_t) tm.tm_gmtoff * 1000);
}
