"""The review page in headless Chromium, served by the local pipeline: a reviewer resolves three flagged bins
by keyboard, and the inventory table, the bin state and `binventory inventory show` change with them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from browser import headless_chromium
from click.testing import CliRunner

from binventory.cli import cli
from binventory.local.pipeline import LocalPipeline, Upload
from contracts.inventory_schema import FLAGGED_STATUSES, RecordAttr

# The README's picture of the page; the suite refreshes it only when asked (`make screenshots`), so that a
# test run leaves the checkout as it found it.
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "review-page.png"
UPDATE_SCREENSHOTS = "BINVENTORY_UPDATE_SCREENSHOTS"
# A bin id (so an S3 key) and a note that would run script if the page ever parsed them as HTML.
HOSTILE_BIN = "<img src=x onerror=window.pwned=1>"
HOSTILE_NOTE = "<script>window.pwned=2</script> recounted twice"
WAIT_SECONDS = 30


def upload_flagged_bins(pipeline: LocalPipeline, eval_dir: Path) -> None:
    """Synthetic photos whose expected quantity is off by two or more: the model flags them."""
    labels = [line.split(",") for line in (eval_dir / "labels.csv").read_text().splitlines()[1:]]
    uploads = []
    for number, (image_id, count) in enumerate(labels[:6]):
        wrong = (int(count) + 3) % 6
        bin_id = HOSTILE_BIN if number == 5 else f"bin-{number}"
        uploads.append(
            Upload(
                key=f"incoming/{bin_id}/{image_id}.jpg",
                body=(eval_dir / "bin-images" / f"{image_id}.jpg").read_bytes(),
                metadata={"expected-quantity": str(wrong)},
            )
        )
    pipeline.upload(uploads)
    pipeline.process(timeout_seconds=300)


def progress(driver) -> str:
    return driver.find_element("id", "progress").text


def wait_for(driver, condition, message: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: condition(d), message)


@pytest.mark.slow
def test_a_reviewer_resolves_three_bins_by_keyboard_and_the_inventory_changes(
    pipeline: LocalPipeline, synthetic_eval_dir: Path, tmp_path: Path
) -> None:
    # given flagged bins counted by the local pipeline, one whose id is markup
    upload_flagged_bins(pipeline, synthetic_eval_dir)
    flagged = [r for r in pipeline.records() if r["status"] in FLAGGED_STATUSES]
    assert len(flagged) >= 4, [r["status"] for r in pipeline.records()]
    url = pipeline.serve_review_page()
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    with headless_chromium() as driver:
        # when the reviewer opens the page
        driver.get(url)
        wait_for(driver, lambda d: re.fullmatch(r"0 of \d+ today", progress(d)), "the queue did not load")
        total = int(progress(driver).split(" of ")[1].split()[0])
        # the photo loads from moto's S3 through its presigned URL
        wait_for(
            driver,
            lambda d: d.execute_script("return document.getElementById('photo').naturalWidth > 0"),
            "the photo did not load",
        )
        # and the bin whose id is markup shows as that text, in the queue
        assert HOSTILE_BIN in driver.find_element("tag name", "body").text
        bins, expected = [], []

        def current() -> tuple[str, int]:
            bin_text = driver.find_element("id", "bin").text.removeprefix("Bin ")
            return bin_text, int(driver.find_element("id", "expected").text)

        def after(done: int) -> None:
            shown = f"{done} of {total} today"
            wait_for(driver, lambda d: progress(d) == shown, f"resolution {done} not shown")

        # and confirms the first bin with Enter
        bin_id, quantity = current()
        bins.append(bin_id), expected.append(quantity)
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        after(1)
        # corrects the second by typing a count and Enter
        bin_id, quantity = current()
        corrected_to = (quantity + 1) % 6
        bins.append(bin_id), expected.append(quantity)
        ActionChains(driver).send_keys(str(corrected_to)).perform()
        echo = f"Correct to {corrected_to}"
        wait_for(driver, lambda d: echo in d.find_element("id", "typed").text, "the typed count is not shown")
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        after(2)
        # and marks the third unreadable with U, leaving a note
        bin_id, quantity = current()
        bins.append(bin_id), expected.append(quantity)
        driver.find_element("id", "note").send_keys(HOSTILE_NOTE, Keys.ESCAPE)
        ActionChains(driver).send_keys("u").perform()
        after(3)
        driver.execute_script("window.scrollTo(0, 0)")
        screenshot = README_SCREENSHOT if os.environ.get(UPDATE_SCREENSHOTS) else tmp_path / "review-page.png"
        assert driver.save_screenshot(str(screenshot))

        # then the note shows as text, and neither it nor the bin id made an element or ran
        assert HOSTILE_NOTE in driver.find_element("id", "last-note").text
        made = driver.execute_script(
            "return {scripts: document.scripts.length, images: document.images.length, pwned: window.pwned}"
        )
        assert made == {"scripts": 1, "images": 1, "pwned": None}

    # and the inventory table holds the three resolutions
    records = {(r["bin_id"], r.get(RecordAttr.REVIEW_OUTCOME)) for r in pipeline.records()}
    assert {(bins[0], "CONFIRMED"), (bins[1], "CORRECTED"), (bins[2], "UNREADABLE")} <= records
    # and the corrected bin now expects what the reviewer typed, which `inventory show` reports
    shown = CliRunner().invoke(cli, ["inventory", "show", bins[1], "--json"])
    state = json.loads(shown.output)["state"]
    assert (state["expected_quantity"], state["expected_source"]) == (corrected_to, "review")
