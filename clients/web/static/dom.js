// dom.js — the one way the pages make elements. Text goes in through
// textContent (text nodes), never innerHTML, so whatever the daemon stores —
// a note holding "<script>" included — shows as text. No inline styles or
// handlers either: the CSP forbids them.

// h("p", {class: "x", for: "id", hidden: true}, "text", child, [more]) —
// attributes as given (false/null/undefined left out, true as ""); children
// are nodes, strings (made text nodes) or arrays of them; null is skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value") el.value = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replaces el's children (null and false skipped, as in h()).
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Shows an alert box (role=alert, hidden until needed) with `text` (a
// string: one paragraph) and any more nodes. Shown first, then filled: a
// screen reader announces what changes inside an alert it can see, and
// may say nothing of one that appears already full.
export function say(box, text, ...more) {
  box.hidden = false;
  fill(box, typeof text === "string" ? h("p", {}, text) : text, ...more);
}

// Ids for label/aria wiring: unique per page load, never made from data.
let idCounter = 0;
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// Text hidden on screen, read by screen readers (the check marks' words).
export function srOnly(text) {
  return h("span", { class: "sr-only" }, text);
}

// "3 d 4 h", "12 min", "40 s": an idle time a person can scan.
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  if (s >= 86400) return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min`;
  return `${s} s`;
}

// Times are shown in the CoC's zone (the daemon's stats.timezone, given by
// /api/me), as the CLI shows them, whatever zone the browser is in; the
// page names the zone once (zoneName). Until it is known: the browser's.
let zone;

export function setTimeZone(name) {
  zone = undefined;
  if (!name) return;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: name });
    zone = name;
  } catch {
    // a zone this browser does not know: its own, named as such
  }
}

export function zoneName() {
  return zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function format(ts, options) {
  const d = new Date(ts);
  if (!ts || Number.isNaN(d.getTime())) return null;
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone }).format(d);
}

// An RFC 3339 timestamp as a date and a time of day, or "—".
export function when(ts) {
  return format(ts, { dateStyle: "medium", timeStyle: "short" }) ?? (ts || "—");
}

// Today's moments by the clock, older ones by the day: for tables.
export function shortWhen(ts) {
  const day = format(ts, { dateStyle: "medium" });
  if (day === null) return "—";
  return day === format(new Date().toISOString(), { dateStyle: "medium" }) ? timeOfDay(ts) : day;
}

export function timeOfDay(ts, seconds = false) {
  return format(ts, { hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined }) ?? String(ts);
}

// A table from column definitions [{head, cell: row => node|string}].
export function table(caption, columns, rows, emptyText) {
  if (!rows.length) return h("p", { class: "empty" }, emptyText);
  // a region that may scroll sideways takes focus, so keys can scroll it
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.head)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, c.cell(r))))))));
}

// Focus moves to a new page's heading, so a screen reader says where it is.
export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}
