"""A real browser (Debian's chromium, driven headless by Selenium) against `newsmon serve`.

It searches, opens a story, opens the alerts page and follows an alert's link
to its article; screenshots land in var/test-artifacts/browser/. `make test`
installs chromium and chromium-driver; without them the test skips, except
under CI, where that is a failure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_query import corpus
from test_web import HOSTILE, store_hostile

ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts" / "browser"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser():
    if not (CHROMIUM and DRIVER):
        message = "chromium and chromedriver are not installed (make test installs them)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def served(sqlite_url):
    corpus(sqlite_url)
    store_hostile(sqlite_url)
    server = subprocess.Popen([sys.executable, "-m", "newsmon", "--database", sqlite_url, "serve", "--port", "0"],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        assert line.startswith("newsmon web app on http://127.0.0.1:"), line
        yield line.split()[4].rstrip("/")
    finally:
        server.terminate()
        server.wait(timeout=30)


def shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path))
    return path


def navigate(driver, action) -> None:
    """Run a click or submit and wait until the next page has replaced this one.

    Selenium returns from click() and submit() before the new page loads, so an
    element found right away can belong to the old page and go stale under us.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    action()
    wait = WebDriverWait(driver, 30)
    wait.until(expected_conditions.staleness_of(old_page))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def test_search_story_alerts_in_a_real_browser(browser, served):
    from selenium.webdriver.common.by import By

    browser.get(served + "/")
    box = browser.find_element(By.NAME, "q")
    box.send_keys("ganja OR Степанакерт")
    navigate(browser, box.submit)
    assert "showing 1–5 of 5" in browser.find_element(By.CLASS_NAME, "pager").text   # Ստեփանակերտ too
    # titles only: the Russian title says "Степанакерта", matched in its text, not highlighted
    assert [mark.text for mark in browser.find_elements(By.TAG_NAME, "mark")] == ["Ganja"]
    titles = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "a.title")]
    assert HOSTILE in titles   # shown as text: no script ran, no alert dialog is open
    shot(browser, "1-search")

    navigate(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Missile strike").click)
    assert "Missile strike" in browser.find_element(By.TAG_NAME, "h1").text
    assert "Every copy of this story (2)" in browser.page_source
    shot(browser, "2-story")

    navigate(browser, browser.find_element(By.LINK_TEXT, "Alerts").click)
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.alert")) == 2
    shot(browser, "3-alerts")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "a.story-link").click)
    assert browser.find_element(By.TAG_NAME, "h1").text in ("Missile strike on Ganja", "Missile strike hits Ganja")
    shot(browser, "4-alert-article")

    browser.get(served + "/?q=" + "script")
    assert browser.find_elements(By.CSS_SELECTOR, "a.title")[0].text == HOSTILE
    shot(browser, "5-hostile-title")
