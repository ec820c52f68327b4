// guided.js — the guided exit (#/exit/WORKFLOW_ID), after ClientTrack's
// "Program Exit" workflow: a menu per member with each step and its check
// mark, the next step highlighted; the exit form and the assessments (each
// with Default Last); the household decisions; Finish. Every change carries
// the view's version as expected_version: when someone else changed the exit
// meanwhile the gateway answers 409 with their changes, and we say so and
// offer a reload — the user's edits stay on screen, nothing is overwritten.

import * as api from "./api.js";
import * as live from "./live.js";
import { h, when, timeOfDay, srOnly, focusHeading, fill, say } from "./dom.js";
import { FieldErrors, StepForm, summary, checkMark, stepTitle, relationshipLabel } from "./forms.js";

const DECISION_WORDS = { exiting: "exiting", staying: "staying", undecided: "not decided yet" };

const CHANGE_WORDS = {
  "workflow.started": "started the exit",
  "step.completed": "saved",
  "member.decided": "decided about",
  "member.exited": "exited",
  "workflow.finished": "finished the exit",
  "workflow.cancelled": "cancelled the exit",
  "workflow.stalled": "marked the exit stalled",
  "dq.reported": "reported data-quality findings",
};

// "cw2 saved Exit form of client C1 at 10:42"
export function describeChange(c) {
  const who = c.actor || "the system";
  let what = CHANGE_WORDS[c.type] || c.type;
  if (c.type === "step.completed") what += c.step ? ` ${stepTitle(c.step)}` : " a step";
  if (c.client_id) what += c.type === "step.completed" ? ` of client ${c.client_id}` : ` client ${c.client_id}`;
  return `${who} ${what} at ${timeOfDay(c.ts)}`;
}

// The step a DQ finding concerns, as its source says (the finding's `step`,
// PROTOCOL.md §3 dq.report); null: the member's or the household's (and
// findings stored before findings had a step, until reported again).
function findingStep(finding) {
  return finding.step || null;
}

// Whether the menu shows `finding` beside one of member `m`'s steps.
function besideStep(m, finding) {
  return m.decision === "exiting" && m.steps.some((s) => s.name === findingStep(finding));
}

function findingList(findings) {
  if (!findings.length) return null;
  return h("ul", { class: "findings" }, findings.map((f) =>
    h("li", { class: `finding ${f.severity}` },
      h("span", { class: "severity" }, f.severity === "error" ? "DQ error" : "DQ warning"), ": ", f.message,
      " ", h("span", { class: "rule" }, `(${f.rule})`))));
}

export function render(main, app, workflowId) {
  let codes = null;
  let view = null;
  let selected = null; // {kind: "step", client_id, step} | {kind: "decisions"} | {kind: "finish"}
  let stepForm = null;
  let closed = false;

  const banner = h("div", { class: "banner", role: "alert", hidden: true });
  const header = h("div", { class: "exit-header" });
  const menu = h("nav", { class: "menu", "aria-label": "Guided exit" });
  // the panel is redrawn on every live change: not a live region (the
  // notice line says what changed; a new panel's heading takes focus)
  const panel = h("section", { class: "panel" });
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const errors = new FieldErrors(problem);
  fill(main, h("h1", {}, "Exit"), banner, header, h("div", { class: "guided" }, menu, panel));
  focusHeading(main);

  const readOnly = () => !app.canChange() || view.state !== "open";
  const dirty = () => Boolean(stepForm && stepForm.dirty);

  function showBanner(text, withReload) {
    const parts = [h("p", {}, text)];
    if (withReload) {
      const reload = h("button", { type: "button", class: "reload" }, "Reload");
      reload.addEventListener("click", () => { banner.hidden = true; stepForm = null; load(); });
      parts.push(reload);
    }
    say(banner, ...parts);
  }

  async function load() {
    try {
      [codes, view] = await Promise.all([app.codes(), api.get(`/api/exits/${workflowId}`)]);
    } catch (e) {
      if (closed) return;
      fill(panel, h("p", { class: "problem", role: "alert" }, e.status === 404 ? "No such exit." : e.message));
      return;
    }
    if (closed) return;
    if (!selected || !stillThere()) selected = firstSelection();
    draw();
  }

  function stillThere() {
    if (selected.kind !== "step") return true;
    const m = member(selected.client_id);
    return m && m.decision === "exiting" && m.steps.some((s) => s.name === selected.step);
  }

  function member(cid) {
    return view.members.find((m) => m.client_id === cid);
  }

  function firstSelection() {
    for (const m of view.members) {
      if (m.decision === "exiting" && m.next_step) return { kind: "step", client_id: m.client_id, step: m.next_step };
    }
    if (view.members.some((m) => m.decision === "undecided")) return { kind: "decisions" };
    return { kind: "finish" };
  }

  function draw() {
    // keep focus where it was, by what the element is, across the redraw
    const active = document.activeElement;
    const focusKey = active && active.closest ? (active.closest("[data-key]") || {}).dataset : null;
    const key = focusKey ? focusKey.key : null;
    drawHeader();
    drawMenu();
    drawPanel();
    if (key) {
      const again = main.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) (again.matches("button, input, select, textarea") ? again : again.querySelector("input, select, textarea, button") || again).focus();
    }
  }

  function drawHeader() {
    main.querySelector("h1").textContent = `Exit of household ${view.household_id}`;
    const stateText = { open: "Open", finished: "Finished", cancelled: "Cancelled" }[view.state] || view.state;
    fill(header,
      h("p", { class: `state ${view.state}` }, h("strong", {}, stateText),
        view.stalled ? h("span", { class: "stalled" }, " — stalled") : null,
        ` · ${view.progress.done} of ${view.progress.total} steps done`,
        ` · project ${view.project_id}`,
        ` · version ${view.version}`),
      h("p", { class: "meta" },
        `Started by ${view.started_by || "—"} ${when(view.created_at)} · last change by ${view.last_actor || "—"} ${when(view.updated_at)}`),
      view.state === "finished" && view.new_head_of_household
        ? h("p", { class: "meta" }, `New head of household: client ${view.new_head_of_household}`) : null,
      view.state === "cancelled" ? h("p", { class: "meta" }, `Cancelled: ${view.cancel_reason || ""}`) : null,
      findingList(view.dq.filter((f) => !f.client_id)));
  }

  function menuButton(key, isSelected, ...content) {
    return h("button", { type: "button", class: "menu-item", dataset: { key }, "aria-current": isSelected ? "true" : null }, content);
  }

  function drawMenu() {
    const items = [];
    for (const m of view.members) {
      const mFindings = view.dq.filter((f) => f.client_id === m.client_id);
      const stepsList = m.decision === "exiting"
        ? h("ol", { class: "steps" }, m.steps.map((s) => {
          const isNext = s.name === m.next_step && view.state === "open";
          const isSel = selected.kind === "step" && selected.client_id === m.client_id && selected.step === s.name;
          const n = mFindings.filter((f) => findingStep(f) === s.name).length;
          const b = menuButton(`step:${m.client_id}:${s.name}`, isSel,
            checkMark(s.status === "done"), " ", stepTitle(s.name),
            isNext ? h("span", { class: "next-tag" }, " next") : null,
            n ? h("span", { class: "dq-count" }, h("span", { "aria-hidden": "true" }, ` ⚠${n}`), srOnly(`, ${n} data-quality finding${n > 1 ? "s" : ""}`)) : null);
          if (isNext) b.classList.add("next");
          b.addEventListener("click", () => select({ kind: "step", client_id: m.client_id, step: s.name }));
          return h("li", {}, b);
        }))
        : h("p", { class: "hint" }, m.decision === "staying" ? "Stays in the project." : "Decide in Household decisions.");
      items.push(h("section", { class: "member-menu" },
        h("h2", {}, `Client ${m.client_id}`),
        h("p", { class: "member-meta" }, `${relationshipLabel(codes, m.relationship)} · ${DECISION_WORDS[m.decision] || m.decision}`,
          ` · ${m.adult ? "adult" : "child"}`),
        findingList(mFindings.filter((f) => !besideStep(m, f))),
        stepsList));
    }
    const others = view.members.filter((m) => !startedFor(m));
    const household = [];
    if (others.length) {
      const done = others.every((m) => m.decision !== "undecided");
      const b = menuButton("decisions", selected.kind === "decisions", checkMark(done), " Household decisions");
      b.addEventListener("click", () => select({ kind: "decisions" }));
      household.push(h("li", {}, b));
    }
    const fb = menuButton("finish", selected.kind === "finish", checkMark(view.state === "finished"), " Finish");
    fb.addEventListener("click", () => select({ kind: "finish" }));
    household.push(h("li", {}, fb));
    items.push(h("section", { class: "member-menu" }, h("h2", {}, "Household"), h("ol", { class: "steps" }, household)));
    fill(menu, ...items);
  }

  function startedFor(m) {
    return m.enrollment_id === view.enrollment_id;
  }

  function select(sel) {
    if (dirty() && !window.confirm("Leave this form? Your unsaved answers will be lost.")) return;
    selected = sel;
    stepForm = null;
    errors.clear();
    draw();
    const heading = panel.querySelector("h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  }

  function drawPanel() {
    if (selected.kind === "step") drawStep();
    else if (selected.kind === "decisions") drawDecisions();
    else drawFinish();
  }

  // A change: sent with the version we show; refusals land by field, a
  // conflict says who changed what meanwhile.
  async function change(path, body, button) {
    errors.clear();
    if (button) button.disabled = true;
    try {
      const res = await api.post(`/api/exits/${workflowId}/${path}`, { ...body, expected_version: view.version });
      banner.hidden = true;
      return res;
    } catch (err) {
      if (err.code === "CONFLICT" && err.body.changes) {
        const list = err.body.changes.filter((c) => c.type !== "dq.reported");
        const names = [...new Set(list.map((c) => c.actor || "the system"))].join(", ") || "someone";
        showBanner(`Changed by ${names} meanwhile: ${list.map(describeChange).join("; ") || "the exit changed"}. Your answers were not saved; they are still on screen. Reload to see the exit as it is now.`, true);
        banner.querySelector("button").focus();
      } else {
        errors.show(err);
      }
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  function drawStep() {
    const m = member(selected.client_id);
    const s = m.steps.find((x) => x.name === selected.step);
    const def = codes.steps.find((x) => x.name === s.name);
    const findings = view.dq.filter((f) => f.client_id === m.client_id && findingStep(f) === s.name);
    const status = s.status === "done"
      ? `Done (${s.mode === "default_last" ? "Default Last" : "entered"}) by ${s.actor || "—"} ${when(s.completed_at)}`
      : "Not done yet";
    const parts = [
      h("h2", {}, `${stepTitle(s.name)} — client ${m.client_id}`),
      h("p", { class: "status" }, checkMark(s.status === "done"), " ", status, ` · ${def.elements}`),
      findingList(findings),
    ];
    if (s.status === "done") parts.push(h("h3", {}, "Saved answers"), summary(codes, s.name, s.data));
    if (readOnly()) {
      stepForm = null;
      fill(panel, ...parts);
      return;
    }
    stepForm = stepForm && stepForm.key === `${m.client_id}:${s.name}` ? stepForm : new StepForm(codes, s.name, { values: s.data || {} });
    stepForm.key = `${m.client_id}:${s.name}`;
    errors.forget();
    stepForm.register(errors, [`members[client_id=${m.client_id}].steps.${s.name}`, "data"]);
    const save = h("button", { type: "submit", dataset: { key: "save" } }, "Save");
    const buttons = [save];
    if (def.allows_default_last) {
      const dl = h("button", { type: "button", class: "secondary", dataset: { key: "default-last" } }, "Default Last");
      dl.addEventListener("click", () => saveStep({ mode: "default_last" }, dl));
      buttons.push(dl);
    }
    const form = h("form", { class: "step-form", novalidate: true, "aria-label": `${stepTitle(s.name)} for client ${m.client_id}` },
      problem, stepForm.element, h("div", { class: "actions" }, buttons));
    form.addEventListener("submit", (e) => { e.preventDefault(); saveStep({ mode: "entered", data: stepForm.values() }, save); });
    parts.push(s.status === "done" ? h("h3", {}, "Change the answers") : null, form);
    fill(panel, ...parts);

    async function saveStep(args, button) {
      const res = await change("steps", { client_id: m.client_id, step: s.name, ...args }, button);
      if (!res) return;
      stepForm = null;
      app.notify(`Saved ${stepTitle(s.name)} of client ${m.client_id}.`);
      selected = null; // the guided order picks what comes next
      await load();
      const heading = panel.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
  }

  function drawDecisions() {
    stepForm = null;
    const others = view.members.filter((m) => !startedFor(m));
    errors.forget();
    const rows = others.map((m) => {
      const legendText = `Also exit client ${m.client_id} (${relationshipLabel(codes, m.relationship)})?`;
      const current = h("p", { class: "decision" }, `Now: ${DECISION_WORDS[m.decision] || m.decision}`);
      const fs = h("fieldset", { class: "decide", dataset: { client: m.client_id } }, h("legend", {}, legendText), current);
      if (!readOnly()) {
        const yes = h("button", { type: "button", "aria-pressed": String(m.decision === "exiting"), dataset: { key: `yes:${m.client_id}` } }, "Yes, exit this member");
        const no = h("button", { type: "button", class: "secondary", "aria-pressed": String(m.decision === "staying"), dataset: { key: `no:${m.client_id}` } }, "No, this member stays");
        errors.register(`members[client_id=${m.client_id}].decision`, yes);
        yes.addEventListener("click", () => decide(m, true, yes));
        no.addEventListener("click", () => decide(m, false, no));
        fs.append(h("div", { class: "actions" }, yes, no));
      }
      return fs;
    });
    fill(panel, h("h2", {}, "Household decisions"),
      h("p", { class: "hint" }, "If a member leaves because of a death or has left the household otherwise, exit only that member; the others stay enrolled."),
      problem, rows.length ? rows : h("p", { class: "empty" }, "No other members."));
  }

  async function decide(m, exit, button) {
    const res = await change("decisions", { client_id: m.client_id, exit }, button);
    if (!res) return;
    app.notify(`Client ${m.client_id}: ${exit ? "exits too" : "stays"}.`);
    await load();
  }

  function drawFinish() {
    stepForm = null;
    errors.forget();
    const parts = [h("h2", {}, "Finish")];
    if (view.state === "finished") {
      parts.push(h("p", { class: "done-text" }, checkMark(true), " This exit is finished."));
      fill(panel, ...parts);
      return;
    }
    if (view.state === "cancelled") {
      parts.push(h("p", {}, "This exit was cancelled."));
      fill(panel, ...parts);
      return;
    }
    const remaining = [];
    for (const m of view.members) {
      if (m.decision === "undecided") remaining.push(`Decide whether client ${m.client_id} exits too.`);
      if (m.decision === "exiting") for (const s of m.steps) if (s.status !== "done") remaining.push(`${stepTitle(s.name)} of client ${m.client_id}.`);
    }
    parts.push(remaining.length
      ? h("div", {}, h("p", {}, "Still to do before Finish:"), h("ul", { class: "remaining" }, remaining.map((t) => h("li", {}, t))))
      : h("p", {}, "Every step is done. Finish closes the exit; it cannot be changed afterwards."));
    parts.push(findingList(view.dq));
    if (readOnly()) {
      fill(panel, ...parts);
      return;
    }
    const staying = view.members.filter((m) => m.decision === "staying");
    const headExits = view.members.some((m) => m.relationship === 1 && m.decision === "exiting");
    let newHead = null;
    const fields = [];
    if (headExits && staying.length) {
      newHead = h("select", { id: "new-head", dataset: { key: "new-head" } },
        h("option", { value: "" }, "— choose a staying member —"),
        staying.map((m) => h("option", { value: m.client_id }, `Client ${m.client_id} (${relationshipLabel(codes, m.relationship)})`)));
      errors.register("new_head_of_household", newHead);
      fields.push(h("div", { class: "field" }, h("label", { for: "new-head" }, "New head of household (the head exits, others stay)"), newHead));
    }
    const finish = h("button", { type: "submit", class: "finish", dataset: { key: "finish-button" } }, "Finish");
    const form = h("form", { class: "finish-form", novalidate: true }, problem, fields, h("div", { class: "actions" }, finish));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = newHead && newHead.value ? { new_head_of_household: newHead.value } : {};
      const res = await change("finish", body, finish);
      if (!res) return;
      app.notify("The exit is finished.");
      await load();
    });
    const reason = h("input", { id: "cancel-reason", dataset: { key: "cancel-reason" } });
    const cancel = h("button", { type: "submit", class: "secondary" }, "Cancel this exit");
    const cancelForm = h("form", { class: "cancel-form", novalidate: true },
      h("div", { class: "field" }, h("label", { for: "cancel-reason" }, "Why is this exit cancelled?"), reason), cancel);
    errors.register("reason", reason);
    cancelForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const res = await change("cancel", { reason: reason.value }, cancel);
      if (!res) return;
      app.notify("The exit is cancelled.");
      await load();
    });
    parts.push(form, h("details", { class: "cancel" }, h("summary", {}, "Cancel this exit instead"), cancelForm));
    fill(panel, ...parts);
  }

  // The live feed carries no step: the view just read tells which step a
  // member's newest save by that actor was.
  function withStep(c) {
    if (c.type !== "step.completed" || c.step || !c.client_id) return c;
    const m = member(c.client_id);
    const saved = m ? m.steps.filter((s) => s.actor === c.actor && s.completed_at) : [];
    saved.sort((a, b) => (a.completed_at < b.completed_at ? 1 : -1));
    return saved.length ? { ...c, step: saved[0].name } : c;
  }

  // Someone else's change: say so, and show it at once unless the user has
  // unsaved answers (then offer the reload). The daemon's own events (DQ
  // findings, stalls) and our own changes refresh quietly.
  let timer = null;
  const unsubscribe = live.subscribe((kind, c) => {
    if (!view) return;
    if (kind === "change" && c.workflow_id !== workflowId) return;
    const other = kind === "change" && c.actor && c.actor !== app.me.user;
    if (dirty()) {
      if (other) {
        app.notify(`${describeChange(c)}.`);
        showBanner(`${describeChange(c)}. Your unsaved answers are still here, but saving them now will be refused. Reload to see the change.`, true);
      }
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(async () => {
      // answers typed since: the view (and its version) stays as they were
      // typed against, so their save meets the conflict, not a silent win
      if (dirty()) return;
      await load();
      if (other && !closed) app.notify(`${describeChange(withStep(c))}.`);
    }, other ? 0 : 200);
  });

  load();
  return () => { closed = true; unsubscribe(); clearTimeout(timer); };
}
