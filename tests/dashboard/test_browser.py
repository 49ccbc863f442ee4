"""The dashboard in a real headless browser (Debian's chromium driven by Playwright) against
the real app on a real port and a real PostgreSQL: the tiles show the API's numbers, the
table lists and sorts the seeded vehicles, a vehicle's chart is drawn, the console stays
clean, and the token taken from ``#token=`` is sent as a bearer header and leaves the URL.

``DASHBOARD_SCREENSHOTS=1`` also writes ``docs/dashboard-fleet.png`` and
``docs/dashboard-vehicle.png``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect, sync_playwright

from common.tokens import Scope, issue
from devstack.browser import chromium_executable
from tests.analytics.support import SECRET, Dataset

from .seed import EXTRA

DOCS = Path(__file__).resolve().parents[2] / "docs"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless chromium from the machine's package (installed with apt-get when missing)."""
    executable = chromium_executable()
    with sync_playwright() as p:
        # --no-sandbox: the tests may run as root, where chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=str(executable), args=["--no-sandbox"])
        yield b
        b.close()


class Watched:
    """A page with its console errors, uncaught exceptions and API requests recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.api_requests: list[Request] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("request", self._request)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            self.errors.append(f"console {msg.type}: {msg.text}")

    def _request(self, request: Request) -> None:
        if "/v1/" in request.url:
            self.api_requests.append(request)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield Watched(context.new_page())
    context.close()


def _api(live_url: str, token: str, path: str, **params: Any) -> Any:
    r = httpx.get(live_url + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    r.raise_for_status()
    return r.json()


def _ids(page: Page) -> list[str]:
    rows = page.get_by_test_id("vehicle-row")
    return [rows.nth(i).get_attribute("data-vehicle-id") or "" for i in range(rows.count())]


def _shot(page: Page, name: str) -> None:
    if os.environ.get("DASHBOARD_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"dashboard-{name}.png"), full_page=True)


def test_dashboard_against_the_real_stack(live_url: str, dataset: Dataset, watched: Watched) -> None:
    page = watched.page
    token = issue(SECRET, Scope.ANALYST, "dashboard-test")
    page.goto(f"{live_url}/dashboard#token={token}")

    summary = _api(live_url, token, "/v1/fleet/summary")
    energy = _api(live_url, token, "/v1/fleet/energy")
    expect(page.get_by_test_id("tile-vehicles-value")).to_have_text(str(summary["vehicles"]["total"]))
    tiles = {
        "vehicles": summary["vehicles"]["total"],
        "meters": summary["meters"]["total"],
        "charging": summary["vehicles"]["charging"],
        "offline": summary["vehicles"]["offline"],
        "low-efficiency": energy["lowEfficiencyVehicles"],
    }
    for name, value in tiles.items():
        expect(page.get_by_test_id(f"tile-{name}-value")).to_have_text(str(value))
    for name, field in (("energy-ac", "totalKwhConsumedAc"), ("energy-dc", "totalKwhDeliveredDc")):
        tile = page.get_by_test_id(f"tile-{name}-value")
        expect(tile).to_have_attribute("data-value", _js_number(energy[field]))
        expect(tile).to_have_text(f"{energy[field]:.1f} kWh")
    assert summary["vehicles"]["total"] == 33
    assert energy["totalKwhConsumedAc"] > 0
    assert 0 < summary["vehicles"]["offline"] < 33
    assert energy["lowEfficiencyVehicles"] > 0

    # The token: out of the address bar, kept for the tab, sent as a bearer header only.
    assert "token" not in page.url
    assert page.url == f"{live_url}/dashboard"
    assert page.evaluate("sessionStorage.getItem('analyticsToken')") == token
    assert watched.api_requests
    for request in watched.api_requests:
        assert request.headers.get("authorization") == f"Bearer {token}", request.url
        assert token not in request.url

    # The table: the seeded vehicles, 25 a page, sorted by id; then by SoC both ways.
    everyone = sorted([*dataset.vehicle_readings, *(e.vehicle_id for e in EXTRA)])
    expect(page.get_by_test_id("vehicle-row")).to_have_count(25)
    assert _ids(page) == everyone[:25]
    expect(page.get_by_test_id("page-info")).to_have_text(f"1\u201325 of {len(everyone)}")
    _shot(page, "fleet")
    page.get_by_test_id("page-next").click()
    expect(page.get_by_test_id("page-info")).to_have_text(f"26\u2013{len(everyone)} of {len(everyone)}")
    assert _ids(page) == everyone[25:]

    listing = _api(live_url, token, "/v1/vehicles", limit=500)["vehicles"]
    by_soc = [v["vehicleId"] for v in sorted(listing, key=lambda v: (v["soc"], v["vehicleId"]))]
    page.get_by_test_id("sort-soc").click()
    expect(page.get_by_test_id("page-info")).to_have_text(f"1\u201325 of {len(everyone)}")
    expect(page.locator("th[data-sort=soc]")).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_test_id("vehicle-row").first).to_have_attribute("data-vehicle-id", by_soc[0])
    assert _ids(page) == by_soc[:25]
    page.get_by_test_id("sort-soc").click()
    expect(page.locator("th[data-sort=soc]")).to_have_attribute("aria-sort", "descending")
    by_soc_desc = [v["vehicleId"] for v in sorted(listing, key=lambda v: (-v["soc"], v["vehicleId"]))]
    expect(page.get_by_test_id("vehicle-row").first).to_have_attribute("data-vehicle-id", by_soc_desc[0])
    assert _ids(page) == by_soc_desc[:25]

    # Flags: each row's low-efficiency and offline marks are the API's.
    low = {v["vehicleId"] for v in listing if v["lowEfficiency"]}
    offline = {v["vehicleId"] for v in listing if v["offline"]}
    shown = set(_ids(page))
    expect(page.locator("[data-testid=vehicle-row]:has([data-testid=low-flag])")).to_have_count(
        len(low & shown)
    )
    expect(page.locator("[data-testid=vehicle-row]:has([data-testid=offline-flag])")).to_have_count(
        len(offline & shown)
    )
    assert low
    assert offline & shown

    # A vehicle: its facts and a chart with three drawn lines.
    page.get_by_test_id("sort-vehicleId").click()
    expect(page.get_by_test_id("vehicle-row").first).to_have_attribute("data-vehicle-id", everyone[0])
    page.get_by_test_id("sort-vehicleId").click()  # descending: the v-* vehicles with history first
    expect(page.get_by_test_id("vehicle-row").first).to_have_attribute("data-vehicle-id", everyone[-1])
    assert _ids(page) == everyone[::-1][:25]
    page.locator("[data-vehicle-id='v-a'] [data-testid=open-vehicle]").click()
    view = page.get_by_test_id("vehicle-view")
    expect(view).to_be_visible()
    expect(page.get_by_test_id("vehicle-title")).to_have_text("Vehicle v-a")
    perf = _api(live_url, token, "/v1/analytics/performance/v-a")
    expect(page.get_by_test_id("fact-ac")).to_have_text(f"{perf['totalKwhConsumedAc']:.1f} kWh")
    expect(page.get_by_test_id("fact-dc")).to_have_text(f"{perf['totalKwhDeliveredDc']:.1f} kWh")
    expect(page.get_by_test_id("chart-svg")).to_be_visible()
    series = _api(live_url, token, "/v1/vehicles/v-a/energy")["points"]
    for line in ("chart-ac", "chart-dc", "chart-soc"):
        d = page.get_by_test_id(line).get_attribute("d") or ""
        assert d.startswith("M"), (line, d[:80])
        assert d.count("L") == len(series) - 1, (line, d[:80])
    page.get_by_test_id("vehicle-view").scroll_into_view_if_needed()
    _shot(page, "vehicle")

    # It refreshes by itself: more API calls arrive without any click.
    before = len(watched.api_requests)
    page.wait_for_timeout(16_000)
    assert len(watched.api_requests) > before
    assert watched.errors == []


def _js_number(x: float) -> str:
    """How JavaScript's String() writes a JSON number (integers without '.0')."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def test_dashboard_asks_for_a_token_once_and_keeps_it_for_the_tab(
    live_url: str, dataset: Dataset, watched: Watched
) -> None:
    page = watched.page
    page.goto(f"{live_url}/dashboard")
    expect(page.get_by_test_id("token-form")).to_be_visible()
    expect(page.get_by_test_id("vehicle-table")).to_be_hidden()
    page.get_by_label("Analyst token").fill("not-a-token")
    page.get_by_test_id("token-submit").click()
    expect(page.get_by_test_id("error")).to_contain_text("The token was refused")
    expect(page.get_by_test_id("token-form")).to_be_visible()

    token = issue(SECRET, Scope.ANALYST, "dashboard-form")
    page.get_by_label("Analyst token").fill(token)
    page.get_by_test_id("token-submit").click()
    expect(page.get_by_test_id("vehicle-row")).to_have_count(25)
    page.reload()  # the same tab: no second question
    expect(page.get_by_test_id("vehicle-row")).to_have_count(25)
    expect(page.get_by_test_id("token-form")).to_be_hidden()
    assert "?" not in page.url
    assert "#" not in page.url


def test_page_is_served_without_a_token_under_a_strict_policy(live_url: str) -> None:
    for path, kind in (
        ("/dashboard", "text/html"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/app.css", "text/css"),
    ):
        r = httpx.get(live_url + path, timeout=10)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith(kind)
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    html = httpx.get(live_url + "/dashboard", timeout=10).text
    assert "<script>" not in html
    assert "style=" not in html
    assert httpx.get(live_url + "/v1/fleet/summary", timeout=10).status_code == 401
