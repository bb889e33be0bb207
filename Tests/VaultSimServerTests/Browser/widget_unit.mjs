// The Connect widget's rules that a real browser cannot be made to show on demand (a blocked
// popup, an expired session, a message from the wrong window, a small screen), checked in Node
// against a stand-in window. Run by ConnectWidgetTests.swift:
//     node widget_unit.mjs <alter-connect.umd.js> <the vault URL baked into it>
// Prints one line per check and "passed N of N"; exits 1 when any fails.
import fs from "node:fs";
import vm from "node:vm";

const [source, vaultURL] = [fs.readFileSync(process.argv[2], "utf8"), process.argv[3]];
const vaultOrigin = new URL(vaultURL).origin;
const appOrigin = "http://localhost:3000";

function makeWindow({ blocked = false, width = 1280, height = 800 } = {}) {
  const listeners = {};
  return {
    location: { origin: appOrigin, assigned: null, assign(url) { this.assigned = url; } },
    innerWidth: width, innerHeight: height, outerWidth: width, outerHeight: height, screenX: 0, screenY: 0,
    opened: [],
    open(url, name, features) {
      if (blocked) return null;
      const popup = { url, name, features, closed: false, focused: 0, close() { this.closed = true; }, focus() { this.focused += 1; } };
      this.opened.push(popup);
      return popup;
    },
    addEventListener(type, handler) { (listeners[type] ||= []).push(handler); },
    removeEventListener(type, handler) { listeners[type] = (listeners[type] || []).filter((h) => h !== handler); },
    post(data, origin, source) { (listeners.message || []).slice().forEach((h) => h({ data, origin, source })); },
    listeners,
  };
}

function load(win) {
  const context = { window: win, self: win, document: { documentElement: { clientWidth: win.innerWidth } }, console, URL,
                    setInterval, clearInterval, Promise, Date, Math, encodeURIComponent };
  vm.createContext(context);
  vm.runInContext(source, context);
  return win.AlterConnect;  // the UMD build sets it on `self`, the window
}

function flow(options = {}) {
  const win = makeWindow(options.window);
  const AlterConnect = load(win);
  const widget = AlterConnect.create();
  const seen = { events: [], calls: [] };
  const callbacks = {
    token: "cs_test",
    onSuccess: (connections) => seen.calls.push(["onSuccess", connections]),
    onError: (error) => seen.calls.push(["onError", error]),
    onExit: () => seen.calls.push(["onExit"]),
    onEvent: (name, metadata) => seen.events.push([name, metadata]),
  };
  return { win, AlterConnect, widget, seen, callbacks };
}

const checks = [];
function check(name, body) { checks.push([name, body]); }
function assert(condition, message) { if (!condition) throw new Error(message); }
function throwsCode(body, code) {
  try { body(); } catch (error) { assert(error.code === code, `threw ${error.code}, expected ${code}`); return; }
  throw new Error(`did not throw ${code}`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const names = (seen) => seen.events.map((e) => e[0]).join(",");

check("create() refuses the reserved baseURL", () => {
  const { AlterConnect } = flow();
  throwsCode(() => AlterConnect.create({ baseURL: "https://elsewhere" }), "invalid_options");
});
check("open() throws invalid_options without a token or onSuccess", () => {
  const { widget } = flow();
  throwsCode(() => widget.open({ onSuccess() {} }), "invalid_options");
  throwsCode(() => widget.open({ token: "cs_x" }), "invalid_options");
  throwsCode(() => widget.open({ token: "cs_x", onSuccess() {}, onExit: "no" }), "invalid_options");
});
check("a centred 500x700 popup at the vault, naming the page's origin", () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  const popup = win.opened[0];
  assert(popup.url === `${vaultURL}/connect/widget?token=cs_test&origin=${encodeURIComponent(appOrigin)}`, popup.url);
  assert(popup.features.includes("width=500,height=700,left=390,top=50"), popup.features);
  assert(widget.isOpen() && names(seen) === "OPEN", names(seen));
});
check("a blocked popup is onError popup_blocked", () => {
  const { widget, callbacks, seen } = flow({ window: { blocked: true } });
  widget.open(callbacks);
  assert(seen.calls.length === 1 && seen.calls[0][0] === "onError" && seen.calls[0][1].code === "popup_blocked", JSON.stringify(seen.calls));
  assert(!widget.isOpen(), "open after a blocked popup");
});
check("messages from another origin or another window are ignored", () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  const popup = win.opened[0];
  const done = { type: "alter-connect", status: "completed", connections: [{ grant_id: "g" }] };
  win.post(done, "https://evil.example", popup);
  win.post(done, vaultOrigin, { closed: false });
  win.post("not an object", vaultOrigin, popup);
  assert(seen.calls.length === 0 && widget.isOpen(), JSON.stringify(seen.calls));
});
check("success: events in order, onSuccess, the popup closed", () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  const popup = win.opened[0];
  win.post({ type: "alter-connect:event", event: "PROVIDER_SELECTED", metadata: { provider: "google" } }, vaultOrigin, popup);
  win.post({ type: "alter-connect:event", event: "OAUTH_STARTED", metadata: { provider: "google" } }, vaultOrigin, popup);
  win.post({ type: "alter-connect:event", event: "EXIT", metadata: {} }, vaultOrigin, popup);  // not the page's to send
  win.post({ type: "alter-connect", status: "completed", connections: [{ grant_id: "g-1", provider: "google" }] }, vaultOrigin, popup);
  assert(names(seen) === "OPEN,PROVIDER_SELECTED,OAUTH_STARTED,OAUTH_COMPLETE,EXIT", names(seen));
  assert(seen.events[1][1].provider === "google", "PROVIDER_SELECTED names the provider");
  assert(seen.events[4][1].reason === "success", "EXIT's reason");
  assert(seen.calls.length === 1 && seen.calls[0][1][0].grant_id === "g-1", JSON.stringify(seen.calls));
  assert(popup.closed && !widget.isOpen(), "the popup stays open");
});
check("an expired session is onError session_expired", () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  win.post({ type: "alter-connect", status: "expired", connections: [] }, vaultOrigin, win.opened[0]);
  assert(seen.calls[0][0] === "onError" && seen.calls[0][1].code === "session_expired", JSON.stringify(seen.calls));
  assert(names(seen) === "OPEN,EXIT", names(seen));
});
check("a failed session is onError with its code, message and details", () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  win.post({ type: "alter-connect", status: "error", connections: [],
             error: { error_code: "provider_unavailable", error_message: "google is down" } }, vaultOrigin, win.opened[0]);
  const error = seen.calls[0][1];
  assert(Object.prototype.toString.call(error) === "[object Error]" && error.name === "AlterError", "an AlterError");
  assert(error.code === "provider_unavailable" && error.message === "google is down" && error.details.error_code === "provider_unavailable",
         JSON.stringify(error));
});
check("the user closing the popup is onExit, EXIT user_closed", async () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  win.opened[0].closed = true;
  await sleep(600);
  assert(seen.calls.length === 1 && seen.calls[0][0] === "onExit", JSON.stringify(seen.calls));
  assert(names(seen) === "OPEN,EXIT" && seen.events[1][1].reason === "user_closed", JSON.stringify(seen.events));
});
check("open() while open focuses the popup and opens no other", () => {
  const { win, widget, callbacks } = flow();
  widget.open(callbacks);
  widget.open(callbacks);
  assert(win.opened.length === 1 && win.opened[0].focused === 1, `${win.opened.length} popups`);
});
check("close() closes the popup without onExit; destroy() refuses what follows", () => {
  const { win, widget, callbacks, seen } = flow();
  widget.open(callbacks);
  widget.close();
  assert(win.opened[0].closed && seen.calls.length === 0 && names(seen) === "OPEN,EXIT", JSON.stringify(seen));
  widget.destroy();
  throwsCode(() => widget.open(callbacks), "sdk_destroyed");
  throwsCode(() => widget.on("OPEN", () => {}), "sdk_destroyed");
  assert(Object.keys(win.listeners).every((type) => win.listeners[type].length === 0), "listeners left behind");
});
check("on() and off(): the event bus", () => {
  const { win, widget, callbacks } = flow();
  const heard = [];
  const handler = (metadata) => heard.push(metadata.mode);
  widget.on("OPEN", handler);
  throwsCode(() => widget.on("SOMETHING", handler), "invalid_options");
  widget.open(callbacks);
  widget.close();
  widget.off("OPEN", handler);
  widget.open(callbacks);
  assert(heard.join() === "popup" && win.opened.length === 2, heard.join());
});
check("a phone-sized screen navigates the page instead of a popup", () => {
  const { win, widget, callbacks, seen } = flow({ window: { width: 400, height: 800 } });
  widget.open(callbacks);
  assert(win.opened.length === 0, "a popup on a phone");
  assert(win.location.assigned === `${vaultURL}/connect/widget?token=cs_test&origin=${encodeURIComponent(appOrigin)}&mode=redirect`,
         win.location.assigned);
  assert(seen.events[0][0] === "OPEN" && seen.events[0][1].mode === "redirect", JSON.stringify(seen.events));
});
check("getVersion() names the package's version", () => {
  const { widget, AlterConnect } = flow();
  assert(widget.getVersion() === AlterConnect.version && /vaultsim/.test(widget.getVersion()), widget.getVersion());
});

let passed = 0;
for (const [name, body] of checks) {
  try {
    await body();
    passed += 1;
    console.log(`ok ${name}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error.message}`);
  }
}
console.log(`passed ${passed} of ${checks.length}`);
process.exit(passed === checks.length ? 0 : 1);
