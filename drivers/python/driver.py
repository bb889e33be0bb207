"""VaultSim driver for the Python SDK (alter-sdk).

Speaks the JSON-lines driver protocol, version 1, described in docs/driver-protocol.md:
one command per stdin line, one reply per stdout line, several commands in flight at once.
stdout carries protocol lines only; everything else (prints, the SDK's DEBUG logs) goes to
stderr, which the runner keeps as the SDK log and searches for leaked secrets.

Standard library plus alter_sdk only. Run as: <venv>/bin/python drivers/python/driver.py
"""

import asyncio
import base64
import binascii
import importlib.metadata
import json
import logging
import math
import os
import platform
import shlex
import sys

import alter_sdk

# This driver speaks both generations of the Python SDK through their public API only:
# AlterVault (alter-sdk 0.8-0.11, the API the integration guide documents) and App (0.12 on,
# which replaced AlterVault with App and Agent). init reports which one it found.
try:
    from alter_sdk import AlterVault
except ImportError:
    AlterVault = None
try:
    from alter_sdk import App
except ImportError:
    App = None
CLIENT_CLASS = AlterVault if AlterVault is not None else App
GENERATION = "AlterVault" if AlterVault is not None else ("App" if App is not None else None)

PROTOCOL = 1
# Driver ops and the client method each needs (revoke_grant arrived in alter-sdk 0.9.0;
# create_connect_session and connect are checked the same way, so an older SDK is reported honestly).
OPS = {"request": "request", "list_grants": "list_grants", "revoke_grant": "revoke_grant",
       "create_connect_session": "create_connect_session", "connect": "connect", "close": "close",
       "proxy_request": "proxy_request", "await_approval": "await_approval",
       "get_approval_status": "get_approval_status",
       "create_connect_session_for_error": "create_connect_session_for_error",
       "poll_connect_session": "poll_connect_session", "authenticate": "authenticate",
       "verify_user_token": "verify_user_token", "construct_client": "__init__",
       # The MCP integration's helpers (alter_sdk.mcp calls them; AlterVault generation).
       "create_auth_session_raw": "_create_auth_session_raw", "poll_auth_session_raw": "_poll_auth_session_raw"}
# The keyword arguments each op passes on when the scenario gives them, per generation.
REQUEST_ARGS = ("grant_id", "provider", "account", "json", "extra_headers", "query_params", "path_params", "reason", "context")
LIST_GRANTS_ARGS = {"AlterVault": ("provider_id", "limit", "offset"),
                    "App": ("provider_id", "status", "account", "label", "limit", "offset")}


def capabilities():
    """The ops the imported SDK can serve."""
    if CLIENT_CLASS is None:
        return []
    return [op for op, method in OPS.items() if hasattr(CLIENT_CLASS, method)]


LINE_LIMIT = 16 * 1024 * 1024

# No real browser ever opens from a driver: the SDK's webbrowser.open() (authenticate(), and
# connect(open_browser=True)) runs this stand-in, which only says on stderr what it was given.
os.environ["BROWSER"] = "sh -c " + shlex.quote('echo "vaultsim browser stand-in: open $0" >&2') + " %s"


class ProtocolError(Exception):
    """The driver could not carry out the command (unknown op, bad params, no client)."""


def json_safe(value, depth=0):
    """Make a value JSON-encodable: containers recursively, bytes decoded, the rest repr()."""
    if depth > 50:
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in value]
    return repr(value)


def error_kind(cls):
    """A language-neutral name for an SDK exception class, so a driver in another language can
    map its own classes to the same kinds: the class name without its "Error" suffix, in
    snake_case (GrantNotFoundError -> grant_not_found, ProviderAPIError -> provider_api,
    TimeoutError -> timeout). Classes outside the SDK are "foreign"."""
    if not cls.__module__.startswith("alter_sdk"):
        return "foreign"
    name = cls.__name__
    if name.endswith("Error"):
        name = name[:-len("Error")]
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def error_payload(exc):
    """Describe an exception in the protocol's SDK-error shape."""
    cls = type(exc)
    try:
        text = str(exc)
    except Exception:  # a broken __str__ is itself worth reporting, not crashing on
        text = repr(exc)
    try:
        attrs = {k: v for k, v in vars(exc).items() if not k.startswith("_")}
    except TypeError:  # no __dict__
        attrs = {}
    return {
        "class": cls.__name__,
        "kind": error_kind(cls),
        "ancestor_kinds": [error_kind(c) for c in cls.__mro__[1:] if c.__module__.startswith("alter_sdk")],
        "module": cls.__module__,
        "ancestors": [c.__name__ for c in cls.__mro__[1:] if c is not object],
        "message": json_safe(getattr(exc, "message", text)),
        "str": text,
        "attributes": json_safe(attrs),
    }


def pick(params, keys):
    """The subset of params whose keys are present (only those are passed to the SDK)."""
    return {k: params[k] for k in keys if k in params}


def need(params, key):
    if key not in params:
        raise ProtocolError(f"missing required param '{key}'")
    return params[key]


def sdk_version():
    version = getattr(alter_sdk, "__version__", None)
    if version:
        return version
    try:
        return importlib.metadata.version("alter-sdk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def version_tuple():
    """The SDK's version as numbers ((0, 29, 0)); unparseable parts count as 0."""
    parts = []
    for piece in sdk_version().split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


class Driver:
    def __init__(self, out):
        self.out = out
        self.lock = asyncio.Lock()
        self.vault = None
        self.tasks = set()
        # The SDK exception the last failed op raised (for create_connect_session_for_error).
        self.last_error = None

    async def send(self, message):
        line = json.dumps(message, ensure_ascii=True, allow_nan=False) + "\n"
        async with self.lock:
            try:
                self.out.write(line.encode("utf-8"))
                self.out.flush()
            except BrokenPipeError:
                logging.getLogger("vaultsim.driver").warning("stdout closed; reply dropped")

    def client(self):
        if self.vault is None:
            raise ProtocolError("no client: init failed or not sent")
        return self.vault

    # -- ops -------------------------------------------------------------------------------

    async def op_init(self, params):
        if self.vault is not None:
            raise ProtocolError("init already sent")
        if CLIENT_CLASS is None:
            raise ProtocolError(f"alter-sdk {sdk_version()} has neither AlterVault (0.8-0.11) nor App (0.12 on); "
                                "choose another SDK with --sdk, or a driver for this one with --driver CMD")
        base_url, api_key = need(params, "base_url"), need(params, "api_key")
        # A reused driver gets each scenario's environment here (its proxy names the sandbox);
        # the SDK reads it when the client is made.
        env = params.get("env", {})
        if not isinstance(env, dict):
            raise ProtocolError("env must be an object of names to strings (or null to unset)")
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[str(name)] = str(value)
        os.environ["ALTER_BASE_URL"] = base_url
        kwargs = pick(params, ("caller", "caller_type", "timeout"))
        if "user_token" in params:
            token = params["user_token"]
            kwargs["user_token_getter"] = lambda: token
        self.vault = CLIENT_CLASS(api_key=api_key, **kwargs)
        if params.get("context_manager") is True:
            # `async with AlterVault(...) as vault:` — the ops use what __aenter__ gave.
            self.vault = await self.vault.__aenter__()
        return {
            "sdk": "alter-sdk",
            "version": sdk_version(),
            "language": "python",
            "language_version": platform.python_version(),
            "sdk_path": alter_sdk.__file__,
            "protocol": PROTOCOL,
            "capabilities": capabilities(),
            "generation": GENERATION,
            # One process may serve many scenarios: end_scenario, then init again.
            "reusable": True,
            "pid": os.getpid(),
        }

    async def op_request(self, params):
        vault = self.client()
        method, url = need(params, "method"), need(params, "url")
        kwargs = pick(params, REQUEST_ARGS)
        if "body_base64" in params:
            try:
                kwargs["body"] = base64.b64decode(params["body_base64"], validate=True)
            except (binascii.Error, TypeError, ValueError) as exc:
                raise ProtocolError(f"bad body_base64: {exc}") from None
        response = await vault.request(method, url, **kwargs)
        headers = {}
        for name, value in response.headers.multi_items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            parsed = json_safe(response.json())
        except Exception:  # not JSON (or empty): null, per the protocol
            parsed = None
        return {"status": response.status_code, "headers": headers, "body": response.text,
                "json": parsed, "http_version": response.http_version}

    async def op_proxy_request(self, params):
        # Proxy mode (alter-sdk 0.12 on): the vault makes the provider call. The result is the
        # SDK's model as JSON, plus the body decoded (text, and JSON when it parses).
        vault = self.client()
        method, url = need(params, "method"), need(params, "url")
        kwargs = pick(params, REQUEST_ARGS)
        # 0.12-0.18 name two of the arguments differently (json_body=, headers=).
        if version_tuple() < (0, 19):
            for ours, theirs in (("json", "json_body"), ("extra_headers", "headers")):
                if ours in kwargs:
                    kwargs[theirs] = kwargs.pop(ours)
        return self.approval_result(await vault.proxy_request(method, url, **kwargs))

    @staticmethod
    def approval_result(result):
        out = result.model_dump(mode="json")
        if hasattr(result, "body_bytes"):
            raw = result.body_bytes()
            out["body"] = raw.decode("utf-8", errors="replace")
            try:
                out["json"] = json_safe(json.loads(raw))
            except ValueError:
                out["json"] = None
        return out

    async def op_await_approval(self, params):
        result = await self.client().await_approval(need(params, "approval_id"), **pick(params, ("timeout", "poll_interval")))
        return self.approval_result(result)

    async def op_get_approval_status(self, params):
        result = await self.client().get_approval_status(need(params, "approval_id"), **pick(params, ("wait",)))
        return result.model_dump(mode="json")

    async def op_list_grants(self, params):
        result = await self.client().list_grants(**pick(params, LIST_GRANTS_ARGS[GENERATION]))
        return result.model_dump(mode="json")

    async def op_revoke_grant(self, params):
        vault = self.client()
        result = await vault.revoke_grant(need(params, "grant_id"), **pick(params, ("reason",)))
        return result.model_dump(mode="json")

    async def op_create_connect_session(self, params):
        kwargs = pick(params, ("allowed_providers", "return_url", "allowed_origin", "metadata",
                               "grant_policy", "required_scopes"))
        result = await self.client().create_connect_session(**kwargs)
        return result.model_dump(mode="json")

    async def op_create_connect_session_for_error(self, params):
        # The SDK takes the typed exception itself: the one the last failed op raised.
        if self.last_error is None:
            raise ProtocolError("create_connect_session_for_error needs an earlier op to have raised an SDK error")
        kwargs = pick(params, ("return_url", "allowed_origin", "metadata", "grant_policy", "required_scopes"))
        result = await self.client().create_connect_session_for_error(self.last_error, **kwargs)
        return result.model_dump(mode="json")

    async def op_poll_connect_session(self, params):
        kwargs = pick(params, ("timeout", "poll_interval"))
        results = await self.client().poll_connect_session(need(params, "session_token"), **kwargs)
        return [r.model_dump(mode="json") for r in results]

    async def op_connect(self, params):
        # Never open a browser: with open_browser=False the SDK logs the Connect URL at INFO
        # through the alter_sdk.client logger (stderr), and the simulated user opens it.
        kwargs = pick(params, ("providers", "timeout", "poll_interval", "grant_policy"))
        results = await self.client().connect(open_browser=False, **kwargs)
        return [r.model_dump(mode="json") for r in results]

    async def op_authenticate(self, params):
        # The SDK opens auth_url with webbrowser (the stand-in above) and polls every 2 s.
        result = await self.client().authenticate(**pick(params, ("timeout",)))
        return json_safe(result.model_dump(mode="json") if hasattr(result, "model_dump") else vars(result))

    async def op_construct_client(self, params):
        # Another client, made with this base URL (ALTER_BASE_URL, as the SDK reads it) and key,
        # then closed: what the constructor refuses is the SDK's error reply.
        base_url, api_key = params.get("base_url"), params.get("api_key")
        if not isinstance(base_url, str) or not isinstance(api_key, str):
            raise ProtocolError("construct_client needs base_url and api_key, strings")
        saved = os.environ.get("ALTER_BASE_URL")
        os.environ["ALTER_BASE_URL"] = base_url
        try:
            client = CLIENT_CLASS(api_key=api_key, **pick(params, ("caller", "caller_type", "timeout")))
        finally:
            if saved is None:
                os.environ.pop("ALTER_BASE_URL", None)
            else:
                os.environ["ALTER_BASE_URL"] = saved
        await client.close()
        return {"constructed": True}

    async def op_create_auth_session_raw(self, params):
        return json_safe(await self.client()._create_auth_session_raw())

    async def op_poll_auth_session_raw(self, params):
        token = params.get("session_token")
        if not isinstance(token, str):
            raise ProtocolError("poll_auth_session_raw needs session_token, a string")
        return json_safe(await self.client()._poll_auth_session_raw(token))

    async def op_verify_user_token(self, params):
        token = params.get("token")
        if not isinstance(token, str):
            raise ProtocolError("verify_user_token needs token, a string")
        return await self.client().verify_user_token(token)

    async def op_close(self, params):
        # `via: context_manager` leaves `async with vault:` (__aexit__) instead of calling close().
        if params.get("via") == "context_manager":
            await self.client().__aexit__(None, None, None)
        else:
            await self.client().close()
        return {}

    async def op_end_scenario(self, params):
        """Forgets the scenario's client (closing it if still open) so the next init makes a fresh
        one, then writes the runner's mark on stderr: everything logged before it was this
        scenario's."""
        vault, self.vault = self.vault, None
        self.last_error = None
        if vault is not None:
            try:
                await vault.close()
            except Exception:
                pass
        mark = params.get("mark")
        if isinstance(mark, str):
            sys.stderr.write(f"\n{mark}\n")
            sys.stderr.flush()
        return {}

    # -- dispatch --------------------------------------------------------------------------

    async def handle(self, msg_id, op, params):
        try:
            handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
            if handler is None:
                raise ProtocolError(f"unknown op {op!r}")
            if not isinstance(params, dict):
                raise ProtocolError("params must be an object")
            reply = {"id": msg_id, "ok": True, "result": await handler(params)}
        except ProtocolError as exc:
            reply = {"id": msg_id, "ok": False, "protocol_error": str(exc)}
        except Exception as exc:  # any exception out of the SDK is an outcome to report
            if type(exc).__module__.startswith("alter_sdk"):
                self.last_error = exc
            reply = {"id": msg_id, "ok": False, "error": error_payload(exc)}
        try:
            await self.send(reply)
        except (TypeError, ValueError) as exc:  # result not JSON-encodable: still answer
            await self.send({"id": msg_id, "ok": False,
                             "protocol_error": f"reply not JSON-encodable: {exc}"})

    async def dispatch(self, raw):
        try:
            msg = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            await self.send({"id": None, "ok": False, "protocol_error": f"malformed line: {exc}"})
            return
        if not isinstance(msg, dict):
            await self.send({"id": None, "ok": False, "protocol_error": "message is not an object"})
            return
        coro = self.handle(msg.get("id"), msg.get("op"), msg.get("params", {}))
        if msg.get("op") == "init":
            await coro  # inline, so commands sent right after init see the client
            return
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def shutdown(self):
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        if self.vault is not None:
            try:
                await self.vault.close()
            except Exception:
                logging.getLogger("vaultsim.driver").exception("close at EOF failed")


async def stdin_reader():
    """An async readline over stdin that does not block the loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        return reader.readline
    except ValueError:  # stdin is a regular file: read it in a worker thread instead
        return lambda: loop.run_in_executor(None, sys.stdin.buffer.readline)


async def main(out):
    driver = Driver(out)
    readline = await stdin_reader()
    while True:
        try:
            raw = await readline()
        except ValueError as exc:  # line longer than LINE_LIMIT
            await driver.send({"id": None, "ok": False, "protocol_error": f"line too long: {exc}"})
            continue
        if not raw:
            break
        if raw.strip():
            await driver.dispatch(raw)
    await driver.shutdown()


if __name__ == "__main__":
    # Keep fd 1 for protocol lines only: the protocol gets a private copy of it, and fd 1
    # itself (print, C extensions, subprocesses) is pointed at stderr.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alter_sdk").setLevel(logging.DEBUG)
    asyncio.run(main(protocol_out))
    sys.exit(0)
