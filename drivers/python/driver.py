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
import sys

import alter_sdk

# This driver speaks the AlterVault API (alter-sdk 0.8-0.11, the one the integration guide
# documents). Newer releases replaced it with App/Agent: init then says so, once, instead of
# the driver dying on import.
SUPPORTED_API = "the AlterVault API of alter-sdk 0.8 to 0.11"
try:
    from alter_sdk import AlterVault
    IMPORT_ERROR = None
except ImportError as exc:
    AlterVault = None
    IMPORT_ERROR = exc

PROTOCOL = 1
# Driver ops and the AlterVault method each needs (revoke_grant arrived in alter-sdk 0.9.0;
# create_connect_session and connect are checked the same way, so an older SDK is reported honestly).
OPS = {"request": "request", "list_grants": "list_grants", "revoke_grant": "revoke_grant",
       "create_connect_session": "create_connect_session", "connect": "connect", "close": "close"}


def capabilities():
    """The ops the imported SDK can serve."""
    if AlterVault is None:
        return []
    return [op for op, method in OPS.items() if hasattr(AlterVault, method)]
LINE_LIMIT = 16 * 1024 * 1024


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


class Driver:
    def __init__(self, out):
        self.out = out
        self.lock = asyncio.Lock()
        self.vault = None
        self.tasks = set()

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
        if IMPORT_ERROR is not None:
            raise ProtocolError(f"alter-sdk {sdk_version()} has no AlterVault ({IMPORT_ERROR}); this driver speaks "
                                f"{SUPPORTED_API}. Choose such an SDK with --sdk alter-sdk==0.11.0, or a driver "
                                "for this SDK with --driver CMD")
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
        self.vault = AlterVault(api_key=api_key, **pick(params, ("caller", "caller_type", "timeout")))
        return {
            "sdk": "alter-sdk",
            "version": sdk_version(),
            "language": "python",
            "language_version": platform.python_version(),
            "sdk_path": alter_sdk.__file__,
            "protocol": PROTOCOL,
            "capabilities": capabilities(),
            # One process may serve many scenarios: end_scenario, then init again.
            "reusable": True,
            "pid": os.getpid(),
        }

    async def op_request(self, params):
        vault = self.client()
        method, url = need(params, "method"), need(params, "url")
        kwargs = pick(params, ("grant_id", "provider", "account", "json", "extra_headers",
                               "query_params", "path_params", "reason", "context"))
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

    async def op_list_grants(self, params):
        result = await self.client().list_grants(**pick(params, ("provider_id", "limit", "offset")))
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

    async def op_connect(self, params):
        # Never open a browser: with open_browser=False the SDK logs the Connect URL at INFO
        # through the alter_sdk.client logger (stderr), and the simulated user opens it.
        kwargs = pick(params, ("providers", "timeout", "poll_interval", "grant_policy"))
        results = await self.client().connect(open_browser=False, **kwargs)
        return [r.model_dump(mode="json") for r in results]

    async def op_close(self, params):
        await self.client().close()
        return {}

    async def op_end_scenario(self, params):
        """Forgets the scenario's client (closing it if still open) so the next init makes a fresh
        one, then writes the runner's mark on stderr: everything logged before it was this
        scenario's."""
        vault, self.vault = self.vault, None
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
