"""What the browser scripts share: their arguments, Chromium's options, and how a failure is told.

Imported by connect_browser.py, approval_browser.py and widget_browser.py (from their own folder).
"""

import json
import os
import signal
import sys
import traceback

# Headless Chromium as the tests run it: no sandbox (containers), nothing fetched in the background.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                  "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                  "--disable-component-update"]


def failer(script):
    """A `fail(message, code=1)` that prefixes the script's name, writes to stderr and exits."""
    def fail(message, code=1):
        sys.stderr.write(script + ": " + message + "\n")
        sys.exit(code)
    return fail


def start(script, required=(), text=None):
    """A script's start: SIGTERM leaves through `finally` (so Chromium is quit, not orphaned), the
    arguments are one JSON object (argv[1], or `text`) with the `required` strings, and Selenium
    never tries the network. Returns the arguments."""
    fail = failer(script)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if text is None:
        text = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        args = json.loads(text)
    except ValueError as error:
        fail("pass the arguments as one JSON object in argv[1] (%s)" % error, 2)
    if not isinstance(args, dict):
        fail("the arguments must be a JSON object", 2)
    for key in required:
        if not isinstance(args.get(key), str) or not args[key]:
            fail("argument '%s' is missing (a non-empty string)" % key, 2)
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    return args


def chrome_options(webdriver, chromium, window, extra=()):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + ["--window-size=" + window] + list(extra):
        options.add_argument(flag)
    return options


def failure_lines(driver, step, error, step_timeout, failure_shot, timeout_types=(), quiet_types=()):
    """What went wrong, for stderr: the step, the page, its text and console, a screenshot."""
    if isinstance(error, timeout_types):
        what = "nothing expected appeared within %g s" % step_timeout
    else:
        detail = str(error).strip().splitlines()
        what = "%s: %s" % (error.__class__.__name__, detail[0] if detail else "(no message)")
    lines = ["failed while %s: %s" % (step, what)]
    if driver is not None:
        try:
            lines.append("page: %s (title %r)" % (driver.current_url, driver.title))
            if driver.save_screenshot(failure_shot):
                lines.append("screenshot of the failing page: %s" % failure_shot)
            lines.append("page text: " + driver.find_element("tag name", "body").text.strip()[:1500])
            for entry in console(driver):
                lines.append("console: " + entry)
        except Exception as inner:  # the browser itself may be gone
            lines.append("(could not inspect the page: %s)" % inner.__class__.__name__)
    if not isinstance(error, tuple(timeout_types) + tuple(quiet_types)):
        lines.append(traceback.format_exc())
    return lines


def console(driver):
    """What the pages logged since the last call (ChromeDriver's browser log; empty where unsupported)."""
    try:
        return ["%s %s" % (entry.get("level"), entry.get("message")) for entry in driver.get_log("browser")]
    except Exception:
        return []


def quit(driver):
    if driver is not None:
        try:
            driver.quit()
        except Exception:
            pass
