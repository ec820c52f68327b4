// app.js — the page shell: who is signed in, the router (location hash:
// #/exits, #/exit/WORKFLOW_ID, #/board — workflow ids only, never client
// data), the shared notice line, and /api/codes read once per sign-in.

import * as api from "./api.js";
import * as live from "./live.js";
import { h, fill, setTimeZone, zoneName } from "./dom.js";
import * as signin from "./signin.js";
import * as exits from "./exits.js";
import * as guided from "./guided.js";
import * as board from "./board.js";

const ROUTES = [
  { pattern: /^#\/exits$/, page: exits },
  { pattern: /^#\/exit\/([0-9A-Za-z]{26})$/, page: guided },
  { pattern: /^#\/board$/, page: board },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const signOut = document.getElementById("sign-out");
const notice = document.getElementById("notice");
const zone = document.getElementById("zone");

const app = {
  me: null,
  codesPromise: null,
  codes() {
    if (!this.codesPromise) this.codesPromise = api.get("/api/codes").catch((e) => { this.codesPromise = null; throw e; });
    return this.codesPromise;
  },
  canChange() {
    return this.me && this.me.role === "caseworker";
  },
  notify(text) {
    notice.textContent = text;
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  signedIn(me) {
    this.me = { user: me.user, role: me.role };
    api.setCsrf(me.csrf);
    setTimeZone(me.timezone);
    zone.textContent = `Times in ${zoneName()}`;
    who.textContent = `${me.user} (${me.role})`;
    nav.hidden = false;
    signOut.hidden = false;
    live.start();
    route();
  },
};

let cleanup = null;

function homeHash() {
  return app.me.role === "ops" ? "#/board" : "#/exits";
}

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  notice.textContent = "";
  if (!app.me) {
    cleanup = signin.render(main, app);
    return;
  }
  const hash = location.hash;
  for (const { pattern, page } of ROUTES) {
    const m = pattern.exec(hash);
    if (!m) continue;
    for (const a of nav.querySelectorAll("a")) {
      if (a.getAttribute("href") === hash) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    cleanup = page.render(main, app, ...m.slice(1));
    return;
  }
  location.replace(homeHash());
}

function signedOut() {
  app.me = null;
  app.codesPromise = null;
  live.stop();
  who.textContent = "";
  zone.textContent = "";
  nav.hidden = true;
  signOut.hidden = true;
  route();
}

api.onSignedOut(signedOut);

signOut.addEventListener("click", async () => {
  try {
    await api.post("/api/logout");
  } catch {
    // signed out either way: the session is forgotten here
  }
  signedOut();
});

window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/")) route();
});

(async () => {
  try {
    app.signedIn(await api.get("/api/me"));
  } catch (e) {
    if (e.status !== 401) fill(main, h("p", { class: "error", role: "alert" }, e.message));
    else signedOut();
  }
})();
