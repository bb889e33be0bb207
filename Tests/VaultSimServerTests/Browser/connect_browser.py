#!/usr/bin/env python3
"""Drives VaultSim's Connect popup flow in headless Chromium, the way a user does.

Run by ConnectBrowserTests.swift (with selenium from .build/browser-venv); it can be run by hand
against a running vault too. The arguments are one JSON object, as argv[1] or in the
CONNECT_BROWSER_ARGS environment variable:

    {
      "chromium": "/usr/bin/chromium",          # the browser binary
      "chromedriver": "/usr/bin/chromedriver",  # its driver (Selenium Manager is never used)
      "opener_url": "http://127.0.0.1:PORT/opener.html",
      "screenshot": ".build/artefacts/connect-consent-google.png",
      "account": "bob@example.com",             # the account radio to pick on the consent page
      "provider": "google",                     # optional: the hosted page's form is #provider-<id>
      "message_wait": 5,                        # optional: seconds to wait for the opener's messages
      "wait_all": false,                        # optional: wait the full message_wait (to see that none come)
      "step_timeout": 20                        # optional: seconds each page may take
    }

The opener page has a button #open that window.open()s the hosted Connect page, and a
<pre id="received"> where its `message` listener appends one JSON line {"origin", "data"} per
message. The flow: opener -> #open -> popup -> "Continue with <Provider>" -> consent page
(screenshot) -> pick the account -> Allow -> result page -> back to the opener -> read #received.

On success prints one JSON line to stdout:
    {"consent_heading", "accounts", "buttons", "result_title", "result_status", "received",
     "screenshot", "consent_url", "result_url", "popup_has_opener", "console"}
and exits 0. On any failure prints what went wrong to stderr, saves a screenshot of the failing
page next to the artefact (<name>-failure.png), and exits 1 (2 for bad arguments).
"""

import json
import os
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_common  # noqa: E402
from browser_common import console  # noqa: E402

fail = browser_common.failer("connect_browser")


def load_args():
    text = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CONNECT_BROWSER_ARGS", "")
    if not text:
        fail("pass the arguments as one JSON object in argv[1] or CONNECT_BROWSER_ARGS", 2)
    args = browser_common.start("connect_browser", ("chromium", "chromedriver", "opener_url", "screenshot", "account"), text=text)
    for key in ("chromium", "chromedriver"):
        if not os.access(args[key], os.X_OK):
            fail("%s is not an executable file: %s" % (key, args[key]), 2)
    return args


def main():
    args = load_args()
    try:
        from selenium import webdriver
        from selenium.common.exceptions import TimeoutException, WebDriverException
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as error:
        fail("selenium is not installed in %s (%s); pip install selenium" % (sys.executable, error), 2)

    provider = args.get("provider", "google")
    step_timeout = float(args.get("step_timeout", 20))
    message_wait = float(args.get("message_wait", 5))
    wait_all = bool(args.get("wait_all", False))
    screenshot = os.path.abspath(args["screenshot"])
    root, _ = os.path.splitext(screenshot)
    failure_shot = root + "-failure.png"
    os.makedirs(os.path.dirname(screenshot), exist_ok=True)
    for stale in (screenshot, failure_shot):
        if os.path.exists(stale):
            os.remove(stale)

    options = browser_common.chrome_options(webdriver, args["chromium"], "1000,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=args["chromedriver"], log_output=subprocess_devnull())

    step = "starting Chromium"
    driver = None
    try:
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(step_timeout)
        wait = WebDriverWait(driver, step_timeout)

        step = "opening the opener page %s" % args["opener_url"]
        driver.get(args["opener_url"])
        opener = driver.current_window_handle
        open_button = wait.until(EC.element_to_be_clickable((By.ID, "open")))

        step = "opening the Connect popup (#open)"
        before = set(driver.window_handles)
        open_button.click()
        wait.until(lambda d: len(set(d.window_handles) - before) == 1)
        popup = (set(driver.window_handles) - before).pop()
        driver.switch_to.window(popup)

        step = "choosing %s on the hosted Connect page" % provider
        form = "form#provider-%s" % provider
        button = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, form + " button[type=submit]")))
        button.click()

        step = "waiting for %s's consent page" % provider
        heading = wait.until(EC.visibility_of_element_located((By.ID, "consent-heading")))
        consent_heading = heading.text.strip()
        consent_url = driver.current_url
        accounts = [radio.get_attribute("value") for radio in
                    driver.find_elements(By.CSS_SELECTOR, "form#consent input[type=radio][name=account]")]
        buttons = [b.text.strip() for b in driver.find_elements(By.CSS_SELECTOR, "form#consent button[type=submit]")]

        step = "saving the consent page's screenshot to %s" % screenshot
        # The popup opens small; make it tall enough that the whole page is in the picture.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(900, min(max(int(height or 0) + 160, 700), 2400))
        if not driver.save_screenshot(screenshot):
            raise RuntimeError("Chromium did not save the screenshot")

        step = "picking the account %s" % args["account"]
        radio = None
        for candidate in driver.find_elements(By.CSS_SELECTOR, "form#consent input[type=radio][name=account]"):
            if candidate.get_attribute("value") == args["account"]:
                radio = candidate
        if radio is None:
            raise RuntimeError("the consent page offers no account %r (it offers %s)" % (args["account"], accounts))
        radio.click()
        if not radio.is_selected():
            raise RuntimeError("the account radio %r did not become selected" % args["account"])

        step = "clicking Allow"
        driver.find_element(By.CSS_SELECTOR, "form#consent button[type=submit][value=allow]").click()

        step = "waiting for the result page"
        wait.until(EC.presence_of_element_located((By.ID, "connect-result")))
        result_title = driver.find_element(By.TAG_NAME, "h1").text.strip()
        result_status = driver.find_element(By.ID, "connect-result").get_attribute("data-status")
        result_url = driver.current_url
        # The result page posts to window.opener: that the popup still has one shows a missing
        # message is the browser's origin check, not a lost opener.
        popup_has_opener = bool(driver.execute_script("return window.opener !== null && window.opener !== undefined"))

        step = "reading the messages the opener received"
        driver.switch_to.window(opener)
        deadline = time.monotonic() + message_wait
        received = read_received(driver, By)
        # The chooser posts its events first; the outcome (type "alter-connect") is what ends the wait.
        while time.monotonic() < deadline and (wait_all or not any(is_outcome(m) for m in received)):
            time.sleep(0.1)
            received = read_received(driver, By)
        browser_console = console(driver)

        print(json.dumps({
            "consent_heading": consent_heading,
            "accounts": accounts,
            "buttons": buttons,
            "result_title": result_title,
            "result_status": result_status,
            "received": received,
            "screenshot": screenshot,
            "consent_url": consent_url,
            "result_url": result_url,
            "popup_has_opener": popup_has_opener,
            "console": browser_console,
        }), flush=True)
        return 0
    except Exception as error:  # report every failure the same way: step, page, screenshot
        fail("\n".join(browser_common.failure_lines(driver, step, error, step_timeout, failure_shot, timeout_types=(TimeoutException,),
                                                    quiet_types=(WebDriverException, RuntimeError))))
    finally:
        browser_common.quit(driver)


def is_outcome(message):
    data = message.get("data") if isinstance(message, dict) else None
    return isinstance(data, dict) and data.get("type") == "alter-connect"


def read_received(driver, By):
    """The opener's #received: one JSON object per line."""
    text = driver.find_element(By.ID, "received").get_attribute("textContent") or ""
    messages = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                messages.append(json.loads(line))
            except ValueError:
                messages.append({"unparsed": line})
    return messages


def subprocess_devnull():
    import subprocess
    return subprocess.DEVNULL


if __name__ == "__main__":
    sys.exit(main())
