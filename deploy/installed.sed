# installed.sed — deploy/exitflow.cfg (the checkout's, for `make run`) as
# the installed system's /etc/exitflow/exitflow.cfg: one template, so the
# two never drift. The header about `make run` is replaced; ./var/ becomes
# /var/lib/exitflow (the units' StateDirectory=); the keys' places
# (/etc/exitflow/keys, /etc/exitflow/certs, made by the package) and the
# metrics address are added under each section; exitflow-web's pages are
# /usr/share/exitflow/web (deploy.mk's install-config rewrites it for
# another PREFIX) and its users file /etc/exitflow/web-users. Applied by
# deploy.mk, which fails when a ./var or checkout path is left.
1i\
#   exitflow configuration of an installed system (ZPL: exactly 4 spaces\
#   per indent level; a line starting with # is a comment), read by\
#   exitflowd, exitflow-dq, exitflow-notify and exitflow-web (their systemd\
#   units pass --config /etc/exitflow/exitflow.cfg). Command-line flags\
#   override it. After an edit: systemctl restart exitflowd (the workers\
#   and exitflow-web restart with it), or only the program you set up.\
#   The runbook: /usr/share/doc/exitflow/OPERATIONS.md.gz.\
#\
#   Written from the checkout's deploy/exitflow.cfg by deploy/installed.sed.
1,/^$/d
s|= \./var/exitflow$|= /var/lib/exitflow/data|
s|file:\./var/notifications\.jsonl|file:/var/lib/exitflow/notifications.jsonl|
/^exitflowd$/a\
#   CURVE: the daemon's secret certificate, and the directory of the\
#   clients' public certificates (a file added grants access, a file\
#   deleted revokes it, both within a second, without a restart)\
    server-cert = /etc/exitflow/keys/server_secret\
    certs = /etc/exitflow/certs\
#   /metrics and /health (deploy/OPERATIONS.md, "Metrics and health"):\
#   loopback only unless you move it to a private address\
    http = 127.0.0.1:5572
/^dq$/a\
#   the worker's certificate and the daemon's public key\
    cert = /etc/exitflow/keys/worker_secret\
    server_key = /etc/exitflow/keys/server
/^notify$/a\
#   the worker's certificate and the daemon's public key\
    cert = /etc/exitflow/keys/worker_secret\
    server_key = /etc/exitflow/keys/server\
#   the delivery record: what was sent, so a restart sends nothing twice\
    state = /var/lib/exitflow/notify-notify.state
/^#   exitflow-web, the web front end/,/^web$/c\
#   exitflow-web, the web front end (exitflow-web(8); every key:\
#   exitflow-web --help; the runbook's "Web front end"). It finds the\
#   daemon in the exitflowd section. Loopback only: put it behind TLS (its\
#   own tls-cert and tls-key below, or a reverse proxy) before another\
#   machine may reach it.\
web\
#   its two certificates (role frontend for caseworkers, ops for ops and\
#   the live feed) and the daemon's public key, made by the package\
    frontend-cert = /etc/exitflow/keys/frontend_secret\
    ops-cert = /etc/exitflow/keys/ops_secret\
    server-key = /etc/exitflow/keys/server
s|^    static = clients/web/static$|    static = /usr/share/exitflow/web|
/^#   users: the users file/,/^#    users = /c\
#   the users file, read again when it changes: no accounts until you add\
#   them, as root: exitflow-web passwd NAME --role caseworker|ops\
#   --users /etc/exitflow/web-users (the password on stdin)\
    users = /etc/exitflow/web-users
/^#   HTTPS: a PEM certificate/,/^#    tls-key = /c\
#   HTTPS: a PEM certificate and its key, readable by the group exitflow\
#   (root:exitflow 0640; then the session cookie is Secure)\
#    tls-cert = /etc/exitflow/tls/web.pem\
#    tls-key = /etc/exitflow/tls/web.key
