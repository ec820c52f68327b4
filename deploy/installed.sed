# installed.sed — deploy/exitflow.cfg (the checkout's, for `make run`) as
# the installed system's /etc/exitflow/exitflow.cfg: one template, so the
# two never drift. The header about `make run` is replaced; ./var/ becomes
# /var/lib/exitflow (the units' StateDirectory=); the keys' places
# (/etc/exitflow/keys, /etc/exitflow/certs, made by the package) and the
# metrics address are added under each section. Applied by deploy.mk, which
# fails when a ./var path is left.
1i\
#   exitflow configuration of an installed system (ZPL: exactly 4 spaces\
#   per indent level; a line starting with # is a comment), read by\
#   exitflowd, exitflow-dq and exitflow-notify (their systemd units pass\
#   --config /etc/exitflow/exitflow.cfg). Command-line flags override it.\
#   After an edit: systemctl restart exitflowd exitflow-dq exitflow-notify.\
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
