// exits.js — the Exits page: my open exits, or a project's, newest activity
// first, with progress and idle time; and "Start an exit" for a household.
// The start form's members carry their answers at project entry (the `last`
// of workflow.start, PROTOCOL.md §4.1), which Default Last copies at exit.

import * as api from "./api.js";
import * as live from "./live.js";
import { h, uid, duration, shortWhen, table, focusHeading, fill, say } from "./dom.js";
import { FieldErrors, StepForm, codeSelect, stepTitle } from "./forms.js";

// A member's inputs, named as workflow.start names them.
const MEMBER_FIELDS = ["client_id", "enrollment_id", "relationship", "entry_date", "birth_date", "adult"];

export function render(main, app) {
  // not a live region: it is read again on anyone's change, and a screen
  // reader would read the whole list out each time (changes are told in
  // the notice line)
  const listBox = h("div", { class: "exit-list" });
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const scopeMine = h("input", { type: "radio", name: "scope", id: "scope-mine", value: "mine", checked: app.canChange() });
  const scopeProject = h("input", { type: "radio", name: "scope", id: "scope-project", value: "project", checked: !app.canChange() });
  const project = h("input", { id: "list-project", name: "project_id", autocomplete: "off" });
  const filter = h("form", { class: "filters" },
    h("fieldset", {},
      h("legend", {}, "Which open exits"),
      app.canChange() ? h("span", { class: "choice" }, scopeMine, h("label", { for: "scope-mine" }, "Mine")) : null,
      h("span", { class: "choice" }, scopeProject, h("label", { for: "scope-project" }, "Everyone's"))),
    h("div", { class: "field" }, h("label", { for: "list-project" }, "Project id (empty: every project)"), project),
    h("button", { type: "submit" }, "Show"));

  async function load() {
    problem.hidden = true;
    const scope = scopeMine.checked ? "mine" : "project";
    try {
      const res = await api.get("/api/exits" + api.query({ scope, project_id: project.value.trim(), state: "open" }));
      fill(listBox, exitTable(scope === "mine" ? "My open exits" : "Everyone's open exits", res.exits));
    } catch (e) {
      say(problem, e.message);
    }
  }
  filter.addEventListener("submit", (e) => { e.preventDefault(); load(); });

  fill(main,
    h("h1", {}, "Exits"),
    h("section", { "aria-labelledby": "open-exits" },
      h("h2", { id: "open-exits" }, "Open exits"), filter, problem, listBox));
  focusHeading(main);
  load();

  if (app.canChange()) {
    app.codes().then((codes) => main.append(startSection(app, codes)),
      (e) => main.append(h("p", { class: "problem", role: "alert" }, e.message)));
  }

  // the list moves as anyone works: re-read it, at most twice a second
  let timer = null;
  const unsubscribe = live.subscribe(() => {
    if (!timer) timer = setTimeout(() => { timer = null; load(); }, 500);
  });
  return () => { unsubscribe(); clearTimeout(timer); };
}

function exitTable(caption, exits) {
  return table(caption, [
    { head: "Household's exit", cell: exitLink },
    { head: "Project", cell: (x) => x.project_id },
    { head: "Progress", cell: progressCell },
    { head: "Idle", cell: (x) => duration(x.idle_s) },
    { head: "Last change", cell: (x) => h("span", { class: "nowrap" }, `${x.last_actor || x.started_by || "—"} · ${shortWhen(x.updated_at)}`) },
    { head: "Stalled", cell: (x) => (x.stalled ? "Stalled" : "—") },
  ], exits, "No open exits.");
}

// The household a caseworker knows, linked to its exit; the workflow id
// under it for whoever must quote it.
export function exitLink(x) {
  return [h("a", { href: `#/exit/${x.workflow_id}`, class: "nowrap" }, x.household_id),
    h("span", { class: "wfid" }, x.workflow_id)];
}

export function progressCell(x) {
  const { done, total } = x.progress;
  return h("span", { class: "progress" },
    h("progress", { max: String(total || 1), value: String(done), "aria-hidden": "true" }),
    ` ${done} of ${total} steps`);
}

function startSection(app, codes) {
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const errors = new FieldErrors(problem);
  const household = h("input", { id: "start-household", autocomplete: "off", required: true });
  const project = h("input", { id: "start-project", autocomplete: "off", required: true });
  const projectType = codeSelect(codes, "project_type", "start-project-type", undefined, "— not given —");
  const moveIn = h("input", { id: "start-move-in", type: "date" });
  const membersBox = h("div", { class: "members" });
  const members = [];

  function addMember() {
    const m = memberFieldset(codes, members.length === 0, () => {
      members.splice(members.indexOf(m), 1);
      m.element.remove();
      renumber();
    });
    members.push(m);
    membersBox.append(m.element);
    renumber();
    return m;
  }
  function renumber() {
    members.forEach((m, i) => {
      m.legend.textContent = `Member ${i + 1}`;
      m.remove.hidden = members.length < 2;
    });
  }
  addMember();

  const addButton = h("button", { type: "button", class: "secondary" }, "Add a member");
  addButton.addEventListener("click", () => addMember().inputs.client_id.focus());
  const submit = h("button", { type: "submit" }, "Start the exit");
  const form = h("form", { class: "start", novalidate: true },
    problem,
    h("div", { class: "grid" },
      h("div", { class: "field" }, h("label", { for: "start-household" }, "Household id"), household),
      h("div", { class: "field" }, h("label", { for: "start-project" }, "Project id"), project),
      h("div", { class: "field" }, h("label", { for: "start-project-type" }, "Project type ", h("span", { class: "element" }, "HUD 2.02.6")), projectType),
      h("div", { class: "field" }, h("label", { for: "start-move-in" }, "Housing move-in date ", h("span", { class: "element" }, "HUD 3.20")), moveIn)),
    membersBox,
    h("div", { class: "actions" }, addButton, submit));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    errors.forget();
    errors.register("household_id", household);
    errors.register("project_id", project);
    errors.register("project_type", projectType);
    errors.register("move_in_date", moveIn);
    const exiting = members.find((m) => m.exiting.checked) || members[0];
    errors.register("enrollment_id", exiting.inputs.enrollment_id);
    const body = {
      household_id: household.value.trim(),
      project_id: project.value.trim(),
      enrollment_id: exiting.inputs.enrollment_id.value.trim(),
      members: members.map((m, i) => m.value(errors, i)),
    };
    if (projectType.value) body.project_type = parseInt(projectType.value, 10);
    if (moveIn.value) body.move_in_date = moveIn.value;
    submit.disabled = true;
    try {
      const res = await api.post("/api/exits", body);
      app.go(`#/exit/${res.workflow_id}`);
    } catch (err) {
      errors.show(err);
      if (err.code === "CONFLICT" && err.body.error.workflow_id) {
        errors.message(err.message, h("p", {}, h("a", { href: `#/exit/${err.body.error.workflow_id}` }, "Open the household's exit")));
      }
    } finally {
      submit.disabled = false;
    }
  });

  return h("section", { "aria-labelledby": "start-exit", class: "start-section" },
    h("h2", { id: "start-exit" }, "Start an exit"),
    h("p", { class: "hint" }, "One household at a time. The member marked \u201cexits now\u201d is the one whose enrollment is being exited; you decide for the others in the guided exit."),
    form);
}

// One member of the start form: its inputs, its answers at entry, and how
// the daemon's paths name them once its client id is known.
function memberFieldset(codes, first, onRemove) {
  const ids = Object.fromEntries(MEMBER_FIELDS.map((f) => [f, uid(`m-${f}`)]));
  const inputs = {
    client_id: h("input", { id: ids.client_id, autocomplete: "off", required: true }),
    enrollment_id: h("input", { id: ids.enrollment_id, autocomplete: "off", required: true }),
    relationship: codeSelect(codes, "relationship", ids.relationship, first ? 1 : undefined, "— choose —"),
    entry_date: h("input", { id: ids.entry_date, type: "date", required: true }),
    birth_date: h("input", { id: ids.birth_date, type: "date" }),
    adult: h("select", { id: ids.adult },
      h("option", { value: "" }, "From the date of birth"),
      h("option", { value: "true" }, "Yes, an adult"),
      h("option", { value: "false" }, "No, a child")),
  };
  const exitingId = uid("m-exiting");
  const exiting = h("input", { type: "radio", name: "exiting-member", id: exitingId, checked: first });
  const lastForms = codes.steps.filter((s) => s.allows_default_last).map((s) => ({ step: s.name, form: new StepForm(codes, s.name) }));
  const legend = h("legend", {});
  const remove = h("button", { type: "button", class: "secondary" }, "Remove this member");
  remove.addEventListener("click", onRemove);
  const field = (name, label, element) => h("div", { class: "field" }, h("label", { for: ids[name] }, label, element ? [" ", h("span", { class: "element" }, element)] : null), inputs[name]);
  const element = h("fieldset", { class: "member" }, legend,
    h("div", { class: "grid" },
      field("client_id", "Client id"),
      field("enrollment_id", "Enrollment id"),
      field("relationship", "Relationship to head of household", "HUD 3.15"),
      field("entry_date", "Project entry date", "HUD 3.10"),
      field("birth_date", "Date of birth", "HUD 3.03"),
      field("adult", "Adult")),
    h("div", { class: "choice" }, exiting, h("label", { for: exitingId }, "Exits now (the enrollment being exited)")),
    h("details", {},
      h("summary", {}, "Answers at project entry (what Default Last copies)"),
      lastForms.map(({ step, form }) => h("fieldset", { class: "last" }, h("legend", {}, stepTitle(step)), form.element))),
    remove);

  function value(errors, index) {
    const cid = inputs.client_id.value.trim();
    for (const name of MEMBER_FIELDS) {
      errors.register(`members.${index}.${name}`, inputs[name]);
      if (cid) errors.register(`members[client_id=${cid}].${name}`, inputs[name]);
    }
    const m = {
      client_id: cid,
      enrollment_id: inputs.enrollment_id.value.trim(),
      relationship: inputs.relationship.value === "" ? undefined : parseInt(inputs.relationship.value, 10),
      entry_date: inputs.entry_date.value,
    };
    if (inputs.birth_date.value) m.birth_date = inputs.birth_date.value;
    if (inputs.adult.value) m.adult = inputs.adult.value === "true";
    const last = {};
    for (const { step, form } of lastForms) {
      if (cid) form.register(errors, [`members[client_id=${cid}].last.${step}`]);
      if (!form.isEmpty()) last[step] = form.values();
    }
    if (Object.keys(last).length) m.last = last;
    return m;
  }

  return { element, inputs, exiting, legend, remove, value };
}
