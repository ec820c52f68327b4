"""The pages in a real browser: Debian's chromium, driven headless by
chromium-driver through python3-selenium, against the `stack` fixture (a
real exitflowd with CURVE, the real DQ worker and exitflow-web serving
clients/web/static).  Skipped, with the reason, only when chromium or its
driver is not installed or will not start.

A caseworker signs in, starts a two-member household, completes the exit
form (435 and a subsidy type: the field appears, goes with another
destination, comes back), takes Default Last on an assessment, decides the
other member, finishes, and sees the check marks and the finished state;
two caseworkers on one exit get the conflict message and each other's
changes live; an ops session has no change buttons and its forced change is
refused; free text holding markup shows as text; a change without the CSRF
token is refused.  The pages must keep client data out of URLs, the
console and browser storage, and label every control.

The guided exit's screenshot goes to the test's temp directory on every
run, and to clients/web/screenshot.png (the README's) when
EXITFLOW_SCREENSHOT=1.
"""

import os
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from support import REPO, born, day

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoAlertPresentException,
                                            StaleElementReferenceException,
                                            TimeoutException,
                                            WebDriverException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:                                     # pragma: no cover
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = REPO / "clients" / "web" / "screenshot.png"
WAIT_S = 15
STEP_TITLES = ("Exit form", "Universal data", "Health insurance",
               "Disabilities", "Income and benefits")


@pytest.fixture
def browser():
    """A factory of headless chromium windows (1280×800), each quit at
    teardown; skips when chromium cannot run here."""
    if webdriver is None:
        pytest.skip("python3-selenium is not installed (make test installs it)")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium or chromium-driver is not installed "
                    "(make test installs them)")
    made = []

    def make():
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,800",
                    "--no-first-run", "--lang=en-US"):
            opts.add_argument(arg)
        if os.geteuid() == 0:
            opts.add_argument("--no-sandbox")   # chromium refuses root else
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        except WebDriverException as e:
            pytest.skip("chromium does not start here: %s" % e.msg)
        d.set_script_timeout(WAIT_S)
        made.append(d)
        return d

    yield make
    for d in made:
        d.quit()


# -- driving the pages ------------------------------------------------------

def wait(driver, pred, what, timeout=WAIT_S):
    """Until ``pred(driver)`` is true.  The pages redraw as live changes
    come (the DQ worker's findings after each save), so an element found
    a moment ago may be gone, and one looked for may not be there yet:
    both count as not yet."""
    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=(
            StaleElementReferenceException, AssertionError)).until(
                lambda d: pred(d))
    except TimeoutException:
        raise AssertionError("waited %ss for %s; the page says:\n%s"
                             % (timeout, what, body_text(driver)))


def again(fn, *args):
    """``fn(*args)``, once more if the page redrew under it (see wait)."""
    for _ in range(10):
        try:
            return fn(*args)
        except StaleElementReferenceException:
            time.sleep(0.1)
    return fn(*args)


def click(driver, find, *args):
    """Finds (``find(driver, *args)``) and clicks, as one step."""
    again(lambda: find(driver, *args).click())


def press(driver, text, where=".panel"):
    """Clicks the button ``text`` in the panel (or ``where``)."""
    click(driver, lambda d: button(d.find_element(By.CSS_SELECTOR, where), text))


def open_step(driver, client, title):
    click(driver, menu_item, client, title)


def body_text(driver):
    try:
        return driver.find_element(By.TAG_NAME, "body").text[-3000:]
    except WebDriverException:
        return "?"


def visible(driver, css):
    els = [e for e in driver.find_elements(By.CSS_SELECTOR, css)
           if e.is_displayed()]
    return els[0] if els else None


def sign_in(driver, stack, name, path="/"):
    driver.get(stack.url + path)
    wait(driver, lambda d: visible(d, "#signin-name"), "the sign-in form")
    driver.find_element(By.ID, "signin-name").send_keys(name)
    driver.find_element(By.ID, "signin-password").send_keys(stack.users[name][0])
    driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
    wait(driver, lambda d: name in d.find_element(By.ID, "who").text,
         "%s signed in" % name)


def by_label(root, text):
    """The control whose <label> text starts with ``text`` (the labels are
    how a person finds it, so that is how the test does)."""
    for label in root.find_elements(By.TAG_NAME, "label"):
        if label.text.strip().startswith(text) and label.is_displayed():
            return root.find_element(By.ID, label.get_attribute("for"))
    raise AssertionError("no visible control labelled %r" % text)


def set_value(driver, el, value):
    """A date (whose typing depends on the locale) or any input: set as the
    user's edit would, events included."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        el, value)


def choose(el, code):
    Select(el).select_by_value(str(code))


def button(root, text):
    for b in root.find_elements(By.TAG_NAME, "button"):
        if b.is_displayed() and text in b.text:
            return b
    raise AssertionError("no visible button %r" % text)


def buttons(root, text):
    return [b for b in root.find_elements(By.TAG_NAME, "button")
            if b.is_displayed() and text in b.text]


def panel(driver):
    return driver.find_element(By.CSS_SELECTOR, ".panel")


def panel_title(driver):
    return panel(driver).find_element(By.TAG_NAME, "h2").text


def wait_panel(driver, title):
    wait(driver, lambda d: panel_title(d).startswith(title),
         "the panel %r" % title)


def menu_item(driver, client, step_title):
    """The menu button of ``step_title`` under client ``client``."""
    for section in driver.find_elements(By.CSS_SELECTOR, ".menu .member-menu"):
        if section.find_element(By.TAG_NAME, "h2").text == "Client %s" % client:
            for b in section.find_elements(By.CSS_SELECTOR, "button.menu-item"):
                if step_title in b.text:
                    return b
    raise AssertionError("no menu item %r for client %s" % (step_title, client))


def is_done(item):
    return bool(item.find_elements(By.CSS_SELECTOR, ".mark.done"))


def no_alert(driver):
    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def unlabelled_controls(driver):
    """Visible inputs, selects and textareas no <label for> names."""
    return driver.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => e.offsetParent !== null && e.type !== 'hidden'"
        " && e.labels.length === 0 && !e.getAttribute('aria-label'))"
        ".map(e => e.outerHTML);")


def page_fetch(driver, method, path, body=None, csrf=True):
    """A request made by the page itself, through its own api.js module
    (the instance the page loaded, holding the session's CSRF token), or by
    plain fetch() without the token: {status, code}."""
    return driver.execute_async_script("""
        const [method, path, body, csrf, done] = arguments;
        const report = (status, b) => done({status, code: b && b.error ? b.error.code : null});
        if (csrf) {
          import('/static/api.js').then(api => api.request(method, path, body))
            .then(b => report(200, b), e => report(e.status, e.body));
        } else {
          fetch(path, {method, headers: {'Content-Type': 'application/json'},
                       body: JSON.stringify(body), credentials: 'same-origin'})
            .then(r => r.json().then(b => report(r.status, b), () => report(r.status, null)));
        }""", method, path, body, csrf)


# Every visible text's contrast with what is behind it (WCAG 2.1 1.4.3:
# 4.5:1, 3:1 for large text), the page's heading outline (one h1, no level
# skipped), no sideways scrolling at the window's size, and one live
# region, the notice line (a region the live feed redraws would be read
# out whole at every change; errors are role=alert).
A11Y_SCRIPT = """
const rgba = (c) => { const m = c.match(/[\\d.]+/g).map(Number);
  return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
const over = (top, under) => { const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat(1); };
const lum = (c) => { const f = (v) => { v /= 255;
  return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
function background(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  let bg = [255, 255, 255, 1];
  for (const l of layers.reverse()) bg = over(l, bg);
  return bg;
}
const low = [];
for (const el of document.querySelectorAll('body *')) {
  if (!el.getClientRects().length || el.closest('.sr-only, option, [disabled], script, style')) continue;
  const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
  if (!text) continue;
  const s = getComputedStyle(el);
  if (s.visibility === 'hidden') continue;
  const bg = background(el), fg = over(rgba(s.color), bg);
  const l1 = lum(fg), l2 = lum(bg);
  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
  const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  if (ratio < need) low.push(text.slice(0, 40) + ': ' + ratio.toFixed(2) + ' ' + s.color + ' on ' + bg);
}
const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
  .filter(e => e.getClientRects().length).map(e => Number(e.tagName[1]));
const skips = levels.filter((l, i) => i > 0 && l > levels[i - 1] + 1);
const root = document.documentElement;
const live = [...document.querySelectorAll('[aria-live]:not([aria-live=off])')]
  .filter(e => e.id !== 'notice').map(e => e.outerHTML.slice(0, 80));
return {low, h1: levels.filter(l => l === 1).length, skips, live,
        wide: root.scrollWidth > root.clientWidth};
"""


def check_accessibility(driver):
    got = driver.execute_script(A11Y_SCRIPT)
    assert got["low"] == [], "text below its contrast ratio: %s" % got["low"]
    assert got["h1"] == 1 and got["skips"] == [], got
    assert not got["wide"], "the page scrolls sideways"
    assert got["live"] == [], got["live"]


def check_page_hygiene(driver, client_ids):
    """No client id in any URL the page went to, in the console, or in
    browser storage (the contract keeps client data in bodies); no script
    error and nothing the CSP refused (an inline style or script would
    be)."""
    urls = driver.execute_script(
        "return [location.href, ...performance.getEntriesByType('resource')"
        ".map(e => e.name)];")
    logs = [entry["message"] for entry in driver.get_log("browser")]
    assert not [m for m in logs if "Content Security Policy" in m
                or "Uncaught" in m], logs
    for cid in client_ids:
        assert not [u for u in urls if cid in u], urls
        assert not [m for m in logs if cid in m], logs
    storage = driver.execute_async_script("""
        const done = arguments[0];
        const dbs = indexedDB.databases ? indexedDB.databases() : Promise.resolve([]);
        dbs.then(list => done({local: localStorage.length,
                               session: sessionStorage.length,
                               idb: list.length}));""")
    assert storage == {"local": 0, "session": 0, "idb": 0}
    check_accessibility(driver)


def tab_to(driver, pred, what, limit=80):
    """Presses Tab until the focused element satisfies ``pred``; returns
    it, its focus ring checked visible."""
    for _ in range(limit):
        el = driver.switch_to.active_element
        if pred(el):
            ring = driver.execute_script(
                "const s = getComputedStyle(arguments[0]);"
                "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;",
                el)
            assert ring, "no visible focus on %s" % what
            return el
        el.send_keys(Keys.TAB)
    raise AssertionError("Tab never reached %s" % what)


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def save_exit_form_by_api(stack, wf, cid, **data):
    s = stack.session("cw1")
    body = {"client_id": cid, "step": "exit", "mode": "entered",
            "data": dict({"exit_date": day(0), "destination": 101}, **data),
            "expected_version": view_of(stack, wf)["version"]}
    status, res = s.post("/api/exits/%s/steps" % wf, body)
    assert status == 200, (status, res)


def start_by_api(stack, name="cw1", members=1, last=None):
    """A household started through the API (the browser scenarios that are
    not about starting one): returns (workflow_id, [client ids])."""
    s = stack.session(name)
    hh = uniq("H")
    cids = [uniq("C%d" % (i + 1)) for i in range(members)]
    body = {"household_id": hh, "project_id": "P-web", "project_type": 1,
            "enrollment_id": "E-" + cids[0],
            "members": [{"client_id": c, "enrollment_id": "E-" + c,
                         "relationship": 1 if i == 0 else 2,
                         "entry_date": day(-100), "adult": i == 0}
                        for i, c in enumerate(cids)]}
    if last:
        body["members"][0]["last"] = last
    status, res = s.post("/api/exits", body)
    assert status == 201, (status, res)
    return res["workflow_id"], cids


def view_of(stack, wf):
    return stack.daemon.client().call("workflow.get", {"workflow_id": wf})


def member_of(view, cid):
    return next(m for m in view["members"] if m["client_id"] == cid)


def step_data(view, cid, step):
    return next(s for s in member_of(view, cid)["steps"]
                if s["name"] == step)


def fill_member(driver, fieldset, cid, relationship):
    """A member of the start form: its ids, relationship, entry date."""
    by_label(fieldset, "Client id").send_keys(cid)
    by_label(fieldset, "Enrollment id").send_keys("E-" + cid)
    choose(by_label(fieldset, "Relationship"), relationship)
    set_value(driver, by_label(fieldset, "Project entry date"), day(-200))


def fill_exit_form(driver, destination, exit_reason=None):
    # once an answer is typed the page holds the form (unsaved edits)
    again(lambda: set_value(driver, by_label(panel(driver), "Project exit date"), day(0)))
    p = panel(driver)
    choose(by_label(p, "Destination"), destination)
    if exit_reason is not None:
        by_label(p, "Reason for leaving").send_keys(exit_reason)


# -- the scenarios ------------------------------------------------------------

def test_caseworker_exits_a_household(stack, browser, tmp_path):
    d = browser()
    sign_in(d, stack, "cw1")
    head, child = uniq("C1"), uniq("C2")

    # -- Exits: start a two-member household ------------------------------
    start = wait(d, lambda d: visible(d, "form.start"), "the start form")
    by_label(start, "Household id").send_keys(uniq("H"))
    by_label(start, "Project id").send_keys("P-web")
    choose(by_label(start, "Project type"), 1)
    button(start, "Add a member").click()
    m1, m2 = start.find_elements(By.CSS_SELECTOR, "fieldset.member")
    fill_member(d, m1, head, relationship=1)
    choose(by_label(m1, "Adult"), "true")
    # the head's answer at entry, which Default Last will copy at exit
    m1.find_element(By.TAG_NAME, "summary").click()
    choose(by_label(m1, "Disabling condition"), 0)
    fill_member(d, m2, child, relationship=2)
    assert unlabelled_controls(d) == []
    # a date of birth after the entry date: refused beside that input
    birth = by_label(m2, "Date of birth")
    set_value(d, birth, day(-100))
    button(start, "Start the exit").click()
    wait(d, lambda d: birth.get_attribute("aria-invalid") == "true",
         "the date of birth marked invalid")
    assert "birth_date" in d.find_element(
        By.ID, birth.get_attribute("aria-describedby")).text
    assert d.switch_to.active_element == birth
    set_value(d, birth, born(9))
    button(start, "Start the exit").click()

    # -- the guided exit: the exit form comes first, highlighted -----------
    wait(d, lambda d: "#/exit/" in d.current_url, "the guided exit")
    wf = d.current_url.rsplit("/", 1)[1]
    wait_panel(d, "Exit form — client %s" % head)
    nxt = menu_item(d, head, "Exit form")
    assert "next" in nxt.get_attribute("class")
    assert nxt.find_element(By.CSS_SELECTOR, ".sr-only").get_attribute(
        "textContent") == " not done"

    # 435 asks for the subsidy type; another destination does not
    fill_exit_form(d, 410, exit_reason="Moved in with a housing voucher")
    p = panel(d)
    subsidy_field = p.find_element(
        By.CSS_SELECTOR, "[data-field=destination_subsidy_type]")
    assert not subsidy_field.is_displayed()
    choose(by_label(p, "Destination"), 435)
    assert subsidy_field.is_displayed()
    choose(by_label(p, "Destination"), 410)
    assert not subsidy_field.is_displayed()
    choose(by_label(p, "Destination"), 435)
    assert subsidy_field.is_displayed()
    # saving 435 without its subsidy type: the daemon's refusal lands
    # next to the subsidy input, which says so to a screen reader
    press(d, "Save")
    subsidy = by_label(p, "Rental subsidy type")
    wait(d, lambda d: subsidy.get_attribute("aria-invalid") == "true",
         "the subsidy type marked invalid")
    err_id = subsidy.get_attribute("aria-describedby")
    assert "destination_subsidy_type" in d.find_element(By.ID, err_id).text
    choose(subsidy, 419)
    press(d, "Save")

    # -- the next step: Default Last copies the answer at entry -----------
    wait_panel(d, "Universal data — client %s" % head)
    assert is_done(menu_item(d, head, "Exit form"))
    press(d, "Default Last")
    wait_panel(d, "Health insurance — client %s" % head)
    uni = step_data(view_of(stack, wf), head, "universal_data")
    assert (uni["status"], uni["mode"]) == ("done", "default_last")
    assert uni["data"] == {"disabling_condition": 0}
    open_step(d, head, "Universal data")
    wait_panel(d, "Universal data")
    assert "Default Last" in panel(d).find_element(By.CSS_SELECTOR, ".status").text

    # the remaining assessments, as entered (empty: the DQ worker says so)
    for title in STEP_TITLES[2:]:
        open_step(d, head, title)
        wait_panel(d, title)
        press(d, "Save")
        wait(d, lambda d: is_done(menu_item(d, head, title)), title + " done")

    # DQ findings are shown beside the step they concern
    wait(d, lambda d: menu_item(d, head, "Health insurance").find_elements(
        By.CSS_SELECTOR, ".dq-count"), "the insurance finding in the menu")
    open_step(d, head, "Health insurance")
    wait(d, lambda d: "insurance_missing" in panel(d).text,
         "the insurance finding beside its form")
    # placed by the finding's step, whatever its rule and message say
    stack.daemon.client().dq_report(wf, "reviewer", [
        {"rule": "zz_review", "severity": "warning", "client_id": head,
         "step": "disabilities", "message": "ask again at the next visit"}])
    wait(d, lambda d: menu_item(d, head, "Disabilities").find_elements(
        By.CSS_SELECTOR, ".dq-count"), "the reviewer's finding in the menu")
    open_step(d, head, "Disabilities")
    wait(d, lambda d: "zz_review" in panel(d).text,
         "the reviewer's finding beside the disabilities form")
    # not among the member's findings that concern no step
    assert not [ul for ul in d.find_elements(
        By.CSS_SELECTOR, ".menu .member-menu > ul.findings")
        if "zz_review" in ul.text]

    # -- household decisions: the child stays -----------------------------
    press(d, "Household decisions", ".menu")
    wait_panel(d, "Household decisions")
    press(d, "No, this member stays")
    wait(d, lambda d: "Now: staying" in panel(d).text, "the child staying")

    # -- Finish: the head exits and the child stays: a new head ---------
    press(d, "Finish", ".menu")
    wait_panel(d, "Finish")
    again(lambda: choose(by_label(panel(d), "New head of household"), child))
    press(d, "Finish")
    wait(d, lambda d: "This exit is finished" in panel(d).text, "finished")
    wait(d, lambda d: "Finished" in d.find_element(By.CSS_SELECTOR,
                                                   ".state").text,
         "the finished state")

    def all_checked(d):
        for title in STEP_TITLES:
            item = menu_item(d, head, title)
            assert is_done(item), title
            assert item.find_element(By.CSS_SELECTOR, ".sr-only")\
                .get_attribute("textContent") == " done", title
        return True
    wait(d, all_checked, "a check mark on every step")
    # finished: nothing left to change on the page
    assert not d.find_elements(By.CSS_SELECTOR, ".panel form")

    view = view_of(stack, wf)
    assert view["state"] == "finished"
    assert view["new_head_of_household"] == child
    exit_data = step_data(view, head, "exit")["data"]
    assert exit_data["destination"] == 435
    assert exit_data["destination_subsidy_type"] == 419
    assert exit_data["exit_date"] == day(0)
    assert step_data(view, head, "exit")["actor"] == "cw1"

    # the screenshot of the guided exit, with its check marks
    open_step(d, head, "Exit form")
    wait_panel(d, "Exit form")
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(str(tmp_path / "guided-exit.png"))
    if os.environ.get("EXITFLOW_SCREENSHOT") == "1":
        d.save_screenshot(str(SCREENSHOT))

    # a tablet: one column, nothing wider than the screen
    d.set_window_size(768, 1024)
    wait(d, lambda d: d.execute_script(
        "return document.documentElement.scrollWidth"
        " <= document.documentElement.clientWidth"), "no sideways scrolling")
    d.save_screenshot(str(tmp_path / "guided-exit-tablet.png"))

    check_page_hygiene(d, [head, child])


def test_two_caseworkers_conflict_and_see_each_other(stack, browser):
    wf, (cid,) = start_by_api(stack)
    first, second = browser(), browser()
    sign_in(first, stack, "cw1", "/#/exit/" + wf)
    sign_in(second, stack, "cw2", "/#/exit/" + wf)
    for d in (first, second):
        wait_panel(d, "Exit form — client %s" % cid)

    # cw2 starts typing; cw1 saves the exit form meanwhile
    again(lambda: by_label(panel(second), "Reason for leaving").send_keys("cw2's reason"))
    fill_exit_form(first, 101, exit_reason="cw1's reason")
    press(first, "Save")
    wait_panel(first, "Universal data")

    # cw2 is told live, keeps the unsaved answers, and a save is refused
    # with who changed what — not a silent overwrite
    banner = second.find_element(By.CSS_SELECTOR, ".banner")
    wait(second, lambda d: banner.is_displayed() and "cw1" in banner.text,
         "cw1's change told to cw2")
    fill_exit_form(second, 116)
    press(second, "Save")
    wait(second, lambda d: "Changed by cw1 meanwhile" in banner.text,
         "the conflict message")
    assert "Exit form of client %s" % cid in banner.text
    assert by_label(panel(second), "Reason for leaving").get_attribute("value") == "cw2's reason"
    exit_step = step_data(view_of(stack, wf), cid, "exit")
    assert exit_step["actor"] == "cw1"
    assert exit_step["data"]["exit_reason"] == "cw1's reason"
    assert exit_step["data"]["destination"] == 101

    # Reload shows cw1's answers; cw2 goes on with the next step
    button(banner, "Reload").click()
    wait(second, lambda d: not banner.is_displayed(), "the banner gone")
    open_step(second, cid, "Exit form")
    wait_panel(second, "Exit form")
    wait(second, lambda d: "cw1's reason" in panel(d).find_element(
        By.CSS_SELECTOR, ".answers").text, "cw1's answers on cw2's page")
    open_step(second, cid, "Universal data")
    wait_panel(second, "Universal data")
    again(lambda: choose(by_label(panel(second), "Disabling condition"), 1))
    press(second, "Save")
    wait(second, lambda d: is_done(menu_item(d, cid, "Universal data")),
         "cw2's save")

    # cw1, who had nothing unsaved, sees cw2's change without reloading
    wait(first, lambda d: "cw2 saved Universal data of client %s" % cid
         in d.find_element(By.ID, "notice").text, "cw2's change told to cw1")
    wait(first, lambda d: is_done(menu_item(d, cid, "Universal data")),
         "cw2's check mark on cw1's page")
    wait(first, lambda d: "Done (entered) by cw2" in panel(d).text,
         "cw2's save in cw1's panel")
    for d in (first, second):
        check_page_hygiene(d, [cid])


def test_ops_session_changes_nothing(stack, browser):
    wf, (cid,) = start_by_api(stack)
    before = view_of(stack, wf)["version"]
    d = browser()
    sign_in(d, stack, "ops1")

    # the board: the exit is there, with health and consumers
    wait(d, lambda d: "#/board" in d.current_url, "the ops board")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR,
                                      "a[href='#/exit/%s']" % wf),
         "the exit on the board")
    wait(d, lambda d: "Daemon" in d.find_element(By.CSS_SELECTOR,
                                                 ".health").text,
         "the daemon's health")
    wait(d, lambda d: d.find_elements(
        By.CSS_SELECTOR, "[aria-labelledby=board-consumers] tbody tr"),
        "the DQ worker among the consumers")
    check_accessibility(d)                          # 1280×800
    d.set_window_size(768, 1024)
    check_accessibility(d)                          # a tablet
    d.set_window_size(1280, 800)

    # the exit, read-only: no form, no change button
    click(d, lambda d: d.find_element(By.CSS_SELECTOR,
                                      "a[href='#/exit/%s']" % wf))
    wait_panel(d, "Exit form — client %s" % cid)
    assert not d.find_elements(By.CSS_SELECTOR, ".panel form")
    for text in ("Save", "Default Last", "Yes, exit", "Finish", "Cancel"):
        assert not again(lambda: buttons(panel(d), text)), text
    press(d, "Finish", ".menu")
    wait_panel(d, "Finish")
    assert not again(lambda: panel(d).find_elements(By.TAG_NAME, "button"))
    d.get(stack.url + "/#/exits")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#open-exits"),
         "the exits page")
    assert not d.find_elements(By.CSS_SELECTOR, "form.start")

    # forced through the page's own api module (its CSRF token and all),
    # a change is refused
    res = page_fetch(d, "POST", "/api/exits/%s/steps" % wf,
                     {"client_id": cid, "step": "exit", "mode": "entered",
                      "data": {"exit_date": day(0), "destination": 101},
                      "expected_version": before})
    assert (res["status"], res["code"]) == (403, "READ_ONLY"), res
    assert view_of(stack, wf)["version"] == before
    check_page_hygiene(d, [cid])


def test_free_text_renders_as_text(stack, browser):
    wf, (cid,) = start_by_api(stack)
    markup = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    save_exit_form_by_api(stack, wf, cid, destination=17,
                          other_destination="<b>bold</b>", exit_reason=markup)

    d = browser()
    sign_in(d, stack, "cw1", "/#/exit/" + wf)
    wait(d, lambda d: menu_item(d, cid, "Exit form"), "the menu")
    open_step(d, cid, "Exit form")
    wait_panel(d, "Exit form")
    answers = panel(d).find_element(By.CSS_SELECTOR, ".answers")
    shown = [dd.text for dd in answers.find_elements(By.TAG_NAME, "dd")]
    assert markup in shown and "<b>bold</b>" in shown, shown
    assert by_label(panel(d), "Reason for leaving").get_attribute("value") == markup
    # nothing of it became an element
    assert d.execute_script(
        "return document.querySelectorAll('script').length") == 1
    assert not d.find_elements(By.CSS_SELECTOR, "main img, main b")
    assert no_alert(d)


def test_change_without_csrf_token_is_refused(stack, browser):
    wf, (cid,) = start_by_api(stack)
    before = view_of(stack, wf)["version"]
    d = browser()
    sign_in(d, stack, "cw1", "/#/exit/" + wf)
    wait_panel(d, "Exit form")
    body = {"client_id": cid, "step": "exit", "mode": "entered",
            "data": {"exit_date": day(0), "destination": 101},
            "expected_version": before}
    res = page_fetch(d, "POST", "/api/exits/%s/steps" % wf, body, csrf=False)
    assert (res["status"], res["code"]) == (403, "CSRF"), res
    assert view_of(stack, wf)["version"] == before
    # the same change with the page's token goes through
    res = page_fetch(d, "POST", "/api/exits/%s/steps" % wf, body)
    assert res["status"] == 200, res
    assert view_of(stack, wf)["version"] == before + 1


def test_keyboard_alone(stack, browser):
    """Sign in, open an exit and take Default Last with the keyboard only,
    every stop showing its focus ring."""
    wf, (cid,) = start_by_api(
        stack, last={"universal_data": {"disabling_condition": 1}})
    save_exit_form_by_api(stack, wf, cid)
    d = browser()
    d.get(stack.url + "/")
    wait(d, lambda d: d.switch_to.active_element.get_attribute("id")
         == "signin-name", "focus in the name field")
    d.switch_to.active_element.send_keys("cw1", Keys.TAB)
    tab_to(d, lambda e: e.get_attribute("id") == "signin-password",
           "the password").send_keys(stack.users["cw1"][0], Keys.ENTER)
    wait(d, lambda d: "cw1" in d.find_element(By.ID, "who").text, "signed in")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR,
                                      "a[href='#/exit/%s']" % wf),
         "the exit in my list")
    tab_to(d, lambda e: e.get_attribute("href") and
           e.get_attribute("href").endswith("#/exit/" + wf),
           "the exit's link").send_keys(Keys.ENTER)
    wait_panel(d, "Universal data — client %s" % cid)
    tab_to(d, lambda e: e.tag_name == "button" and e.text == "Default Last",
           "Default Last").send_keys(Keys.ENTER)
    wait(d, lambda d: is_done(menu_item(d, cid, "Universal data")),
         "Universal data done")
    uni = step_data(view_of(stack, wf), cid, "universal_data")
    assert (uni["mode"], uni["data"]) == ("default_last",
                                          {"disabling_condition": 1})


def test_times_show_in_the_cocs_zone(make_stack, browser):
    """The daemon counts its days in Pacific/Auckland (--timezone), far
    from this machine's and the browser's zone: the pages show its times in
    that zone, as the CLI does, and say once which zone that is."""
    zone = "Pacific/Auckland"
    st = make_stack(daemon_args=["--timezone", zone])
    d = browser()
    assert d.execute_script(
        "return Intl.DateTimeFormat().resolvedOptions().timeZone") != zone
    s = st.session("cw1")
    wait(d, lambda _: s.get("/api/me")[1]["timezone"] == zone,
         "the gateway to know the daemon's zone")
    wf, (cid,) = start_by_api(st)
    created = datetime.fromisoformat(
        view_of(st, wf)["created_at"].replace("Z", "+00:00"))
    there = created.astimezone(ZoneInfo(zone))
    sign_in(d, st, "cw1", "/#/exit/" + wf)
    assert d.find_element(By.ID, "zone").text == "Times in " + zone
    meta = wait(d, lambda d: visible(d, ".exit-header .meta"), "the header")
    # en-US, dateStyle medium and timeStyle short: "Nov 30, 2026, 4:52 PM"
    shown = " ".join(meta.text.replace("\u202f", " ").split())
    expected = "%s %d, %d, %d:%02d %s" % (
        there.strftime("%b"), there.day, there.year,
        (there.hour - 1) % 12 + 1, there.minute, there.strftime("%p"))
    assert "Started by cw1 " + expected in shown, (expected, shown)
    check_page_hygiene(d, [cid])


def test_signed_out_elsewhere_shows_sign_in(stack, browser):
    """The session ends outside this page (signed out in another tab):
    the gateway ends its live stream, the page finds the session gone
    (its EventSource's error, then /api/me's 401) and shows sign-in."""
    d = browser()
    sign_in(d, stack, "cw2")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#open-exits"),
         "the exits page")
    other = stack.web.session()
    other.cookie = d.get_cookie("exitflow_session")["value"]
    other.csrf = other.get("/api/me")[1]["csrf"]
    assert other.post("/api/logout")[0] == 204
    wait(d, lambda d: visible(d, "#signin-name"), "the sign-in form",
         timeout=30)
    assert d.find_element(By.ID, "who").text == ""
    assert d.find_element(By.ID, "zone").text == ""
    check_page_hygiene(d, [])
