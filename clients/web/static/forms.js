// forms.js — forms built from /api/codes (the daemon's hud.codes, PROTOCOL.md
// §4.9): one input per typed field of a step under the daemon's label for it,
// HUD's labels for code lists, the destinations grouped by category; and the daemon's VALIDATION field paths
// placed next to the inputs they name. Nothing here knows a HUD code: the
// lists, the destinations and the fields all come from the daemon.

import { h, uid, srOnly, fill, say } from "./dom.js";

// Step titles as the guided workflow names them; others are spelled from the name.
const STEP_TITLES = {
  exit: "Exit form",
  universal_data: "Universal data",
  health_insurance: "Health insurance",
  disabilities: "Disabilities",
  income_benefits: "Income and benefits",
};

// Exit-form fields asked only when the chosen destination needs them: the
// field → the destination's flag in hud.codes (PROTOCOL.md §4.2).
const ASKED_WHEN = {
  destination_subsidy_type: "needs_subsidy_type",
  other_destination: "needs_other_text",
};

// Names hud.codes gives no label for (destination categories, answer groups,
// the CoC's own local_ keys) read as words; a typed field has its label.
function spelled(name) {
  const words = String(name).split("_").filter(Boolean).join(" ");
  return words ? words[0].toUpperCase() + words.slice(1) : "";
}

export function stepTitle(name) {
  return STEP_TITLES[name] || spelled(name);
}

export function relationshipLabel(codes, code) {
  return codeLabel(codes, "relationship", code);
}

export function codeLabel(codes, list, code) {
  const l = codes.lists[list];
  const c = l && l.codes.find((x) => x.code === code);
  return c ? c.label : String(code);
}

function destination(codes, code) {
  return codes.destinations.find((d) => d.code === code) || null;
}

// A <select> of a code list: an empty "not answered" first (any assessment
// field may be absent), then each code with HUD's label.
export function codeSelect(codes, list, id, value, emptyText = "— not answered —") {
  const l = codes.lists[list] || { codes: [] };
  return h("select", { id, name: id },
    h("option", { value: "" }, emptyText),
    l.codes.map((c) => h("option", { value: String(c.code), selected: c.code === value }, `${c.label} (${c.code})`)));
}

function destinationSelect(codes, id, value) {
  return h("select", { id, name: id },
    h("option", { value: "" }, "— choose a destination —"),
    codes.destination_categories.map((cat) =>
      h("optgroup", { label: spelled(cat) },
        codes.destinations.filter((d) => d.category === cat).map((d) =>
          h("option", { value: String(d.code), selected: d.code === value }, `${d.label} (${d.code})`)))));
}

function fieldInput(codes, field, id, value) {
  switch (field.type) {
    case "code":
      return codeSelect(codes, field.list, id, value);
    case "destination":
      return destinationSelect(codes, id, value);
    case "amount":
      return h("input", { id, name: id, type: "number", min: "0", step: "0.01", inputmode: "decimal", value: value ?? "" });
    case "date":
      return h("input", { id, name: id, type: "date", value: value ?? "" });
    default: {
      const attrs = { id, name: id, maxlength: field.max_chars || null };
      return field.max_chars && field.max_chars > 100
        ? h("textarea", { ...attrs, rows: "3", value: value ?? "" })
        : h("input", { ...attrs, type: "text", value: value ?? "" });
    }
  }
}

function readInput(field, input) {
  const raw = input.value.trim();
  if (raw === "") return undefined;
  if (field.type === "code" || field.type === "destination") return parseInt(raw, 10);
  if (field.type === "amount") return Number(raw);
  return input.value;
}

// Where a refusal's field path lands: inputs registered by path; a path with
// no input of its own goes to the nearest registered prefix
// (members[client_id=C].steps.exit → the exit form's box), else to the box.
export class FieldErrors {
  constructor(box) {
    this.box = box;
    this.paths = new Map();
    this.shown = [];
  }

  register(path, target) {
    this.paths.set(path, target);
  }

  forget() {
    this.paths.clear();
  }

  clear() {
    for (const { target, msg, described } of this.shown) {
      msg.remove();
      target.removeAttribute("aria-invalid");
      if (described) target.setAttribute("aria-describedby", described);
      else target.removeAttribute("aria-describedby");
    }
    this.shown = [];
    fill(this.box);
    this.box.hidden = true;
  }

  resolve(path) {
    for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      if (this.paths.has(p)) return this.paths.get(p);
    }
    return null;
  }

  // Shows one refusal; returns true when it went next to an input.
  show(err) {
    this.clear();
    const target = err.field ? this.resolve(err.field) : null;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) {
      const id = uid("err");
      const msg = h("p", { class: "field-error", id }, err.message);
      const described = target.getAttribute("aria-describedby");
      target.closest(".field").append(msg);
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
      this.shown.push({ target, msg, described });
      this.message("Please correct the answer marked below.");
      target.focus();
      return true;
    }
    this.message(err.message);
    return false;
  }

  message(text, ...extra) {
    say(this.box, text, ...extra);
  }
}

// The inputs of one step, from its typed fields, filled with `values`.
export class StepForm {
  constructor(codes, stepName, { values = {}, readOnly = false } = {}) {
    this.codes = codes;
    this.step = codes.steps.find((s) => s.name === stepName);
    this.inputs = new Map();
    this.dirty = false;
    // the CoC's own answers (local_…) are kept as they are and sent back
    this.local = Object.fromEntries(Object.entries(values || {}).filter(([k]) => k.startsWith(codes.local_prefix)));
    const groups = new Map();
    for (const field of this.step.fields) {
      const id = uid(`f-${field.name}`);
      const input = fieldInput(codes, field, id, values ? values[field.name] : undefined);
      if (readOnly) input.disabled = true;
      this.inputs.set(field.name, input);
      const row = h("div", { class: "field", dataset: { field: field.name, key: `field:${field.name}` } },
        h("label", { for: id }, field.label, " ", h("span", { class: "element" }, elementText(field))),
        input);
      const g = field.group || "";
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(row);
    }
    this.element = h("div", { class: "step-fields" },
      [...groups].map(([g, rows]) => g ? h("fieldset", { class: "group" }, h("legend", {}, spelled(g)), rows) : rows));
    this.element.addEventListener("input", () => { this.dirty = true; });
    this.element.addEventListener("change", () => { this.dirty = true; this.refresh(); });
    this.refresh();
  }

  // Names each input by the daemon's paths for it: PREFIX.FIELD.
  register(errors, prefixes) {
    for (const [name, input] of this.inputs) for (const p of prefixes) errors.register(`${p}.${name}`, input);
  }

  // Shows only the fields the chosen destination asks for.
  refresh() {
    const dest = this.inputs.get("destination");
    if (!dest) return;
    const d = destination(this.codes, parseInt(dest.value, 10));
    for (const [name, flag] of Object.entries(ASKED_WHEN)) {
      const input = this.inputs.get(name);
      if (input) input.closest(".field").hidden = !(d && d[flag]);
    }
  }

  // The step's data: answered, shown fields only, typed as the daemon wants.
  values() {
    const data = { ...this.local };
    for (const field of this.step.fields) {
      const input = this.inputs.get(field.name);
      if (input.closest(".field").hidden) continue;
      const v = readInput(field, input);
      if (v !== undefined) data[field.name] = v;
    }
    return data;
  }

  isEmpty() {
    return Object.keys(this.values()).length === 0;
  }
}

function elementText(field) {
  return field.element === "local" ? "(local)" : `HUD ${field.element}`;
}

// A saved step's answers as a definition list, for reading (and for ops).
export function summary(codes, stepName, data) {
  const step = codes.steps.find((s) => s.name === stepName);
  const rows = [];
  for (const [key, value] of Object.entries(data || {})) {
    if (value === null || value === undefined) continue;
    const field = step && step.fields.find((f) => f.name === key);
    rows.push(h("dt", {}, field ? field.label : spelled(key)), h("dd", {}, display(codes, field, value)));
  }
  if (!rows.length) return h("p", { class: "empty" }, "No answers given.");
  return h("dl", { class: "answers" }, rows);
}

function display(codes, field, value) {
  if (!field) return String(value);
  if (field.type === "code") return codeLabel(codes, field.list, value);
  if (field.type === "destination") {
    const d = destination(codes, value);
    return d ? `${d.label} (${d.code})` : String(value);
  }
  if (field.type === "amount") return `$${Number(value).toFixed(2)} a month`;
  return String(value);
}

// A check mark with words for screen readers: ✓ done, ○ pending.
export function checkMark(done) {
  return h("span", { class: done ? "mark done" : "mark pending" },
    h("span", { "aria-hidden": "true" }, done ? "✓" : "○"),
    srOnly(done ? " done" : " not done"));
}
