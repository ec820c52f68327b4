// signin.js — the sign-in form. The gateway answers the same for an unknown
// name and a wrong password; we show its message as it is.

import * as api from "./api.js";
import { h, focusHeading, fill, say } from "./dom.js";

export function render(main, app) {
  const name = h("input", { id: "signin-name", name: "username", autocomplete: "username", required: true });
  const password = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "signin", novalidate: true },
    h("h1", {}, "Sign in"),
    problem,
    h("div", { class: "field" }, h("label", { for: "signin-name" }, "User name"), name),
    h("div", { class: "field" }, h("label", { for: "signin-password" }, "Password"), password),
    button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    problem.hidden = true;
    button.disabled = true;
    try {
      const me = await api.post("/api/login", { name: name.value, password: password.value });
      app.signedIn(me);
    } catch (err) {
      const text = err.code === "RATE_LIMITED"
        ? "Too many attempts. Wait a moment, then try again."
        : err.message;
      say(problem, text);
      password.value = "";
      button.disabled = false;
      password.focus();
    }
  });
  fill(main, form);
  focusHeading(main);
  name.focus();
  return null;
}
