"""The search pages and my jobs in a real browser: Playwright drives Debian's headless Chromium.

Clicking a facet value, a histogram bar or the density map changes the counts and the rows; the sky view
(the bundled Aladin Lite) shows the rows as markers; the plot draws; a download completes; the planetary
map draws the footprints over the body's map; the pages work without JavaScript; my jobs lists, aborts and
deletes; the rows go to a SAMP hub (astropy's, with its Web Profile, as TOPCAT's would).  A screenshot of
each page is saved in ``$VOSTACK_SCREENSHOTS`` (else the test's temporary directory).
"""

from __future__ import annotations

import csv
import io
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from astropy.io.votable import parse
from playwright.sync_api import sync_playwright

from tests.interop.conftest import LiveServer
from vostack.auth import Auth, Identity, StaticTokens
from vostack.cli import publication_app
from vostack.demo.planetary import PlanetarySources
from vostack.publish import Publication

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: WebGL for Aladin Lite by SwiftShader (no GPU here); no background connections on this closed network.
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
#: What Aladin Lite reports on this closed network, where the background survey (from CDS) cannot load.
OFFLINE = re.compile(r"HiPS|DSS2|Failed to fetch")
TOKEN = "alice-browser-token-0123456789"
ALICE = Identity.of("alice", ["consortium", "consortium-pi"])
BOB_TOKEN = "bob-browser-token-0123456789ab"
BOB = Identity.of("bob", ["astronomers"])


def _app(publication: Publication) -> Any:
    publication.auth = Auth.tokens(StaticTokens({TOKEN: ALICE, BOB_TOKEN: BOB}))
    return publication_app(publication)


@pytest.fixture(scope="module")
def server(
    postgres_dsn: str, live_server: LiveServer, spex_wheel: Path, planetary_data: PlanetarySources
) -> Iterator[LiveServer]:
    # the session's server made ivoa.obscore and the EPN-TAP views, with its own URLs: this one leaves them alone
    live = LiveServer(
        postgres_dsn,
        _app,
        spectra=spex_wheel,
        obscore_view=False,
        planetary=planetary_data,
        public_url=live_server.public_url,
        searches=True,
    )
    live.start_serving()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed (scripts/setup.sh test installs it)", pytrace=False)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: None if OFFLINE.search(str(error)) else errors.append(str(error)))
    opened.errors = errors  # uncaught errors of the page's scripts (not of the survey's absence)
    yield opened
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``$VOSTACK_SCREENSHOTS`` (to look at them), else the test's temporary directory."""
    where = Path(os.environ.get("VOSTACK_SCREENSHOTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


def api(
    server: LiveServer,
    table: str,
    what: str,
    params: list[tuple[str, str | int | float | bool | None]] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    response = httpx.get(f"{server.root}/search/{table}/api/{what}", params=params or [], headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def total(page: Any) -> int:
    return int(page.locator("#total").inner_text().replace(",", ""))


def wait_total(page: Any, before: int) -> int:
    page.wait_for_function(f"document.getElementById('total').innerText.replace(/,/g, '') !== '{before}'")
    return total(page)


def tallest(page: Any, facet: str) -> str:
    """The parameter of the highest bar of a histogram."""
    return str(page.evaluate(
        f"""[...document.querySelectorAll('section[data-facet="{facet}"] rect[data-param]')]
            .sort((a, b) => b.getAttribute('height') - a.getAttribute('height'))[0].dataset.param"""
    ))  # fmt: skip


def column_names(page: Any) -> list[str]:
    return [h.split("\n")[0].strip(" ▲▼") for h in page.locator("table#rows thead th").all_inner_texts()]


def column(page: Any, name: str) -> list[str]:
    index = column_names(page).index(name) + 1
    return list(page.locator(f"table#rows tbody tr td:nth-child({index})").all_inner_texts())


def test_clicking_facets_changes_counts_and_rows(server: LiveServer, page: Any, shots: Path) -> None:
    page.goto(f"{server.root}/search/hipparcos.main/")
    first = total(page)
    assert first == 117_955
    page.screenshot(path=shots / "search-hipparcos.png", full_page=True)
    page.locator('section[data-facet="sn"] a[data-value="1"]').click()
    after = wait_total(page, first)
    assert after == api(server, "hipparcos.main", "facets", [("sn", "1")])["total"] == 1371
    assert set(column(page, "sn")) == {"1"}
    assert page.url.endswith("?sn=1")  # the state is a URL
    assert "sn = 1" in page.locator("#summary").inner_text()
    # a bar of the magnitude histogram narrows it further
    param = tallest(page, "hpmag")
    page.locator(f'section[data-facet="hpmag"] rect[data-param="{param}"]').click()
    narrowed = wait_total(page, after)
    expected = api(server, "hipparcos.main", "facets", [("sn", "1"), ("hpmag", param)])
    assert narrowed == expected["total"] < after
    low, high = (float(v) for v in param.split(".."))
    assert all(low <= float(v) < high + 1e-3 for v in column(page, "hpmag"))
    sn = next(f for f in expected["facets"] if f["name"] == "sn")  # counts of the other facets changed too
    shown = page.locator('section[data-facet="sn"] a[data-value="5"] + .count').inner_text()
    assert int(shown.replace(",", "")) == next(v["count"] for v in sn["values"] if v["value"] == 5)
    page.screenshot(path=shots / "search-hipparcos-filtered.png", full_page=True)
    page.go_back()
    assert wait_total(page, narrowed) == after
    assert not page.errors


def test_the_density_map_selects_the_cell_clicked(server: LiveServer, page: Any) -> None:
    page.goto(f"{server.root}/search/hipparcos.main/")
    image = page.locator('section[data-facet="position"] input[type=image]')
    image.click(position={"x": 150, "y": 40})  # the middle of the sky, 50° north (RA 0°)
    page.wait_for_url(re.compile(r"position=cell%3A4%3A\d+"))
    cell = int(re.search(r"cell%3A4%3A(\d+)", page.url).group(1))  # type: ignore[union-attr]
    answer = api(server, "hipparcos.main", "facets", [("position", f"cell:4:{cell}")])
    page.wait_for_function(f"document.getElementById('total').innerText.replace(/,/g, '') === '{answer['total']}'")
    decs = [float(v) for v in column(page, "dec")]
    assert decs and all(35 < d < 65 for d in decs)


def test_the_sky_view_shows_the_rows_as_markers(server: LiveServer, page: Any, shots: Path) -> None:
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(f"{server.root}/search/hipparcos.main/?hpmag=..3")
    panel = page.locator("#panel-sky")
    panel.scroll_into_view_if_needed()
    page.wait_for_selector("#panel-sky[data-markers]", timeout=60_000)
    rows = api(server, "hipparcos.main", "rows", [("hpmag", "..3"), ("limit", "5000")])
    assert int(panel.get_attribute("data-markers")) == len(rows["rows"]) == total(page) > 100
    assert page.locator("#aladin canvas").count() > 0
    # Aladin Lite and the page's modules come from this server, not a CDN (Aladin makes a blob: of its own)
    assert scripts and all(url.removeprefix("blob:").startswith(server.root) for url in scripts), scripts
    assert page.locator("#sky-note").inner_text().startswith(f"{total(page)} positions")
    page.wait_for_timeout(1500)  # let Aladin draw
    page.screenshot(path=shots / "sky.png")


def test_the_plot_draws_two_columns(server: LiveServer, page: Any, shots: Path) -> None:
    page.goto(f"{server.root}/search/hipparcos.main/?plx=10..")
    page.locator('#pictures button[data-tab="plot"]').click()
    page.wait_for_selector("svg#plot circle")
    page.select_option("#plot-x", "b_v")
    page.select_option("#plot-y", "hpmag")
    rows = api(server, "hipparcos.main", "rows", [("plx", "10.."), ("limit", "5000")])
    fields = [f["name"] for f in rows["fields"]]
    pairs = [r for r in rows["rows"] if r[fields.index("b_v")] is not None and r[fields.index("hpmag")] is not None]
    assert page.locator("svg#plot circle").count() == len(pairs) > 1000
    page.locator("#panel-plot").screenshot(path=shots / "plot-scatter.png")
    page.select_option("#plot-y", "")
    page.wait_for_selector("svg#plot rect.bar")
    assert page.locator("svg#plot rect.bar").count() >= 5
    page.locator("#panel-plot").screenshot(path=shots / "plot-histogram.png")


def test_a_download_completes(server: LiveServer, page: Any, tmp_path: Path) -> None:
    page.goto(f"{server.root}/search/hipparcos.main/?sn=1&hpmag=..8")
    count = total(page)
    with page.expect_download() as started:
        page.locator('a.download[data-format="csv"]').click()
    saved = tmp_path / "rows.csv"
    started.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0][0] == "hip" and len(rows) == count + 1
    assert {r[rows[0].index("sn")] for r in rows[1:]} == {"1"}
    votable = httpx.get(page.locator('a.download[data-format="votable"]').get_attribute("href"), timeout=60)
    assert len(parse(io.BytesIO(votable.content)).get_first_table().array) == count
    page.locator("#adql summary").click()
    assert "WHERE (sn = 1) AND (hpmag < 8.0)" in page.locator("#adql pre").inner_text()
    page.locator("#tap-form").click()  # the TAP query form, with the query
    page.wait_for_selector("table#result")
    assert "sn = 1" in page.locator("#query").input_value()


def test_the_planetary_map_draws_the_footprints(server: LiveServer, page: Any, shots: Path) -> None:
    page.goto(f"{server.root}/search/gazetteer.epn_core/?target_name=Mars&target_region=crater")
    page.screenshot(path=shots / "search-gazetteer.png", full_page=True)
    page.wait_for_selector("#panel-planet[data-footprints]", timeout=60_000)
    drawn = int(page.locator("#panel-planet").get_attribute("data-footprints"))
    assert drawn == total(page) > 1000
    assert "on Mars over its map (mars.png)" in page.locator("#panel-planet .note").inner_text()
    page.locator("#panel-planet").scroll_into_view_if_needed()
    page.locator("#panel-planet").screenshot(path=shots / "planet-mars.png")
    assert not page.errors


def test_the_pages_work_without_javascript(server: LiveServer, browser: Any, shots: Path) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{server.root}/search/spex.spectra/")
        before = total(page)
        page.locator('section[data-facet="observer"] a[data-value]').first.click()
        page.wait_for_load_state()
        assert total(page) < before and "observer=" in page.url
        form = page.locator('section[data-facet="snr"] form.range')
        form.locator('input[name="snr.low"]').fill("100")
        form.locator("button").click()
        page.wait_for_load_state()
        assert "snr=100.." in page.url
        assert all(float(v) >= 100 for v in column(page, "snr"))
        year = tallest(page, "mjd")
        page.locator(f'section[data-facet="mjd"] rect[data-param="{year}"]').click()  # a year of the date histogram
        page.wait_for_load_state()
        assert re.search(r"mjd=\d{4}-01-01\.\.\d{4}-01-01", page.url.replace("%3A", ":").replace("%2E", "."))
        page.screenshot(path=shots / "search-spex-no-javascript.png", full_page=True)
        assert page.locator("#pictures noscript").count() == 1
    finally:
        context.close()


def test_my_jobs_lists_aborts_and_deletes(server: LiveServer, browser: Any, shots: Path) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.root, headers=headers, timeout=60) as client:
        done = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 3 hip FROM hipparcos.main",
                                               "PHASE": "RUN"})  # fmt: skip
        pending = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 hip FROM hipparcos.main"})
        done_id, pending_id = (r.headers["location"].rsplit("/", 1)[1] for r in (done, pending))
        client.get(f"/tap/async/{done_id}", params={"WAIT": "30"})
    context = browser.new_context(extra_http_headers=headers, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{server.root}/jobs/")
        assert "Jobs of alice" in page.locator("main").inner_text()
        row = page.locator(f'tr[data-job="{done_id}"]')
        for _ in range(20):  # until the job has finished
            if "COMPLETED" in row.inner_text():
                break
            time.sleep(0.5)
            page.reload()
        assert "COMPLETED" in row.inner_text()
        result = row.locator("a.result").get_attribute("href")
        assert "signature=" in result and len(parse(io.BytesIO(httpx.get(result).content)).get_first_table().array) == 3
        page.screenshot(path=shots / "jobs.png", full_page=True)
        waiting = page.locator(f'tr[data-job="{pending_id}"]')
        assert "PENDING" in waiting.inner_text()
        waiting.locator("button.abort").click()
        page.wait_for_load_state()
        assert "ABORTED" in page.locator(f'tr[data-job="{pending_id}"]').inner_text()
        page.locator(f'tr[data-job="{pending_id}"] button.delete').click()
        page.wait_for_load_state()
        assert page.locator(f'tr[data-job="{pending_id}"]').count() == 0
    finally:
        context.close()
    bob = browser.new_context(extra_http_headers={"Authorization": f"Bearer {BOB_TOKEN}"})
    try:  # another identity's page lists none of alice's jobs, and cannot delete them
        other = bob.new_page()
        other.goto(f"{server.root}/jobs/")
        assert "Jobs of bob" in other.locator("main").inner_text()
        assert other.locator(f'tr[data-job="{done_id}"]').count() == 0
        taken = other.request.post(f"{server.root}/jobs/tap/{done_id}", form={"action": "delete"})
        assert taken.status == 404
    finally:
        bob.close()
    with httpx.Client(base_url=server.root, headers=headers) as client:
        assert client.get(f"/tap/async/{done_id}").status_code == 200
        assert client.get(f"/tap/async/{pending_id}").status_code == 404
        forged = client.post(
            f"/jobs/tap/{done_id}", data={"action": "delete"}, headers={"Origin": "http://evil.example"}
        )
        assert forged.status_code == 403 and client.get(f"/tap/async/{done_id}").status_code == 200


def test_private_collections_only_for_who_may_read_them(server: LiveServer, browser: Any, shots: Path) -> None:
    private = f"{server.root}/search/consortium.targets/"
    anonymous = httpx.get(f"{server.root}/search/hipparcos.main/", timeout=60)
    assert "/search/sbdb.epn_core/" in anonymous.text and "/search/consortium.targets/" not in anonymous.text
    assert httpx.get(private, timeout=60).status_code == 401
    assert httpx.get(private + "api/facets", timeout=60).status_code == 401
    bob = {"Authorization": f"Bearer {BOB_TOKEN}"}
    assert "/search/consortium.targets/" not in httpx.get(f"{server.root}/jobs/", headers=bob, timeout=60).text
    assert httpx.get(private, headers=bob, timeout=60).status_code == 403
    context = browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {TOKEN}"}, viewport={"width": 1400, "height": 1000}
    )
    try:
        page = context.new_page()
        page.goto(f"{server.root}/search/hipparcos.main/")
        page.locator('header a[href="/search/consortium.targets/"]').click()
        page.wait_for_selector("#total")
        assert (
            total(page)
            == api(server, "consortium.targets", "facets", headers={"Authorization": f"Bearer {TOKEN}"})["total"]
        )
        assert page.locator('section[data-facet="priority"]').count() == 1  # alice is one of the PIs
        assert "priority" in column_names(page)
        page.screenshot(path=shots / "search-consortium-alice.png", full_page=True)
    finally:
        context.close()


def test_small_bodies_by_date_and_orbit(server: LiveServer, page: Any, shots: Path) -> None:
    page.goto(f"{server.root}/search/sbdb.epn_core/?target_class=comet")
    bins = page.locator('section[data-facet="time_min"] rect[data-param]')
    assert bins.count() > 5  # perihelion passages, from a JD column
    page.locator('#pictures button[data-tab="plot"]').click()
    page.wait_for_selector("svg#plot circle")
    page.select_option("#plot-x", "semi_major_axis")
    page.select_option("#plot-y", "eccentricity")
    page.locator("#plot-logx").check()  # a from 0.1 AU to beyond 10^5 AU: a logarithmic axis
    page.wait_for_selector("svg#plot text >> text=1e+4")
    rows = api(server, "sbdb.epn_core", "rows", [("target_class", "comet"), ("limit", "5000")])
    names = [f["name"] for f in rows["fields"]]
    a, e = names.index("semi_major_axis"), names.index("eccentricity")
    drawn = [r for r in rows["rows"] if r[a] is not None and r[a] > 0 and r[e] is not None]
    assert page.locator("svg#plot circle").count() == len(drawn) > 1000
    page.screenshot(path=shots / "search-sbdb-comets.png", full_page=True)
    assert not page.errors


class _AcceptEveryPage:
    """The SAMP hub's Web Profile dialog, answered yes (a user accepting the page in TOPCAT's dialog)."""

    queue_request: queue.Queue[Any]
    queue_result: queue.Queue[bool]

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.queue_request.get(timeout=0.1)
            except queue.Empty:
                continue
            self.queue_result.put(True)


def test_the_rows_go_to_a_samp_hub(server: LiveServer, page: Any, tmp_path: Path) -> None:
    from pyvo.samp import SAMPHubServer, SAMPIntegratedClient

    dialog = _AcceptEveryPage()
    hub = SAMPHubServer(web_profile=True, web_profile_dialog=dialog, lockfile=str(tmp_path / "samp"))
    stop = threading.Event()
    hub.start()
    answering = threading.Thread(target=dialog.run, args=(stop,), daemon=True)
    answering.start()
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    topcat = SAMPIntegratedClient(name="a TOPCAT stand-in")
    try:
        topcat.connect(hub=hub)
        topcat.bind_receive_notification(
            "table.load.votable",
            lambda private_key, sender_id, mtype, params, extra: received.put({"mtype": mtype, **params}),
        )
        page.goto(f"{server.root}/search/hipparcos.main/?sn=3")
        button = page.locator("#samp")
        button.wait_for(state="visible", timeout=10_000)  # shown once the hub answered
        button.click()
        page.wait_for_function("document.getElementById('samp-status').innerText.startsWith('sent to')")
        params = received.get(timeout=10)
        assert params["mtype"] == "table.load.votable" and params["name"].startswith("Hipparcos")
        table = parse(io.BytesIO(httpx.get(params["url"], timeout=60).content)).get_first_table().array
        assert len(table) == 25 and set(table["sn"]) == {3}
    finally:
        if topcat.is_connected:
            topcat.disconnect()
        stop.set()
        hub.stop()


def test_no_samp_button_without_a_hub(server: LiveServer, page: Any) -> None:
    page.goto(f"{server.root}/search/hipparcos.main/")
    page.wait_for_timeout(2500)  # longer than the hub's ping may take
    assert page.locator("#samp").is_hidden()


def test_static_files_are_versioned(server: LiveServer) -> None:
    html = httpx.get(f"{server.root}/search/hipparcos.main/").text
    script = re.search(r'src="(/static/[0-9a-f]{12}/search.js)"', html).group(1)  # type: ignore[union-attr]
    served = httpx.get(server.root + script)
    assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
    assert httpx.get(server.root + "/static/000000000000/search.js").status_code == 404
    aladin = httpx.get(server.root + script.replace("search.js", "vendor/aladin-lite/aladin.js"))
    assert aladin.status_code == 200 and len(aladin.content) > 1_000_000
