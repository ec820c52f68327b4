// live.js — the one EventSource on /api/live for the whole page. Pages
// subscribe while they are shown; each change (seq, type, workflow_id,
// client_id, actor, ts — never step data) goes to every subscriber. The
// browser reconnects by itself, sending Last-Event-ID; an `event: reload`
// (the gateway no longer holds what we missed) tells subscribers to re-read.

import * as api from "./api.js";

const subscribers = new Set();
let source = null;

function dispatch(kind, change) {
  for (const fn of [...subscribers]) fn(kind, change);
}

const RETRY_MS = 5000;
let retryTimer = null;

export function start() {
  if (source) return;
  source = new EventSource("/api/live");
  source.addEventListener("error", () => {
    if (!source || source.readyState !== EventSource.CLOSED) return; // it retries itself
    source = null;
    retryTimer = setTimeout(async () => {
      retryTimer = null;
      try {
        await api.get("/api/me");
      } catch (e) {
        if (e.status === 401) return; // signed out: the app shows sign-in
      }
      start();
      dispatch("reload", null);
    }, RETRY_MS);
  });
  source.addEventListener("change", (e) => {
    let change;
    try {
      change = JSON.parse(e.data);
    } catch {
      return;
    }
    dispatch("change", change);
  });
  source.addEventListener("reload", () => dispatch("reload", null));
}

export function stop() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (source) source.close();
  source = null;
}

// fn(kind, change): kind is "change" or "reload". Returns the unsubscribe.
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}
