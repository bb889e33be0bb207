#!/usr/bin/env python3
"""The integration guide's popup flow (Option B) in headless Chromium against `vaultsim serve`.

Run by ConnectWidgetBrowserTests.swift with the Python of .build/browser-venv (selenium and the
real alter-sdk). The arguments are one JSON object in argv[1]:

    {
      "chromium": "/usr/bin/chromium", "chromedriver": "/usr/bin/chromedriver",
      "vaultsim": ".build/debug/vaultsim",      # the binary to serve with
      "root": "/path/to/the/package",           # serve runs here (it reads Fixtures/)
      "guide": "../shared/reference/integration-guide.txt",
      "artefacts": ".build/artefacts",
      "runs": ["success", "deny", "close"],     # which flows to run, in order, each in a fresh page
      "step_timeout": 20
    }

It starts `vaultsim serve --port 0 --proxy-port 0` with a fresh database and CA, reads the banner
(the exports, and the Chromium flags it prints), and runs the app a frontend developer writes:

* a backend on 127.0.0.1 whose POST /api/connect/session is the guide's Step 4 route: it calls
  create_connect_session(allowed_providers=["google", "slack", "github"]) through the real SDK;
* a page holding the guide's Option B code as the guide prints it (taken from the guide's text at
  run time, from `const alterConnect = AlterConnect.create();` to the end of `handleConnect`),
  with the widget loaded from its CDN address — a script tag (UMD) or, for "deny", an import
  map and the guide's own `import AlterConnect from '@alter-ai/connect';` line (ES module);
* for "close", the reference's open() example with every callback (the guide's passes no onExit).

Chromium uses serve's proxy and trusts its CA by the flags the banner prints; the app and the
vault stay direct (loopback). Each run clicks "Connect Google", then:
  success: Continue with Google, Allow, Finish; the grant_id onSuccess got is used in vault.request;
  deny:    Continue with Google, Cancel;
  close:   closes the popup.
Every widget event (the instance's on() bus) is recorded in order. Finally it loads another path
on the CDN host and keeps what the proxy answered.

Prints one JSON line {"runs": {name: {...}}, "cdn_refusal": ..., "widget_folder": ...} and exits
0; on failure prints the step, page and console to stderr and exits 1 (2 for bad arguments).
"""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_common  # noqa: E402

fail = browser_common.failer("widget_browser")


CDN = "https://cdn.jsdelivr.net/npm/@alter-ai/connect@latest/dist/"


def guide_option_b(guide_path):
    """The guide's Option B lines, from create() to the end of handleConnect, as printed."""
    with open(guide_path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    try:
        start = lines.index("Option B: Popup Flow (frontend SDK)")
        first = next(i for i in range(start, len(lines)) if lines[i].strip() == "const alterConnect = AlterConnect.create();")
        ret = next(i for i in range(first, len(lines)) if lines[i].strip() == "return (")
        importer = next(lines[i] for i in range(start, first) if lines[i].startswith("import AlterConnect"))
    except (ValueError, StopIteration):
        fail("the guide at %s has no Option B code in the shape this test reads" % guide_path, 2)
    body = lines[first:ret]
    while body and not body[-1].strip():
        body.pop()
    return importer, "\n".join(body)


HARNESS = """
const authToken = "demo-user-session";        // the app's own login, which the guide leaves to the app
window.vaultsimEvents = [];
window.vaultsimLogs = [];
window.vaultsimLoads = 0;
window.vaultsimMessages = [];                 // what reached this page by postMessage (the widget's input)
window.addEventListener("message", (event) => window.vaultsimMessages.push({origin: event.origin, data: event.data}));
window.vaultsimOpened = [];
const openWindow = window.open.bind(window);
window.open = (url, name, features) => { window.vaultsimOpened.push({url, name, features}); return openWindow(url, name, features); };
function loadIntegrations() {                  // the app's own list of connections, shown after each success
  window.vaultsimLoads += 1;
  const list = document.getElementById("integrations");
  list.textContent = "";
  for (const entry of window.vaultsimLogs.filter((e) => e[1] === "Connected!")) {
    const item = document.createElement("li");
    item.textContent = entry[3] + ": " + entry[2];
    list.appendChild(item);
  }
}
for (const level of ["log", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    window.vaultsimLogs.push([level].concat(args.map((a) => (a instanceof Error)
        ? {name: a.name, code: a.code, message: a.message, details: a.details} : a)));
    original(...args);
  };
}
function watch(alterConnect) {
  for (const name of ["OPEN", "PROVIDER_SELECTED", "OAUTH_STARTED", "OAUTH_COMPLETE", "EXIT"]) {
    alterConnect.on(name, (metadata) => window.vaultsimEvents.push({event: name, metadata}));
  }
  window.vaultsimVersion = alterConnect.getVersion();
}
"""


def page(mode, guide):
    importer, option_b = guide
    buttons = '<button id="connect-google">Connect Google</button> <button id="connect-slack">Connect Slack</button>'
    app = """
function IntegrationsPage() {
%s
    watch(alterConnect);
    return { handleConnect, alterConnect };
}
const integrations = IntegrationsPage();
window.vaultsimWidget = integrations.alterConnect;
document.getElementById("connect-google").addEventListener("click", () => integrations.handleConnect('google'));
document.getElementById("connect-slack").addEventListener("click", () => integrations.handleConnect('slack'));
window.vaultsimReady = true;
""" % option_b
    if mode == "close":
        # The reference's open() example: every callback, onExit included.
        app = """
const alterConnect = AlterConnect.create();
watch(alterConnect);
window.vaultsimWidget = alterConnect;
window.vaultsimCallbacks = [];
document.getElementById("connect-google").addEventListener("click", async () => {
    const { session_token } = await fetch('/api/connect/session', { method: 'POST' }).then(r => r.json());
    await alterConnect.open({
        token: session_token,
        onSuccess: (grants) => window.vaultsimCallbacks.push(["onSuccess", grants]),
        onError: (error) => window.vaultsimCallbacks.push(["onError", error.code]),
        onExit: () => window.vaultsimCallbacks.push(["onExit"]),
        onEvent: (eventName, metadata) => window.vaultsimCallbacks.push(["onEvent", eventName]),
    });
});
window.vaultsimReady = true;
"""
    if mode == "deny":
        head = '<script type="importmap">{"imports": {"@alter-ai/connect": "%salter-connect.esm.js"}}</script>' % CDN
        script = '<script>%s</script>\n<script type="module">\n%s\n%s\n</script>' % (HARNESS, importer, app)
    else:
        head = '<script src="%salter-connect.umd.js"></script>' % CDN
        script = "<script>%s\n%s</script>" % (HARNESS, app)
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Integrations</title>%s</head>
<body><h1>Integrations</h1>%s
<ul id="integrations"></ul>
%s
</body></html>""" % (head, buttons, script)


class Backend:
    """The app's backend: the page, and the guide's Step 4 session route through the real SDK."""

    def __init__(self, guide):
        self.guide = guide
        self.mode = "success"
        self.sessions = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body, content_type):
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.split("?")[0] == "/":
                    self.answer(200, page(backend.mode, backend.guide), "text/html; charset=utf-8")
                else:
                    self.answer(404, "not found", "text/plain")

            def do_POST(self):
                if self.path != "/api/connect/session":
                    return self.answer(404, "not found", "text/plain")
                try:
                    session = asyncio.run(create_session())
                except Exception as error:  # the page shows it; the test reports it
                    return self.answer(500, json.dumps({"error": repr(error)}), "application/json")
                backend.sessions.append(session.session_token)
                self.answer(200, json.dumps({"session_token": session.session_token, "connect_url": session.connect_url}),
                            "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def create_session():
    # The guide's Step 4, as its Flask route does it.
    from alter_sdk import AlterVault
    vault = AlterVault(api_key=os.environ["ALTER_API_KEY"], caller="my-flask-app")
    try:
        return await vault.create_connect_session(allowed_providers=["google", "slack", "github"])
    finally:
        await vault.close()


async def use_grant(grant_id):
    """The guide's Step 6 with the grant the widget handed over."""
    from alter_sdk import AlterVault, HttpMethod
    vault = AlterVault(api_key=os.environ["ALTER_API_KEY"], caller="my-agent")
    try:
        response = await vault.request(
            HttpMethod.GET, "https://www.googleapis.com/calendar/v3/calendars/primary/events",
            grant_id=grant_id, query_params={"maxResults": "10"}, reason="Fetching calendar events")
        return {"status": response.status_code, "items": len(response.json().get("items", []))}
    finally:
        await vault.close()


def start_serve(args, scratch):
    env = dict(os.environ, VAULTSIM_CA_DIR=os.path.join(scratch, "ca"))
    serve = subprocess.Popen(
        [args["vaultsim"], "serve", "--port", "0", "--proxy-port", "0", "--db", os.path.join(scratch, "serve.sqlite")],
        cwd=args["root"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = serve.stdout.readline()
        if not line:
            fail("vaultsim serve exited before its banner: %s" % serve.stderr.read())
        lines.append(line.rstrip("\n"))
        if line.startswith("Control API:"):
            break
    threading.Thread(target=lambda: serve.stdout.read(), daemon=True).start()
    threading.Thread(target=lambda: serve.stderr.read(), daemon=True).start()
    banner = "\n".join(lines)
    exports = dict(re.findall(r"^\s*export (\w+)=(.*)$", banner, re.M))
    flags = re.search(r"^\s*chromium (--proxy-server=.*)$", banner, re.M)
    folder = re.search(r"^\s*npm install (\S+)", banner, re.M)
    if not exports.get("ALTER_API_KEY") or not flags:
        fail("serve's banner lacks the exports or the Chromium flags:\n" + banner)
    return serve, exports, flags.group(1).split(), folder.group(1) if folder else None


def main():
    args = browser_common.start("widget_browser", ("chromium", "chromedriver", "vaultsim", "root", "guide", "artefacts"))
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    step_timeout = float(args.get("step_timeout", 20))
    artefacts = os.path.abspath(args["artefacts"])
    os.makedirs(artefacts, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="vaultsim-widget-")
    serve, exports, flags, folder = start_serve(args, scratch)
    # The app's processes get what the banner says to export; the SDK then reaches the vault.
    os.environ.update(exports)
    backend = Backend(guide_option_b(args["guide"]))
    app_url = "http://127.0.0.1:%d/" % backend.port

    # The banner's flags, with a profile of this run's own.
    options = browser_common.chrome_options(webdriver, args["chromium"], "1200,900",
                                            [f for f in flags if not f.startswith("--user-data-dir")]
                                            + ["--user-data-dir=" + os.path.join(scratch, "chromium")])
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = None
    step = "starting Chromium"
    report = {"runs": {}, "widget_folder": folder, "vault": exports.get("ALTER_BASE_URL")}
    try:
        driver = webdriver.Chrome(service=Service(executable_path=args["chromedriver"], log_output=subprocess.DEVNULL), options=options)
        driver.set_page_load_timeout(step_timeout)
        wait = WebDriverWait(driver, step_timeout)
        for run in args.get("runs", ["success", "deny", "close"]):
            backend.mode = run
            step = "%s: opening the app page %s" % (run, app_url)
            driver.get(app_url)
            opener = driver.current_window_handle
            wait.until(lambda d: d.execute_script("return window.vaultsimReady === true"))
            if run == "success":
                driver.save_screenshot(os.path.join(artefacts, "widget-opener-before.png"))
            step = "%s: clicking Connect Google" % run
            before = set(driver.window_handles)
            driver.find_element(By.ID, "connect-google").click()
            wait.until(lambda d: len(set(d.window_handles) - before) == 1)
            popup = (set(driver.window_handles) - before).pop()
            driver.switch_to.window(popup)
            step = "%s: the hosted page in the popup" % run
            wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "form#provider-google button[type=submit]")))
            popup_size = driver.execute_script("return [window.outerWidth, window.outerHeight]")
            offered = [f.get_attribute("id") for f in driver.find_elements(By.CSS_SELECTOR, "form.provider")]
            if run == "close":
                driver.close()
            else:
                driver.find_element(By.CSS_SELECTOR, "form#provider-google button[type=submit]").click()
                step = "%s: Google's consent page" % run
                wait.until(EC.visibility_of_element_located((By.ID, "consent-heading")))
                radios = driver.find_elements(By.CSS_SELECTOR, "form#consent input[type=radio][name=account]")
                if radios:
                    radios[0].click()
                choice = "allow" if run == "success" else "cancel"
                driver.find_element(By.CSS_SELECTOR, "form#consent button[type=submit][value=%s]" % choice).click()
                if run == "success":
                    step = "success: Finish on the hosted page (the session allows three providers)"
                    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "form#finish button"))).click()
            step = "%s: waiting for the widget to close the popup and call back" % run
            driver.switch_to.window(opener)
            wait.until(lambda d: len(d.window_handles) == 1)
            wait.until(lambda d: any(e["event"] == "EXIT" for e in d.execute_script("return window.vaultsimEvents")))
            outcome = driver.execute_script(
                "return {events: window.vaultsimEvents, logs: window.vaultsimLogs, loads: window.vaultsimLoads,"
                " callbacks: window.vaultsimCallbacks || null, version: window.vaultsimVersion, opened: window.vaultsimOpened, messages: window.vaultsimMessages,"
                " open: window.vaultsimWidget.isOpen()}")
            outcome.update({"popup_size": popup_size, "offered": offered, "sessions": list(backend.sessions)})
            if run == "success":
                driver.save_screenshot(os.path.join(artefacts, "widget-opener-after.png"))
                connected = [entry for entry in outcome["logs"] if entry[:2] == ["log", "Connected!"]]
                if connected:
                    step = "success: vault.request with the grant_id onSuccess got"
                    outcome["request"] = asyncio.run(use_grant(connected[0][2]))
            report["runs"][run] = outcome
        step = "loading another path on the CDN host"
        driver.get("https://cdn.jsdelivr.net/npm/react@18/umd/react.production.min.js")
        report["cdn_refusal"] = driver.find_element(By.TAG_NAME, "body").text
        step = "loading the widget from the vault's own port"
        driver.get(exports["ALTER_BASE_URL"] + "/npm/@alter-ai/connect@latest/dist/alter-connect.umd.js")
        report["vault_copy"] = driver.find_element(By.TAG_NAME, "body").text[:120]
        report["npm"] = npm_import(folder, scratch)
        print(json.dumps(report), flush=True)
        return 0
    except Exception as error:  # every failure told the same way: step, page, screenshot
        fail("\n".join(browser_common.failure_lines(driver, step, error, step_timeout, os.path.join(artefacts, "widget-failure.png"),
                                                    timeout_types=(TimeoutException,))))
    finally:
        browser_common.quit(driver)
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()
        shutil.rmtree(scratch, ignore_errors=True)


def npm_import(folder, scratch):
    """`npm install <folder>` offline into an empty app, then Node imports the package both ways."""
    npm = shutil.which("npm")
    if not npm or not folder:
        return {"skipped": "npm is not installed" if not npm else "serve wrote no package folder"}
    app = os.path.join(scratch, "bundled-app")
    os.makedirs(app)
    with open(os.path.join(app, "package.json"), "w") as handle:
        handle.write('{"name": "bundled-app", "version": "1.0.0", "private": true}')
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    install = subprocess.run([npm, "install", "--offline", "--no-audit", "--no-fund", folder], cwd=app, env=env,
                             capture_output=True, text=True, timeout=120)
    esm = subprocess.run(["node", "--input-type=module", "-e",
                          "import AlterConnect from '@alter-ai/connect'; console.log(typeof AlterConnect.create, AlterConnect.version)"],
                         cwd=app, env=env, capture_output=True, text=True, timeout=60)
    cjs = subprocess.run(["node", "-e", "const A = require('@alter-ai/connect'); console.log(typeof A.create, A.version)"],
                         cwd=app, env=env, capture_output=True, text=True, timeout=60)
    return {"install": install.returncode, "install_output": (install.stdout + install.stderr)[-800:],
            "esm": esm.stdout.strip() or esm.stderr[-800:], "cjs": cjs.stdout.strip() or cjs.stderr[-800:]}


if __name__ == "__main__":
    sys.exit(main())
