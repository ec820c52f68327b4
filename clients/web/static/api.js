// api.js — the one path to exitflow-web's JSON API (clients/web/README.md):
// JSON in and out, the session's CSRF token on every change, refusals as
// ApiError values carrying the gateway's error object. The token lives in
// this module's memory only: nothing goes to any browser storage.

let csrfToken = null;
const signedOutListeners = [];

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "HTTP_" + status;
    this.field = err.field || null;
    this.body = body || {};
  }
}

export function setCsrf(token) {
  csrfToken = token;
}

// Called when the session is gone (401 on anything but sign-in).
export function onSignedOut(fn) {
  signedOutListeners.push(fn);
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, { error: { code: "UNREACHABLE", message: "The server cannot be reached. Check the connection and try again." } });
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (response.status !== 204 && type.includes("application/json")) data = await response.json();
  if (response.ok) return data;
  if (response.status === 401 && path !== "/api/login") {
    csrfToken = null;
    for (const fn of signedOutListeners) fn();
  }
  throw new ApiError(response.status, data);
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body === undefined ? {} : body);

// A query string from {name: value}, empty values left out. Only codes and
// filters go here — never client data (the contract keeps it in bodies).
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}
