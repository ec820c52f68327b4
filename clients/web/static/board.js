// board.js — the ops board (#/board): unfinished exits, oldest idle first,
// filtered by project, idle over N days and stalled; the consumers' lag; the
// daemon's health. It re-reads itself on every live change (at most twice a
// second), so it moves without reloads. Filters stay in the page's memory,
// not in the URL.

import * as api from "./api.js";
import * as live from "./live.js";
import { h, duration, when, timeOfDay, table, focusHeading, fill, say } from "./dom.js";
import { exitLink, progressCell } from "./exits.js";

export function render(main, app) {
  const project = h("input", { id: "board-project", autocomplete: "off" });
  const idleDays = h("input", { id: "board-idle", type: "number", min: "0", step: "1", inputmode: "numeric" });
  const stalled = h("input", { id: "board-stalled", type: "checkbox" });
  const filters = h("form", { class: "filters" },
    h("div", { class: "field" }, h("label", { for: "board-project" }, "Project id"), project),
    h("div", { class: "field" }, h("label", { for: "board-idle" }, "Idle over (days)"), idleDays),
    h("div", { class: "choice" }, stalled, h("label", { for: "board-stalled" }, "Stalled only")),
    h("button", { type: "submit" }, "Apply"));
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const exitsBox = h("div", {});
  const consumersBox = h("div", {});
  const healthBox = h("div", {});
  const updated = h("p", { class: "meta", "aria-live": "off" });

  fill(main,
    h("h1", {}, "Ops board"),
    h("p", { class: "hint" }, app.canChange() ? "Unfinished exits of every caseworker." : "Read-only: an ops session changes nothing."),
    filters, problem, updated,
    h("div", { class: "board" },
      h("section", { "aria-labelledby": "board-exits", class: "board-exits" }, h("h2", { id: "board-exits" }, "Unfinished exits, oldest idle first"), exitsBox),
      h("section", { "aria-labelledby": "board-health" }, h("h2", { id: "board-health" }, "Daemon health"), healthBox),
      h("section", { "aria-labelledby": "board-consumers" }, h("h2", { id: "board-consumers" }, "Consumers"), consumersBox)));
  focusHeading(main);

  let closed = false;
  async function load() {
    try {
      const res = await api.get("/api/board" + api.query({
        project_id: project.value.trim(),
        idle_days: idleDays.value,
        stalled: stalled.checked ? 1 : "",
      }));
      if (closed) return;
      problem.hidden = true;
      fill(exitsBox, table("Unfinished exits", [
        { head: "Household's exit", cell: exitLink },
        { head: "Idle", cell: (x) => duration(x.idle_s) },
        { head: "Project", cell: (x) => x.project_id },
        { head: "Progress", cell: progressCell },
        { head: "Caseworker", cell: (x) => x.last_actor || x.started_by || "—" },
        { head: "Stalled", cell: (x) => (x.stalled ? "Stalled" : "—") },
      ], res.exits, "No unfinished exits match."));
      fill(consumersBox, table("Event consumers", [
        { head: "Consumer", cell: (c) => c.consumer },
        { head: "Acked seq", cell: (c) => String(c.seq) },
        { head: "Lag", cell: (c) => h("span", { class: c.lag > 0 ? "lag behind" : "lag" }, String(c.lag)) },
        { head: "Last ack", cell: (c) => when(c.acked_at) },
      ], res.consumers, "No consumers."));
      fill(healthBox, health(res.health));
      updated.textContent = `Updated ${timeOfDay(new Date().toISOString(), true)}`;
    } catch (e) {
      if (closed) return;
      say(problem, e.message);
    }
  }
  filters.addEventListener("submit", (e) => { e.preventDefault(); load(); });

  let timer = null;
  const unsubscribe = live.subscribe(() => {
    if (!timer) timer = setTimeout(() => { timer = null; load(); }, 500);
  });
  load();
  return () => { closed = true; unsubscribe(); clearTimeout(timer); };
}

function health(x) {
  if (!x) return h("p", { class: "empty" }, "No health report.");
  const w = x.workflows || {};
  const s = x.store || {};
  const rows = [
    ["Daemon", x.ok ? "OK" : `Not OK${x.reason ? ": " + x.reason : ""}`],
    ["Last event seq", String(x.last_seq ?? "—")],
    ["Open exits", String(w.open ?? "—")],
    ["Finished", String(w.finished ?? "—")],
    ["Cancelled", String(w.cancelled ?? "—")],
    ["Store", s.full ? "FULL: writes are refused" : `${mib(s.map_size)} of ${mib(s.max_map_size)} MiB map`],
    ["Up for", x.uptime_s === undefined ? "—" : duration(x.uptime_s)],
  ];
  return h("dl", { class: `health ${x.ok ? "ok" : "bad"}` }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function mib(bytes) {
  return bytes === undefined || bytes === null ? "?" : (bytes / 1048576).toFixed(0);
}
