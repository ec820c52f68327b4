#!/usr/bin/env bash
# try-deb.sh — the newcomer's path with the package, for real, in a Debian
# 12 system booted with systemd (make try-deb; not in make test: it takes
# minutes and the Debian archive).
#
#   deploy/try-deb.sh exitflow_VERSION_ARCH.deb [ROOT]
#
# ROOT (default /var/tmp/exitflow-try/root) is made with debootstrap
# bookworm when missing, then booted with systemd-nspawn -b (--keep-unit
# and --register=no: this machine's PID 1 is not systemd, so there is no
# machined or system bus to register with; the container shares the host's
# network, for apt). Inside it, each step printed with what it showed:
# apt install ./the.deb; systemctl start of the three units; exitflow demo
# with the admin certificate the package made; exitflow backup; exitflow
# export of today's exits (the demo's); exitflow-web (running since the
# install): a caseworker added with `exitflow-web passwd`, signed in with
# curl, an exit started and listed through the API; systemctl status and
# journalctl; a revoked certificate; a stop on SIGTERM; a start that fails
# with a status RestartPreventExitStatus= names (not restarted); an
# upgrade that keeps the keys and the web accounts; apt purge keeping the
# data, a reinstall serving it again (the kept caseworker signs in again);
# apt purge with EXITFLOW_PURGE_DATA=1. The container is powered off at the
# end, whatever happened (the root is kept for the next run).
set -u
deb=$(readlink -f "$1")
root=${2:-/var/tmp/exitflow-try/root}
log=$(dirname "$root")/nspawn.log
machine=exitflow-try

step() { printf '\n==== %s\n' "$*"; }
fail() { echo "try-deb: FAIL: $*"; failures=$((failures + 1)); }
failures=0

if [ ! -x "$root/lib/systemd/systemd" ]; then
    step "debootstrap bookworm into $root"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates \
        bookworm "$root" http://deb.debian.org/debian >"$(dirname "$root")/debootstrap.log" 2>&1 \
        || { echo "try-deb: debootstrap failed (see $(dirname "$root")/debootstrap.log)"; exit 1; }
    echo "$machine" >"$root/etc/hostname"
fi

step "boot $root with systemd-nspawn -b"
systemd-nspawn -q -D "$root" -b --keep-unit --register=no --console=read-only \
    -M "$machine" >"$log" 2>&1 &
nspawn=$!
# SIGTERM to systemd-nspawn asks the container's systemd to power off
trap 'kill "$nspawn" 2>/dev/null; wait "$nspawn" 2>/dev/null' EXIT
init=
for _ in $(seq 1 100); do
    init=$(ps -o pid=,comm= --ppid "$nspawn" | awk '$2 == "systemd" {print $1}')
    [ -n "$init" ] && break
    sleep 0.2
done
if [ -z "$init" ]; then
    echo "try-deb: the container did not boot:"; cat "$log"
    exit 1
fi
# a command inside the container, as root with a clean environment
inside() {
    nsenter -t "$init" -m -u -i -n -p -C -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 "$@"
}
for _ in $(seq 1 100); do
    state=$(inside systemctl is-system-running 2>/dev/null)
    case $state in running|degraded) break ;; esac
    sleep 0.3
done
echo "PID 1 in the container: $(inside cat /proc/1/comm), system $state"

cp "$deb" "$root/root/"
base=$(basename "$deb")

step "apt install ./$base"
inside sh -c "cd /root && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y ./$base" \
    2>&1 | grep -E '^(Setting up exitflow|exitflow|Created symlink|E:)' || true
inside dpkg -s exitflow | grep -E '^(Status|Version|Depends)'

step "systemctl start exitflowd exitflow-dq exitflow-notify"
inside systemctl start exitflowd exitflow-dq exitflow-notify || fail "systemctl start"
for u in exitflowd exitflow-dq exitflow-notify; do
    echo "$u: $(inside systemctl is-active "$u")"
done

step "keys and directories the package made"
inside ls -l /etc/exitflow/keys /etc/exitflow/certs
inside ls -ld /var/lib/exitflow /var/lib/exitflow/data /var/backups/exitflow
inside id exitflow

step "exitflow demo (as root: /etc/exitflow/keys/admin_secret by the key rule)"
inside sh -c 'cd /tmp && exitflow demo' | tail -n 12 || fail "exitflow demo"
inside sh -c 'cd /tmp && exitflow stats' | head -n 8

step "exitflow backup into /var/backups/exitflow (written by the sandboxed daemon)"
inside sh -c 'cd /tmp && rm -rf /var/backups/exitflow/try && exitflow backup /var/backups/exitflow/try' \
    || fail "exitflow backup"
inside ls -l /var/backups/exitflow/try

step "exitflow export of the exits finished today (the demo's: --include-demo)"
inside sh -c 'cd /tmp && rm -rf /root/hud-today && exitflow export --include-demo --out /root/hud-today' \
    || fail "exitflow export"
inside ls -l /root/hud-today
rows=$(inside sh -c 'tail -n +2 /root/hud-today/Exit.csv | wc -l')
echo "Exit.csv: $rows rows"
[ "${rows:-0}" -ge 1 ] || fail "exitflow export: no Exit.csv row for the demo's exit"
# a fresh directory: the root is kept between runs, and an export refuses
# a directory that is not empty (the last run's files would be read here)
none=$(inside sh -c 'cd /tmp && rm -rf /root/hud-none && exitflow export --out /root/hud-none' 2>&1) \
    || fail "exitflow export without --include-demo: $none"
tail -n 2 <<<"$none"
[ "$(inside sh -c 'tail -n +2 /root/hud-none/Exit.csv | wc -l')" = 0 ] \
    || fail "exitflow export without --include-demo exported the demo"

step "exitflow-web: installed running, on loopback, with no account"
inside systemctl is-enabled exitflow-web
echo "exitflow-web: $(inside systemctl is-active exitflow-web)"
inside sh -c 'ls -l /etc/exitflow/web-users /etc/exitflow/keys/frontend_secret /etc/exitflow/keys/ops_secret /etc/exitflow/certs/frontend /etc/exitflow/certs/ops'
inside sh -c 'command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null 2>&1'

step "exitflow-web passwd dana --role caseworker (as root, the password on stdin)"
password=try-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$password" | inside exitflow-web passwd dana --role caseworker \
    --users /etc/exitflow/web-users || fail "exitflow-web passwd"
inside ls -l /etc/exitflow/web-users

# Signs NAME in with curl (a cookie jar in /root), lists its exits, and,
# with `start`, starts a one-member household first; prints what each
# answered, fails on a status it should not get.
web_try() {
    name=$1 start=${2:-}
    inside rm -f /root/web.jar
    login=$(inside curl -s -o /dev/stdout -w '\n%{http_code}' -c /root/web.jar \
        -H 'Content-Type: application/json' \
        --data "{\"name\":\"$name\",\"password\":\"$password\"}" \
        http://127.0.0.1:8080/api/login)
    echo "POST /api/login: $(tail -n 1 <<<"$login") $(head -n 1 <<<"$login" | sed 's/"csrf":"[^"]*"/"csrf":"…"/')"
    [ "$(tail -n 1 <<<"$login")" = 200 ] || { fail "sign-in as $name"; return; }
    csrf=$(head -n 1 <<<"$login" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
    inside sh -c "grep -o 'HttpOnly' /root/web.jar >/dev/null && echo 'cookie jar: exitflow_session, HttpOnly'"
    if [ -n "$start" ]; then
        entry=$(date -u -d '-30 days' +%F)
        household="{\"enrollment_id\":\"E-try-1\",\"household_id\":\"HH-try-$(date +%s)\",\"project_id\":\"P-try\",\"project_type\":1,\"members\":[{\"client_id\":\"C-try-1\",\"enrollment_id\":\"E-try-1\",\"relationship\":1,\"entry_date\":\"$entry\",\"adult\":true}]}"
        started=$(inside curl -s -w '\n%{http_code}' -b /root/web.jar \
            -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
            --data "$household" http://127.0.0.1:8080/api/exits)
        echo "POST /api/exits: $(tail -n 1 <<<"$started") $(head -n 1 <<<"$started")"
        [ "$(tail -n 1 <<<"$started")" = 201 ] || fail "start an exit through exitflow-web"
    fi
    exits=$(inside curl -s -w '\n%{http_code}' -b /root/web.jar \
        'http://127.0.0.1:8080/api/exits?scope=project&project_id=P-try')
    echo "GET /api/exits?scope=project&project_id=P-try: $(tail -n 1 <<<"$exits") $(head -n 1 <<<"$exits" | cut -c1-300)"
    [ "$(tail -n 1 <<<"$exits")" = 200 ] || fail "GET /api/exits"
    grep -q "\"started_by\":\"$name\"" <<<"$exits" \
        || fail "GET /api/exits: no exit started by $name"
}

step "exitflow-web: sign in with curl, start an exit, GET /api/exits"
page=$(inside curl -s -o /dev/null -w '%{http_code} %{content_type}' http://127.0.0.1:8080/)
echo "GET /: $page"
case $page in 200\ text/html*) ;; *) fail "GET / of exitflow-web" ;; esac
web_try dana start

step "exitflow-web over HTTPS: its own certificate (self-signed here) in /etc/exitflow/tls"
inside sh -c 'install -d -o root -g exitflow -m 0750 /etc/exitflow/tls && cd /etc/exitflow/tls && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout web.key -out web.pem 2>/dev/null && chgrp exitflow web.key && chmod 0640 web.key && chmod 0644 web.pem && ls -l /etc/exitflow/tls'
# the config's two commented keys, as the runbook says; put back afterwards
inside sed -i -e 's|^#    tls-cert = |    tls-cert = |' -e 's|^#    tls-key = |    tls-key = |' /etc/exitflow/exitflow.cfg
inside systemctl restart exitflow-web
inside journalctl --no-pager -o cat -u exitflow-web | grep 'serving' | tail -n 1
head=$(inside curl -sk -o /dev/null -D - -H 'Content-Type: application/json' \
    --data "{\"name\":\"dana\",\"password\":\"$password\"}" https://127.0.0.1:8080/api/login)
echo "POST https://127.0.0.1:8080/api/login: $(head -n 1 <<<"$head" | tr -d '\r')"
echo "$(grep -i '^set-cookie:' <<<"$head" | sed 's/exitflow_session=[^;]*/exitflow_session=…/' | tr -d '\r')"
grep -qi '^set-cookie:.*; *Secure' <<<"$head" || fail "HTTPS sign-in: no Secure cookie"
inside sed -i -e 's|^    tls-cert = |#    tls-cert = |' -e 's|^    tls-key = |#    tls-key = |' /etc/exitflow/exitflow.cfg
inside systemctl restart exitflow-web

step "systemctl status exitflow-web"
inside systemctl status --no-pager exitflow-web | grep -vE '^\s*$' | head -n 20
[ "$(inside systemctl is-active exitflow-web)" = active ] || fail "exitflow-web is not active"
inside journalctl --no-pager -o cat -u exitflow-web | tail -n 8
inside systemd-analyze security --no-pager exitflow-web | tail -n 1

step "a user not in exitflow-admin, then in it"
inside sh -c 'id alice >/dev/null 2>&1 || useradd -m alice'
inside su alice -s /bin/sh -c 'cd && exitflow ping; echo "exit status $?"'
inside adduser --quiet alice exitflow-admin
inside su alice -s /bin/sh -c 'cd && exitflow ping; echo "exit status $?"'

step "systemctl status"
inside systemctl status --no-pager exitflowd exitflow-dq exitflow-notify exitflow-web | grep -vE '^\s*$' | head -n 50

step "journalctl -u exitflowd -u exitflow-dq -u exitflow-notify -u exitflow-web"
inside journalctl --no-pager -o short-iso -u exitflowd -u exitflow-dq -u exitflow-notify -u exitflow-web | tail -n 25

step "the sandbox: systemd-analyze security exitflowd"
inside systemd-analyze security --no-pager exitflowd | tail -n 3

step "revoke: a certificate for ops, used, then deleted from /etc/exitflow/certs"
inside sh -c 'cd /etc/exitflow/keys && { [ -e ops-try_secret ] || exitflow keygen ops-try --role ops --out /etc/exitflow/keys >/dev/null 2>&1; } && cp ops-try /etc/exitflow/certs/'
inside sh -c 'cd /tmp && exitflow --cert /etc/exitflow/keys/ops-try_secret ping; echo "with the certificate: exit status $?"'
inside rm /etc/exitflow/certs/ops-try
sleep 2
inside sh -c 'cd /tmp && exitflow --cert /etc/exitflow/keys/ops-try_secret --timeout 1000 --retries 0 ping; echo "after deleting it: exit status $?"'

step "systemctl stop exitflowd (SIGTERM; the workers and exitflow-web stop with it)"
inside systemctl stop exitflowd
for u in exitflowd exitflow-dq exitflow-notify exitflow-web; do
    echo "$u: $(inside systemctl is-active "$u")"
done
inside systemctl show exitflow-web -p ExecMainStatus -p Result
inside systemctl show exitflowd -p ExecMainStatus -p Result
inside journalctl --no-pager -o cat -u exitflowd | tail -n 3

step "a start that exits 2 (a bad setting) is not restarted"
inside mkdir -p /run/systemd/system/exitflowd.service.d
inside sh -c 'printf "[Service]\nExecStart=\nExecStart=/usr/bin/exitflowd --config /etc/exitflow/exitflow.cfg --max-connections 0\n" >/run/systemd/system/exitflowd.service.d/try.conf'
inside systemctl daemon-reload
inside systemctl start exitflowd 2>&1 | head -n 2
sleep 7
inside systemctl show exitflowd -p ActiveState -p Result -p ExecMainStatus -p NRestarts
[ "$(inside systemctl show exitflowd -p NRestarts --value)" = 0 ] || fail "exit 2 was restarted"
inside rm /run/systemd/system/exitflowd.service.d/try.conf
inside systemctl daemon-reload
inside systemctl reset-failed exitflowd
inside systemctl start exitflowd exitflow-dq exitflow-notify exitflow-web || fail "start again"

step "upgrade (the same package again): the keys and web accounts are kept, the services restarted"
kept="/etc/exitflow/keys/server_secret /etc/exitflow/keys/admin_secret /etc/exitflow/keys/frontend_secret /etc/exitflow/keys/ops_secret /etc/exitflow/web-users"
before=$(inside sh -c "md5sum $kept")
inside sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall ./$base >/dev/null 2>&1"
after=$(inside sh -c "md5sum $kept")
if [ "$before" = "$after" ]; then echo "keys and web-users unchanged"; else fail "the upgrade changed the keys or web-users"; fi
for u in exitflowd exitflow-web; do
    echo "$u: $(inside systemctl is-active "$u")"
done

step "apt purge exitflow (the data is kept)"
workflows=$(inside sh -c 'cd /tmp && exitflow stats --json' | tr -d ' \n' | grep -o '"workflows":{[^}]*}')
inside sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y exitflow' 2>&1 | grep -E '^(Purging|exitflow|Removing)' || true
inside ls -a /var/lib/exitflow /etc/exitflow
inside sh -c 'id exitflow || echo "no user exitflow"'

step "apt install again: the kept store and keys are served"
inside sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y ./$base >/dev/null 2>&1"
inside ls -ln /var/lib/exitflow
again=$(inside sh -c 'cd /tmp && exitflow stats --json' | tr -d ' \n' | grep -o '"workflows":{[^}]*}')
echo "before the purge: $workflows; after the reinstall: $again"
if [ -z "$workflows" ] || [ "$workflows" != "$again" ]; then
    fail "the store was not served again"
fi
echo "exitflow-web: $(inside systemctl is-active exitflow-web); the kept account signs in again:"
web_try dana

step "apt purge with EXITFLOW_PURGE_DATA=1"
inside sh -c 'EXITFLOW_PURGE_DATA=1 DEBIAN_FRONTEND=noninteractive apt-get purge -y exitflow' 2>&1 \
    | grep -E '^(Purging|exitflow)' || true
inside sh -c 'ls -a /var/lib/exitflow /etc/exitflow 2>&1; ls /var/backups'

echo "try-deb: $failures failure(s)"
[ "$failures" -eq 0 ]
