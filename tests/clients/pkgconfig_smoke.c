/* pkgconfig_smoke — builds against the installed header and library found
 * through libexitflow.pc alone, and makes one call (to nobody). */
#include <exitflow.h>
#include <stdio.h>
#include <string.h>

int
main (void)
{
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = 50;
    o.retries = 0;
    exitflow_client_t *c = exitflow_client_new ("tcp://127.0.0.1:1", &o);
    if (!c)
        return 1;
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_ping (c, &err);
    exitflow_client_destroy (&c);
    if (r || strcmp (err.code, EXITFLOW_UNREACHABLE) != 0 || c)
        return 1;
    printf ("pkg-config smoke: ok (%s)\n", err.code);
    return 0;
}
