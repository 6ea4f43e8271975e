"""The HTML report in a real browser: Debian's Chromium, headless, driven by playwright.

A job of three super-resolution restorers over the scikit-image photographs runs through the
real stack (uvicorn, Redis, a Celery worker); Chromium loads its ``report.html`` over HTTP.
The page must render (headings and table rows visible, every image decoded, the inline CSS
applied under the page's CSP), load nothing but itself, and log no console or page error.
A full-page screenshot goes to ``tests/artifacts/report-page.png`` (or ``$RA_SCREENSHOT``)
so CI keeps it; docs/report-page.png is one of these.

Chromium is Debian's ``/usr/bin/chromium`` (``$RA_CHROMIUM`` to override); a missing
browser is a failure, not a skip, so CI cannot pass without running this. Never run
``playwright install``: it would download a browser.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.integration.stack import REPO, ApiServer, wait_for
from tests.support.report_demo import (
    DEGRADATION,
    RESTORERS,
    SECTIONS,
    demo_images,
    demo_multipart,
)

CHROMIUM = Path(os.environ.get("RA_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = Path(os.environ.get("RA_SCREENSHOT", REPO / "tests" / "artifacts" / "report-page.png"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHOTOS = 4


def _chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's chromium "
            "(apt-get install chromium) or point RA_CHROMIUM at a Chromium binary; "
            "do not run `playwright install`"
        )
    return CHROMIUM


def finished_report_url(api: ApiServer, client: httpx.Client) -> str:
    """A finished three-restorer job's page on the session's service."""
    images = demo_images(count=PHOTOS, size=128)
    files, pairs = demo_multipart(images)
    options = {
        "degradation": DEGRADATION,
        "bootstrap": {"resamples": 100},
        "knn_samples": 500,
        "pairs": pairs,
    }
    response = client.post("/v1/jobs", files=files, data={"options": json.dumps(options)})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert wait_for(client, job_id, timeout=240)["state"] == "succeeded"
    return f"{api.base_url}/v1/jobs/{job_id}/report.html"


@pytest.mark.browser
@pytest.mark.timeout(420)
def test_report_page_renders_in_chromium_without_errors(
    api: ApiServer, client: httpx.Client
) -> None:
    executable = _chromium()  # before the audit: a missing browser fails at once
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    report_url = finished_report_url(api, client)

    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console", lambda m: console_errors.append(m.text) if m.type == "error" else None
            )
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            response = page.goto(report_url, wait_until="load")
            assert response is not None
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/html")

            for name in SECTIONS:
                assert page.get_by_role("heading", name=name, exact=True).is_visible(), name
            for restorer in RESTORERS:
                assert page.get_by_role("heading", name=restorer, exact=True).is_visible()
            assert page.locator("#overview tbody tr").count() == len(RESTORERS)
            rows = page.locator("#pair-table tbody tr:not(.why)")
            assert rows.count() == len(RESTORERS) * PHOTOS
            assert rows.first.is_visible()
            assert page.locator(".badge.high").first.is_visible()

            images: list[dict[str, Any]] = page.evaluate(
                "Array.from(document.images).map(i => ({src: i.src.slice(0, 30),"
                " complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))"
            )
            # Two plots, then the restored image and the map of each of the 12 pairs.
            assert len(images) == 2 + 2 * len(RESTORERS) * PHOTOS
            undecoded = [i for i in images if not (i["complete"] and i["width"] > 0)]
            assert not undecoded, undecoded
            # The inline stylesheet applies under the page's CSP: a high-risk badge is red.
            colour = page.evaluate("getComputedStyle(document.querySelector('.badge.high')).color")
            assert colour == "rgb(196, 32, 43)"

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    assert not console_errors, console_errors
    assert not page_errors, page_errors
    assert requests == [report_url], f"the page loaded more than itself: {requests}"
    with Image.open(SCREENSHOT) as shot:
        assert shot.width == 1280
        assert shot.height > 3000  # the whole page, not the viewport
