import Foundation

/// The text of VaultSim's `@alter-ai/connect`: a zero-dependency widget written from the
/// package's public documentation (docs.alterauth.com, "Connect SDK"), not from any build of the
/// real package. One body, wrapped as UMD (`dist/alter-connect.umd.js`, the CDN script tag's
/// `window.AlterConnect`, CommonJS, AMD) and as an ES module (`dist/alter-connect.esm.js`).
/// `__VAULT_URL__` is replaced by the vault the widget opens (the server that serves it).
enum ConnectWidgetSource {
    /// The version `getVersion()` answers and `package.json` names.
    static let version = "0.2.0-vaultsim.1"

    static func umd(vaultURL: String) -> String {
        header + """
            (function (root, factory) {
              if (typeof define === "function" && define.amd) { define([], factory); }
              else if (typeof module === "object" && module.exports) { module.exports = factory(); module.exports.default = module.exports; }
              else { root.AlterConnect = factory(); }
            })(typeof self !== "undefined" ? self : this, function () {

            """ + body(vaultURL: vaultURL) + """
              return AlterConnect;
            });

            """
    }

    static func esm(vaultURL: String) -> String {
        header + "const AlterConnect = (function () {\n" + body(vaultURL: vaultURL) + """
              return AlterConnect;
            })();
            export default AlterConnect;
            export { AlterConnect };

            """
    }

    static let header = """
        /*! @alter-ai/connect \(version): VaultSim's stand-in for the Alter Connect widget, written from
         *  its public documentation. It opens VaultSim's hosted Connect pages; nothing leaves this machine. */

        """

    static func body(vaultURL: String) -> String {
        // Quoted as a JavaScript string literal (the URL is VaultSim's own, but quote it anyway).
        let quoted = "\"" + vaultURL.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "\"", "\\", "<", ">", "\n", "\r", "\u{2028}", "\u{2029}": return String(format: "\\u%04x", scalar.value)
            default: return String(scalar)
            }
        }.joined() + "\""
        return script.replacingOccurrences(of: "__VAULT_URL__", with: quoted)
            .replacingOccurrences(of: "__VERSION__", with: "\"\(version)\"")
    }

    /// The widget. `"alter-connect:event"` messages carry the hosted page's lifecycle events;
    /// `"alter-connect"` messages carry the session's outcome (docs/connect.md, section 7).
    private static let script = #"""
          "use strict";
          var VERSION = __VERSION__;
          var VAULT_URL = __VAULT_URL__;
          var VAULT_ORIGIN = new URL(VAULT_URL).origin;
          var EVENTS = ["OPEN", "PROVIDER_SELECTED", "OAUTH_STARTED", "OAUTH_COMPLETE", "EXIT"];
          var POPUP_WIDTH = 500, POPUP_HEIGHT = 700, SMALL_SCREEN = 480;

          function AlterError(code, message, details) {
            var error = new Error(message);
            error.name = "AlterError";
            error.code = code;
            error.details = details || {};
            return error;
          }

          // What a session's error_code means to the app; the code itself is kept as it is.
          function sessionError(error) {
            var code = (error && error.error_code) || "unknown_error";
            var message = (error && error.error_message) || "The Connect flow failed.";
            return AlterError(code, message, { error_code: code, error_message: message });
          }

          function isSmallScreen() {
            var width = window.innerWidth || (document.documentElement && document.documentElement.clientWidth) || 1024;
            var height = window.innerHeight || 768;
            return width <= SMALL_SCREEN || (width <= 1024 && height > width);
          }

          function Instance(config) {
            config = config || {};
            if (typeof config !== "object") { throw AlterError("invalid_options", "AlterConnect.create() takes an object or nothing"); }
            if (config.baseURL !== undefined) {
              throw AlterError("invalid_options", "baseURL is reserved and not supported: omit it. This widget opens the vault that served it (" + VAULT_URL + ").");
            }
            this._debug = config.debug === true;
            this._listeners = {};
            this._flow = null;
            this._destroyed = false;
            this._onMessage = this._receive.bind(this);
          }

          Instance.prototype._log = function () {
            if (this._debug && window.console) { console.log.apply(console, ["[Alter Connect]"].concat([].slice.call(arguments))); }
          };

          Instance.prototype._alive = function () {
            if (this._destroyed) { throw AlterError("sdk_destroyed", "This AlterConnect instance was destroyed; call AlterConnect.create() again"); }
          };

          Instance.prototype._emit = function (name, metadata, options) {
            var data = Object.assign({ timestamp: new Date().toISOString() }, metadata || {});
            this._log(name, data);
            (this._listeners[name] || []).slice().forEach(function (handler) { handler(data); });
            if (options && typeof options.onEvent === "function") { options.onEvent(name, data); }
          };

          Instance.prototype.on = function (name, handler) {
            this._alive();
            if (EVENTS.indexOf(name) < 0 || typeof handler !== "function") {
              throw AlterError("invalid_options", "on() takes one of " + EVENTS.join(", ") + " and a function");
            }
            (this._listeners[name] = this._listeners[name] || []).push(handler);
          };

          Instance.prototype.off = function (name, handler) {
            this._alive();
            this._listeners[name] = (this._listeners[name] || []).filter(function (h) { return h !== handler; });
          };

          Instance.prototype.open = function (options) {
            this._alive();
            if (!options || typeof options !== "object") { throw AlterError("invalid_options", "open() takes { token, onSuccess, onError?, onExit?, onEvent? }"); }
            if (typeof options.token !== "string" || options.token === "") { throw AlterError("invalid_options", "open() needs token: the session_token your backend got from create_connect_session()"); }
            if (typeof options.onSuccess !== "function") { throw AlterError("invalid_options", "open() needs onSuccess: a function"); }
            ["onError", "onExit", "onEvent"].forEach(function (name) {
              if (options[name] !== undefined && typeof options[name] !== "function") { throw AlterError("invalid_options", name + " must be a function"); }
            });
            if (this._flow) {
              this._flow.popup.focus();
              return Promise.resolve();
            }
            var url = VAULT_URL + "/connect/widget?token=" + encodeURIComponent(options.token) + "&origin=" + encodeURIComponent(window.location.origin);
            if (isSmallScreen()) {
              this._emit("OPEN", { mode: "redirect" }, options);
              window.location.assign(url + "&mode=redirect");
              return Promise.resolve();
            }
            var left = (window.screenX || 0) + Math.max(0, ((window.outerWidth || POPUP_WIDTH) - POPUP_WIDTH) / 2);
            var top = (window.screenY || 0) + Math.max(0, ((window.outerHeight || POPUP_HEIGHT) - POPUP_HEIGHT) / 2);
            var popup = window.open(url, "alter-connect", "popup=yes,width=" + POPUP_WIDTH + ",height=" + POPUP_HEIGHT + ",left=" + Math.round(left) + ",top=" + Math.round(top));
            if (!popup) {
              var blocked = AlterError("popup_blocked", "The browser blocked the Connect popup: call open() straight from the click handler");
              this._log("error", blocked);
              if (options.onError) { options.onError(blocked); }
              return Promise.resolve();
            }
            var self = this;
            this._flow = { popup: popup, options: options };
            window.addEventListener("message", this._onMessage);
            this._flow.timer = setInterval(function () {
              if (self._flow && self._flow.popup.closed) { self._end("user_closed", options.onExit ? function () { options.onExit(); } : null); }
            }, 250);
            this._emit("OPEN", { mode: "popup" }, options);
            return Promise.resolve();
          };

          Instance.prototype._receive = function (event) {
            var flow = this._flow;
            if (!flow || event.origin !== VAULT_ORIGIN || event.source !== flow.popup) { return; }
            var data = event.data;
            if (!data || typeof data !== "object") { return; }
            var options = flow.options;
            if (data.type === "alter-connect:event") {
              if (data.event === "PROVIDER_SELECTED" || data.event === "OAUTH_STARTED") { this._emit(data.event, data.metadata, options); }
              return;
            }
            if (data.type !== "alter-connect") { return; }
            if (data.status === "completed") {
              var connections = Array.isArray(data.connections) ? data.connections : [];
              this._emit("OAUTH_COMPLETE", { connections: connections.length }, options);
              this._end("success", function () { options.onSuccess(connections); });
            } else if (data.status === "expired") {
              var expired = AlterError("session_expired", "The Connect session expired; ask your backend for a new session token");
              this._end("error", options.onError ? function () { options.onError(expired); } : null);
            } else if (data.status === "error") {
              var failure = sessionError(data.error);
              this._end("error", options.onError ? function () { options.onError(failure); } : null);
            }
          };

          // Ends the flow: closes the popup, runs the flow's callback, then emits EXIT.
          Instance.prototype._end = function (reason, callback) {
            var flow = this._flow;
            if (!flow) { return; }
            this._flow = null;
            clearInterval(flow.timer);
            window.removeEventListener("message", this._onMessage);
            if (!flow.popup.closed) { flow.popup.close(); }
            try {
              if (callback) { callback(); }
            } finally {
              this._emit("EXIT", { reason: reason }, flow.options);
            }
          };

          Instance.prototype.close = function () {
            this._alive();
            this._end("closed", null);
          };

          Instance.prototype.destroy = function () {
            if (this._destroyed) { return; }
            this._end("destroyed", null);
            this._listeners = {};
            this._destroyed = true;
          };

          Instance.prototype.isOpen = function () { return this._flow !== null; };
          Instance.prototype.getVersion = function () { return VERSION; };

          var AlterConnect = {
            create: function (config) { return new Instance(config); },
            version: VERSION,
            EVENTS: EVENTS.slice()
          };

    """#

    /// `dist/index.d.ts`: the documented types.
    static let typeDeclarations = """
        export interface AlterConnectConfig { debug?: boolean; baseURL?: never; }
        export interface Grant {
          grant_id: string; provider: string; provider_name: string; account_identifier: string; timestamp: string;
          operation: "creation" | "reauth"; scopes: string[]; status: "active" | "pending" | "error";
          metadata?: { account_display_name?: string; account_email?: string; [key: string]: any };
        }
        export type Connection = Grant;
        export interface AlterError extends Error { code: string; message: string; details: Record<string, any>; }
        export type ConnectEvent = "OPEN" | "PROVIDER_SELECTED" | "OAUTH_STARTED" | "OAUTH_COMPLETE" | "EXIT";
        export interface OpenOptions {
          token: string;
          onSuccess: (connections: Grant[]) => void;
          onError?: (error: AlterError) => void;
          onExit?: () => void;
          onEvent?: (eventName: ConnectEvent, metadata: Record<string, any>) => void;
        }
        export interface AlterConnectInstance {
          open(options: OpenOptions): Promise<void>;
          close(): void;
          destroy(): void;
          isOpen(): boolean;
          getVersion(): string;
          on(event: ConnectEvent, handler: (metadata: Record<string, any>) => void): void;
          off(event: ConnectEvent, handler: (metadata: Record<string, any>) => void): void;
        }
        declare const AlterConnect: { create(config?: AlterConnectConfig): AlterConnectInstance; version: string; EVENTS: ConnectEvent[] };
        export default AlterConnect;
        export { AlterConnect };

        """

    static func packageJSON() -> String {
        """
        {
          "name": "@alter-ai/connect",
          "version": "\(version)",
          "description": "VaultSim's stand-in for the Alter Connect widget (offline dev sandbox)",
          "license": "MIT",
          "main": "dist/alter-connect.umd.js",
          "module": "dist/alter-connect.mjs",
          "types": "dist/index.d.ts",
          "exports": {
            ".": {
              "types": "./dist/index.d.ts",
              "import": "./dist/alter-connect.mjs",
              "require": "./dist/alter-connect.umd.js"
            },
            "./package.json": "./package.json"
          },
          "files": ["dist"],
          "sideEffects": false
        }

        """
    }
}
