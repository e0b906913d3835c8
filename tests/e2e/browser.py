"""Headless Chromium for the page tests: Debian's chromium and its chromium-driver, driven by selenium.

Without them the tests skip and say what to install (`make setup` installs both when it runs as root).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
INSTALL_HINT = (
    "sudo apt-get install chromium chromium-driver (make setup does it when run as root), "
    "and .venv/bin/pip install -r requirements.txt (selenium)"
)


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A selenium WebDriver on a fresh profile; skips the test when the browser or its driver is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(f"selenium is not installed: {INSTALL_HINT}")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not browser or not driver_path:
        pytest.skip(f"headless Chromium not found (chromium and chromedriver on PATH): {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="binventory-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()
