#!/usr/bin/env python3
"""Decides a VaultSim human approval in headless Chromium, the way the approver does.

Run by ApprovalBrowserTests.swift (with selenium from .build/browser-venv). The arguments are one
JSON object in argv[1]:

    {"chromium": "/usr/bin/chromium", "chromedriver": "/usr/bin/chromedriver",
     "approval_url": "http://127.0.0.1:PORT/sandboxes/ID/approvals/ID?token=T",
     "screenshot": ".build/artefacts/approval-page.png",   # the page before the decision
     "decision": "approve",                               # or "deny"
     "step_timeout": 20}

Opens the page, reads the request it shows (#method, #url, #body, #status), saves the
screenshot, presses the decision's button, waits for the page that follows and reads #status
(and #result). Prints one JSON line {"method", "url", "body", "status_before", "status_after",
"result", "title", "buttons"} and exits 0; on failure prints why to stderr, saves
<screenshot>-failure.png and exits 1 (2 for bad arguments).
"""

import json
import os
import subprocess
import sys
import traceback


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_common  # noqa: E402

fail = browser_common.failer("approval_browser")


def main():
    args = browser_common.start("approval_browser", ("chromium", "chromedriver", "approval_url", "screenshot", "decision"))
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as error:
        fail("selenium is not installed in %s (%s)" % (sys.executable, error), 2)

    step_timeout = float(args.get("step_timeout", 20))
    screenshot = os.path.abspath(args["screenshot"])
    failure_shot = os.path.splitext(screenshot)[0] + "-failure.png"
    os.makedirs(os.path.dirname(screenshot), exist_ok=True)
    options = browser_common.chrome_options(webdriver, args["chromium"], "900,900")
    service = Service(executable_path=args["chromedriver"], log_output=subprocess.DEVNULL)
    driver = None
    step = "starting Chromium"
    try:
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(step_timeout)
        wait = WebDriverWait(driver, step_timeout)
        step = "opening the approval page"
        driver.get(args["approval_url"])
        wait.until(EC.visibility_of_element_located((By.ID, "request")))

        def text(element_id):
            found = driver.find_elements(By.ID, element_id)
            return found[0].text.strip() if found else ""

        seen = {"method": text("method"), "url": text("url"), "body": text("body"), "title": driver.title,
                "status_before": driver.find_element(By.ID, "status").get_attribute("data-status"),
                "buttons": [b.text.strip() for b in driver.find_elements(By.CSS_SELECTOR, "form button[type=submit]")]}
        step = "saving the screenshot"
        if not driver.save_screenshot(screenshot):
            raise RuntimeError("Chromium did not save the screenshot")
        step = "pressing %s" % args["decision"]
        button = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "form#%s button[type=submit]" % args["decision"])))
        button.click()
        wait.until(lambda d: d.find_elements(By.ID, "status")
                   and d.find_element(By.ID, "status").get_attribute("data-status") != "pending")
        seen["status_after"] = driver.find_element(By.ID, "status").get_attribute("data-status")
        seen["result"] = text("result")
        driver.save_screenshot(os.path.splitext(screenshot)[0] + "-decided.png")
        print(json.dumps(seen))
    except Exception as error:  # report which step failed, with a picture of the page
        if driver is not None:
            try:
                driver.save_screenshot(failure_shot)
            except Exception:
                pass
        fail("%s failed: %s\n%s" % (step, error, traceback.format_exc()))
    finally:
        browser_common.quit(driver)


if __name__ == "__main__":
    main()
