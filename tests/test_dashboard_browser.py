"""The local dashboard in a real headless Chromium: it renders offline, and its controls filter the visuals.

Also a small CLI to refresh the README's screenshot from a lake:
``python tests/test_dashboard_browser.py --lake ./lake --out docs/dashboard.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent / "quicksight")]
import dashboard  # noqa: E402
import definitions  # noqa: E402
import local_lake  # noqa: E402
import serving_helpers as helpers  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium tries the network at start-up, which this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MANAGEMENT_CHARTS = [
    "chart-enquiries-sparkline",
    "chart-sources",
    "chart-yearly",
    "chart-subjects",
    "chart-top-reasons",
]
ANALYTICS_CHARTS = [
    "chart-ontime-by-department",
    "chart-resolution-by-type",
    "chart-geo-grid",
    "chart-backlog",
]
# Rendered marks of every trace type the dashboard uses: scatter points and lines, bars, pie slices.
MARKS = ".scatterlayer path.point, .scatterlayer path.js-line, .barlayer g.point path, .pielayer g.slice path.surface"


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (Debian: apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def build_lake(
    root: Path, realistic: bool = False, gold_tables: dict[str, list[tuple]] | None = None
) -> Path:
    """Write a hand-made lake (with ``gold_tables`` in place of those Gold tables), its lake.duckdb and its
    dashboard; returns the HTML path."""
    silver, gold = (helpers.write_realistic_lake if realistic else helpers.write_small_lake)(root)
    for table in gold_tables or {}:
        shutil.rmtree(gold / table)
    helpers.write_gold(gold, gold_tables or {})
    local_lake.build_local_query_layer(str(root / "lake.duckdb"), str(silver), str(gold))
    return Path(dashboard.build_dashboard(str(root / "lake.duckdb"), str(root / "dashboard" / "index.html")))


class Page:
    """A loaded dashboard page, the console errors it produced and the network requests it tried."""

    def __init__(self, page: object, errors: list[str], remote_requests: list[str]) -> None:
        self.page, self.errors, self.remote_requests = page, errors, remote_requests


def open_dashboard(
    browser: object, html: Path, width: int = 1400, ready: str = "body[data-ready=true]"
) -> Page:
    """Load the dashboard from a file:// URL (any other request is recorded and refused) and wait until drawn."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    remote_requests: list[str] = []

    def refuse_remote(route: object) -> None:
        remote_requests.append(route.request.url)
        route.abort()

    page.route(lambda url: not url.startswith("file://"), refuse_remote)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(html.as_uri())
    page.wait_for_selector(ready, timeout=30_000)
    return Page(page, errors, remote_requests)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module, skipped with the reason when it is not installed."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def small_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny lake's dashboard HTML."""
    return build_lake(tmp_path_factory.mktemp("dashboard_lake"))


@pytest.fixture(scope="module")
def loaded(browser: object, small_dashboard: Path) -> Iterator[Page]:
    """The tiny lake's dashboard, loaded once for the module."""
    loaded_page = open_dashboard(browser, small_dashboard)
    yield loaded_page
    loaded_page.page.close()


def view_enquiries(html: Path, source: str | None) -> int:
    """What v_monthly_requests says for the enquiries KPI: requests opened in the latest month, for a source."""
    with duckdb.connect(str(html.parent.parent / "lake.duckdb"), read_only=True) as connection:
        return connection.execute(
            "SELECT coalesce(sum(requests_opened), 0) FROM v_monthly_requests "
            "WHERE month = (SELECT max(month) FROM v_monthly_requests) AND (? IS NULL OR source = ?)",
            [source, source],
        ).fetchone()[0]


def kpi(page: object, name: str) -> str:
    """The raw value of one KPI (its data-value attribute)."""
    return page.get_attribute(f"#kpi-{name}-value", "data-value")


def test_the_file_is_one_self_contained_page(small_dashboard: Path) -> None:
    html = small_dashboard.read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link " not in html
    assert html.count('<script type="application/json" id="dashboard-data">') == 1
    assert list(small_dashboard.parent.iterdir()) == [small_dashboard]  # no partial file left behind


def test_the_footer_names_the_page_that_says_what_each_number_means(small_dashboard: Path) -> None:
    page = small_dashboard.read_text(encoding="utf-8")
    footer = page[page.index("<footer>") : page.index("</footer>")]
    assert "<code>docs/analysts.md</code>" in footer
    assert (Path(__file__).resolve().parent.parent / "docs" / "analysts.md").is_file()


def test_dashboard_data_rolls_the_views_up_for_the_visuals(small_dashboard: Path) -> None:
    with duckdb.connect(str(small_dashboard.parent.parent / "lake.duckdb"), read_only=True) as connection:
        data = dashboard.dashboard_data(connection)
    assert data["dims"]["month"] == ["2023-12", "2024-01", "2024-02"]
    assert data["dims"]["source"] == ["Citizens Connect App", "Constituent Call", "Self Service"]
    management = data["management"]
    assert sum(management["requests_opened"]) == 47
    assert len(management["month"]) == 6  # the tiny lake's rows differ in subject, reason or source
    assert data["years"] == [2024]
    assert sorted(data["dims"]["department"]) == ["BTDT", "PWDx", "Unknown"]
    assert (data["data_through"], data["partial_month"]) == ("2024-02-29", None)


def test_dashboard_data_carries_the_views_values_column_by_column(small_dashboard: Path) -> None:
    with duckdb.connect(str(small_dashboard.parent.parent / "lake.duckdb"), read_only=True) as connection:
        data = dashboard.dashboard_data(connection)
    dims = data["dims"]

    def decoded(name: str, columns: list[str]) -> list[tuple]:
        table = data[name]
        return list(
            zip(*(([dims[c][i] for i in table[c]] if c in dims else table[c]) for c in columns), strict=True)
        )

    # serving_helpers.SMALL_RESOLUTION, row by row: p50 and p90 each in their own column
    columns = ["year", "department", "type", "closed_cases", "closed_with_duration", "p50_hours", "p90_hours"]
    assert sorted(decoded("resolution", columns)) == [
        (2024, "BTDT", "Parking Enforcement", 15, 14, 20.0, 48.0),
        (2024, "PWDx", "Missed Trash", 5, 5, 4.0, 9.0),
    ]
    # SMALL_GEO summed over types: the shared cell has 4 Missed Trash + 6 Parking Enforcement requests
    assert decoded("geo", ["year", "cell_lat", "cell_lon", "requests"]) == [
        (2024, 42.3125, -71.0625, 10),
        (2024, 42.35, -71.06, 14),
    ]
    assert sorted(decoded("backlog", ["week_start", "department", "open_cases", "open_over_1y"])) == sorted(
        (week.isoformat(), department, open_cases, aged)
        for week, department, open_cases, aged in helpers.SMALL_BACKLOG
    )


@pytest.mark.parametrize(
    ("data_through", "partial"),
    [
        ("2026-02-11", "2026-02"),
        ("2024-02-28", "2024-02"),  # a leap year's February has a 29th
        ("2024-02-29", None),
        ("2025-12-31", None),
        ("2025-12-30", "2025-12"),
        (None, None),  # no Gold rows
    ],
)
def test_a_month_is_partial_when_the_data_stops_before_its_last_day(
    data_through: str | None, partial: str | None
) -> None:
    assert dashboard.partial_month(data_through) == partial


def test_the_page_title_says_how_far_the_data_reaches() -> None:
    assert dashboard.page_title("2026-02-10") == "Enquiries to Boston, data through 10 Feb 2026"
    assert dashboard.page_title(None) == "Enquiries to Boston"  # no Gold rows


def test_months_are_contiguous_so_the_month_before_always_exists() -> None:
    assert dashboard.month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert dashboard.month_range("2024-02", "2024-02") == ["2024-02"]


def test_embedded_json_cannot_close_its_script_element_and_still_parses() -> None:
    values = {"reason": "</script><script>alert(1)</script>", "subject": "Graffiti <!-- removal"}
    text = dashboard.embed_json(values)
    assert "<" not in text
    assert json.loads(text) == values  # what JSON.parse in the page reads back


def test_a_value_that_looks_like_a_placeholder_stays_a_value() -> None:
    page = dashboard.render_html({"generated_at": "now", "reason": "__DASHBOARD_JS__"}, "/* plotly */")
    assert page.count(dashboard.SCRIPT) == 1
    assert '"reason":"__DASHBOARD_JS__"' in page


def test_a_query_layer_missing_a_column_is_one_sentence(tmp_path: Path) -> None:
    layer = tmp_path / "lake.duckdb"
    with duckdb.connect(str(layer)) as connection:  # a view from an older layout: no such columns
        connection.execute("create view v_monthly_requests as select 1 as month")
    with pytest.raises(dashboard.DashboardError) as refused:
        dashboard.build_dashboard(str(layer), str(tmp_path / "index.html"))
    # the command that rebuilds it (it said "rebuild it with local_lake.py", which takes the lake as --lake)
    assert str(refused.value).startswith(f"{layer} cannot serve the dashboard (Binder Error")
    assert str(refused.value).endswith(f'rebuild it with make run LAKE={tmp_path} ARGS="--stages serve".')


def test_cli_without_a_query_layer_is_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboard.main(["--lake", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (
        f'There is no query layer at {tmp_path}/lake.duckdb; build it first: make run LAKE={tmp_path} ARGS="--stages serve".'
        in err
    )
    assert "Traceback" not in err
    assert not (tmp_path / "dashboard").exists()


def test_cli_writes_the_dashboard_where_the_lake_layout_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silver, gold = helpers.write_small_lake(tmp_path)
    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))
    assert dashboard.main(["--lake", str(tmp_path)]) == 0
    assert (tmp_path / "dashboard" / "index.html").stat().st_size > 1_000_000  # plotly.js is inlined
    assert "Dashboard: " in capsys.readouterr().out


@pytest.mark.parametrize("out", ["a_folder", "a_file/index.html", "lake.duckdb", "notes.txt"])
def test_an_out_path_that_cannot_be_written_is_one_sentence_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    silver, gold = helpers.write_small_lake(tmp_path)
    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "notes.txt").write_text("<!-- not a page -->")
    before = {p.name: p.is_file() and p.read_bytes() for p in tmp_path.iterdir()}

    assert dashboard.main(["--lake", str(tmp_path), "--out", str(tmp_path / out)]) == 2

    err = capsys.readouterr().err.strip()
    assert err.startswith(f"Cannot write the dashboard to {tmp_path / out}") and "Traceback" not in err
    # no .partial left behind, and a file that is not a page (the query layer itself) is not replaced by one
    assert {p.name: p.is_file() and p.read_bytes() for p in tmp_path.iterdir()} == before
    if out in ("lake.duckdb", "notes.txt"):
        assert err.endswith("is there and is not an HTML page: remove it or give another --out.")


def test_an_out_path_holding_an_earlier_dashboard_is_replaced(tmp_path: Path) -> None:
    silver, gold = helpers.write_small_lake(tmp_path)
    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))
    (tmp_path / "page.html").write_text("<!doctype html><title>an earlier dashboard</title>")

    assert dashboard.main(["--lake", str(tmp_path), "--out", str(tmp_path / "page.html")]) == 0
    assert "an earlier dashboard" not in (tmp_path / "page.html").read_text()


def test_a_query_layer_open_for_writing_elsewhere_is_said_to_be_so(tmp_path: Path) -> None:
    """A duckdb shell holding lake.duckdb read-write: it was blamed on an older version, whose rebuild changed nothing."""
    silver, gold = helpers.write_small_lake(tmp_path)
    layer = tmp_path / "lake.duckdb"
    local_lake.build_local_query_layer(str(layer), str(silver), str(gold))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(layer)!r}); print(flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        holder.stdout.readline()  # the file is locked
        with pytest.raises(dashboard.DashboardError) as refused:
            dashboard.build_dashboard(str(layer), str(tmp_path / "index.html"))
    finally:
        holder.communicate(b"")
    assert str(refused.value).startswith(
        f"{layer} is open for writing in another process (IO Error: Could not set lock"
    )
    assert str(refused.value).endswith("or open it there read-only, then run again.")
    assert not (tmp_path / "index.html").exists()


def test_a_damaged_parquet_file_is_not_blamed_on_an_older_query_layer(tmp_path: Path) -> None:
    silver, gold = helpers.write_small_lake(tmp_path)
    layer = tmp_path / "lake.duckdb"
    local_lake.build_local_query_layer(str(layer), str(silver), str(gold))
    next((gold / "geo_grid").glob("*.parquet")).write_bytes(b"PAR1 cut short")

    with pytest.raises(dashboard.DashboardError) as refused:
        dashboard.build_dashboard(str(layer), str(tmp_path / "index.html"))

    assert "older version" not in str(refused.value)
    assert "geo_grid" in str(refused.value)
    assert str(refused.value).endswith(
        f'run again the stage that writes the file named, then make run LAKE={tmp_path} ARGS="--stages serve".'
    )


@pytest.mark.browser
def test_loads_offline_without_console_errors_and_every_chart_has_marks(loaded: Page) -> None:
    page = loaded.page
    assert page.inner_text("#dashboard-title") == "Enquiries to Boston"
    for chart in MANAGEMENT_CHARTS:
        assert page.locator(f"#{chart} .plot-container").count() == 1, chart
        assert page.locator(f"#{chart} .plot-container").locator(MARKS).count() > 0, f"{chart} has no marks"
    page.click("#tab-analytics")
    assert page.is_visible("#chart-geo-grid") and not page.is_visible("#chart-sources")
    for chart in ANALYTICS_CHARTS:
        assert page.locator(f"#{chart} .plot-container").locator(MARKS).count() > 0, f"{chart} has no marks"
    page.click("#tab-management")
    assert loaded.errors == []
    assert loaded.remote_requests == []


def tab_states(page: object) -> list[list]:
    """Each tab's id, aria-selected, tabindex and whether the panel it controls is shown."""
    return page.eval_on_selector_all(
        "[role=tablist] [role=tab]",
        """tabs => tabs.map(tab => [tab.id, tab.getAttribute("aria-selected"), tab.tabIndex,
             !document.getElementById(tab.getAttribute("aria-controls")).hidden])""",
    )


@pytest.mark.browser
def test_the_tabs_follow_the_aria_tabs_pattern_with_the_keyboard(loaded: Page) -> None:
    """Selected state and roving tabindex, panels labelled by their tab, Left/Right/Home/End, a visible focus ring."""
    page = loaded.page
    management = [["tab-management", "true", 0, True], ["tab-analytics", "false", -1, False]]
    analytics = [["tab-management", "false", -1, False], ["tab-analytics", "true", 0, True]]
    assert tab_states(page) == management
    panels = page.eval_on_selector_all(  # the sheets are the page's main landmark
        "main > [role=tabpanel]", "panels => panels.map(p => [p.id, p.getAttribute('aria-labelledby')])"
    )
    assert panels == [["sheet-management", "tab-management"], ["sheet-analytics", "tab-analytics"]]
    try:
        page.focus("#tab-management")
        page.keyboard.press("ArrowRight")
        assert tab_states(page) == analytics
        assert page.evaluate("document.activeElement.id") == "tab-analytics"
        assert page.locator("#chart-backlog .plot-container").locator(MARKS).count() > 0
        page.keyboard.press("ArrowRight")  # wraps round to the first tab
        assert tab_states(page) == management
        page.keyboard.press("End")
        assert tab_states(page) == analytics
        page.keyboard.press("Home")
        assert tab_states(page) == management
        page.keyboard.press("ArrowLeft")
        assert tab_states(page) == analytics
        # Tab from the selected tab goes into its panel, not to the other tab
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "control-department"
        outline = page.eval_on_selector("#control-department", "e => getComputedStyle(e).outlineStyle")
        assert outline != "none"
        page.focus("#tab-analytics")
        ring = page.eval_on_selector("#tab-analytics", "e => getComputedStyle(e).outlineStyle")
        assert ring != "none"
    finally:
        page.click("#tab-management")
    assert tab_states(page) == management
    assert loaded.errors == []


@pytest.mark.browser
def test_every_control_has_a_name_and_the_slider_says_its_value(loaded: Page) -> None:
    """What a screen reader says on each control: the period's end was "to", and the top-N slider, inside the
    heading, added its bare value to the heading's name ("Top 10 reasons, … 10")."""
    page = loaded.page
    show_all_of_management(page)

    def named(role: str, name: str) -> int:
        return page.get_by_role(role, name=name, exact=True).count()

    for name in ("Reason", "Subject", "Opening period from", "Opening period to", "Source"):
        assert named("combobox", name) == 1, name
    assert page.get_by_role("combobox").count() == 5  # no control without a name
    assert named("slider", "Reasons shown") == 1
    assert named("heading", "Top 10 reasons, Dec 2023 – Feb 2024") == 1
    slider = page.get_by_role("slider", name="Reasons shown")
    assert slider.get_attribute("aria-valuetext") == "10 reasons"
    slider.focus()
    page.keyboard.press("ArrowLeft")
    assert slider.get_attribute("aria-valuetext") == "9 reasons"
    assert named("heading", "Top 9 reasons, Dec 2023 – Feb 2024") == 1
    assert page.locator("#chart-top-reasons .barlayer g.point").count() == 4  # the tiny lake has 4 reasons
    page.keyboard.press("ArrowRight")
    page.click("#tab-analytics")
    try:
        assert named("combobox", "Department") == named("combobox", "Year (time to close, map)") == 1
    finally:
        page.click("#tab-management")
    assert loaded.errors == []


# WCAG 2.1's contrast ratio of two colours, read from CSS's "rgb(…)" and "rgba(…)".
RATIO_JS = """
  const rgba = c => c.match(/[\\d.]+/g).map(Number).concat([1]).slice(0, 4);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);"""
# The contrast ratio of every visible piece of text on the page and of the charts' "nothing to draw" notes, each
# against the first opaque background behind it; opacity on the way up fades the text.
CONTRAST_JS = (
    """() => {"""
    + RATIO_JS
    + """
  const found = [];
  for (const el of document.querySelectorAll("body *:not(script):not(style), .annotation-text")) {
    const svg = el instanceof SVGElement;  // of the charts' own text, only the notes: plotly draws the rest
    if (svg && !el.classList.contains("annotation-text")) continue;
    if (!svg && ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    if (!el.getClientRects().length || (svg && !el.textContent.trim())) continue;
    const style = getComputedStyle(el);
    let [r, g, b, a] = rgba(svg ? style.fill : style.color), bg = null;
    for (let up = el; up && up.nodeType === 1; up = up.parentNode) {
      a *= Number(getComputedStyle(up).opacity);
      const back = rgba(getComputedStyle(up).backgroundColor);
      if (!bg && back[3] > 0) bg = back;
    }
    bg = svg ? [255, 255, 255] : bg || [255, 255, 255];
    const text = [r, g, b].map((v, i) => v * a + bg[i] * (1 - a));
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    found.push([el.textContent.trim().slice(0, 40), ratio(text, bg), size >= 24 || (bold && size >= 18.66)]);
  }
  return found;
}"""
)
# The colour of every bar and line of the shown sheet's charts against the white plot behind them: WCAG 1.4.11 asks
# 3:1 of the graphics a chart is read by, the donut's slices included. The map's points are checked on their own.
MARK_CONTRAST_JS = (
    """() => {"""
    + RATIO_JS
    + """
  const marks = ".barlayer g.point path, .scatterlayer path.js-line, .pielayer path.surface";
  return [...document.querySelectorAll(`.sheet:not([hidden]) :is(${marks})`)]
    .map(mark => {
      const style = getComputedStyle(mark), colour = mark.matches(".js-line") ? style.stroke : style.fill;
      return [mark.closest(".js-plotly-plot").id, colour, ratio(rgba(colour), [255, 255, 255])];
    });
}"""
)


def low_contrast(page: object) -> list[tuple[str, float]]:
    """Text under 4.5:1 (3:1 when large) against its background."""
    return [
        (text, round(ratio, 2))
        for text, ratio, large in page.evaluate(CONTRAST_JS)
        if ratio < (3 if large else 4.5)
    ]


def low_contrast_marks(page: object) -> tuple[set[str], list[tuple[str, str, float]]]:
    """The charts of the shown sheet that draw bars or lines, and the marks among them under 3:1 against white."""
    marks = page.evaluate(MARK_CONTRAST_JS)
    return {chart for chart, _, _ in marks}, sorted(
        {(chart, colour, round(ratio, 2)) for chart, colour, ratio in marks if ratio < 3}
    )


@pytest.mark.browser
def test_bars_and_lines_meet_wcag_aa_non_text_contrast(loaded: Page) -> None:
    """The orange of the top reasons, the average delay and the p90 bars was #e07b24, 2.99:1 against white; three
    of the donut's slices were 1.6-2.8:1."""
    page = loaded.page
    show_all_of_management(page)
    charts, low = low_contrast_marks(page)
    assert charts == {
        "chart-enquiries-sparkline",
        "chart-sources",
        "chart-yearly",
        "chart-subjects",
        "chart-top-reasons",
    }
    assert low == []
    page.click("#tab-analytics")
    try:
        charts, low = low_contrast_marks(page)
        assert charts == {"chart-ontime-by-department", "chart-resolution-by-type", "chart-backlog"}
        assert low == []
    finally:
        page.click("#tab-management")


# The map's colour scale against the plot behind its points: each stop of the scale as a point draws it (at the
# markers' opacity over the plot), its lightness, and the colour every drawn point ends up with.
MAP_CONTRAST_JS = (
    """() => {"""
    + RATIO_JS
    + """
  const css = colour => {  // any CSS colour ("#26828e", "#fff") as rgba numbers
    const probe = document.createElement("i");
    probe.style.color = colour;
    document.body.append(probe);
    const value = rgba(getComputedStyle(probe).color);
    probe.remove();
    return value;
  };
  const chart = document.getElementById("chart-geo-grid"), marker = chart._fullData[0].marker;
  const plot = css(chart._fullLayout.plot_bgcolor);
  const over = (colour, alpha) => colour.slice(0, 3).map((v, i) => v * alpha + plot[i] * (1 - alpha));
  const stops = marker.reversescale ?  // fewest requests first, as drawn
    marker.colorscale.map(([at, colour]) => [1 - at, colour]).reverse() : marker.colorscale;
  const scale = stops.map(([at, colour]) =>
    [at, colour, lum(css(colour)), ratio(over(css(colour), marker.opacity), plot)]);
  const points = [...chart.querySelectorAll(".scatterlayer path.point")].map(point => {
    const style = getComputedStyle(point), alpha = Number(style.opacity) * Number(style.fillOpacity);
    return [style.fill, ratio(over(rgba(style.fill), alpha), plot)];
  });
  return { plot: plot.slice(0, 3), scale, points };
}"""
)


@pytest.mark.browser
def test_the_maps_colour_scale_meets_non_text_contrast_and_reads_without_hue(loaded: Page) -> None:
    """The map coloured its busiest cells in pale yellow (reversed YlOrRd), 1.02:1 against the white plot."""
    page = loaded.page
    page.click("#tab-analytics")
    try:
        found = page.evaluate(MAP_CONTRAST_JS)
    finally:
        page.click("#tab-management")
    assert found["plot"] == [255, 255, 255]
    scale = found["scale"]
    assert [at for at, *_ in scale] == sorted(at for at, *_ in scale) and len(scale) >= 3
    # every colour of the scale, drawn as a point, is at least 3:1 against the plot (WCAG 1.4.11)
    assert [(colour, round(ratio, 2)) for _, colour, _, ratio in scale if ratio < 3] == []
    # darker for more requests all along: read in order by lightness alone, whatever hues a reader tells apart
    lightness = [value for _, _, value, _ in scale]
    assert lightness == sorted(lightness, reverse=True) and len(set(lightness)) == len(lightness)
    # the tiny lake's two cells (10 and 14 requests) are drawn at the two ends of the scale, each at least 3:1
    points = found["points"]
    assert len(points) == 2 and all(ratio >= 3 for _, ratio in points), points
    assert loaded.errors == []


@pytest.mark.browser
def test_all_text_meets_wcag_aa_contrast(loaded: Page) -> None:
    """The grey of the KPI notes, the footer and the empty-chart notes was 3.4-3.7:1."""
    page = loaded.page
    assert len(page.evaluate(CONTRAST_JS)) > 30  # the check sees the page's text
    assert low_contrast(page) == []
    page.click("#tab-analytics")
    page.select_option("#control-department", label="Unknown")  # three charts say they have nothing to draw
    try:
        assert page.locator(".annotation-text").count() == 3
        assert low_contrast(page) == []
    finally:
        page.select_option("#control-department", label="All departments")
        page.click("#tab-management")


@pytest.mark.browser
def test_kpis_are_the_latest_month_against_the_month_before(loaded: Page) -> None:
    page = loaded.page
    # February 2024: 20 + 4 + 1 opened, against 10 + 5 in January (+66.7%).
    assert page.inner_text("#kpi-enquiries-month") == "Feb 2024"
    assert page.inner_text("#kpi-enquiries-value") == "25"
    assert page.inner_text("#kpi-enquiries-change").startswith("+66.7% vs Jan 2024 (15)")
    # the sparkline says what it covers: up to 12 months, here the period's 3
    assert page.inner_text("#kpi-enquiries-spark-months") == "per month, the 3 months to Feb 2024"
    # Delay: (300 + 96) hours / (12 + 4) cases / 24 = 1.03 days; January (80 + 25) / 13 / 24 = 0.34 days.
    assert float(kpi(page, "delay")) == pytest.approx(396 / 16 / 24)
    assert page.inner_text("#kpi-delay-change").startswith("+0.7 days")
    # On time: (9 + 1) / (9 + 1 + 6 + 3) = 52.6%.
    assert page.inner_text("#kpi-ontime-value") == "52.6%"


# What a rise of each KPI tile means, written here apart from the page: a longer delay is worse, a higher on-time
# rate better, more enquiries neither.
RISE_MEANS = {"enquiries": "neutral", "delay": "bad", "ontime": "good"}
FALL_MEANS = {"neutral": "neutral", "bad": "good", "good": "bad"}
# January: 2.0 days on average, 50% on time; February: 0.5 days, 75% on time, and fewer enquiries.
BETTER_MONTH = [
    (dt.date(2024, 1, 1), "PWDx", helpers.PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Dorchester", 10, 10, 5, 5, 0, 480.0, 10, dt.date(2024, 1, 31)),
    (dt.date(2024, 2, 1), "PWDx", helpers.PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Dorchester", 8, 8, 6, 2, 0, 96.0, 8, dt.date(2024, 2, 29)),
]  # fmt: skip


def meaning_of(red: int, green: int, blue: int) -> str:
    """What a colour says to a reader: green good, red or orange bad, a grey or near-black nothing."""
    if max(red, green, blue) - min(red, green, blue) < 0x30:
        return "neutral"
    return "good" if green > red else "bad"


def change_meanings(page: object) -> dict[str, tuple[str, str]]:
    """Each KPI tile's change, as (its sign, what its colour says: green good, red bad, grey or near-black neutral);
    every colour must also be the QuickSight KPIs' colour of that meaning."""
    quicksight = {
        tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)): meaning
        for meaning, color in definitions.CHANGE_COLORS.items()
    }
    shown = {}
    for name in RISE_MEANS:
        text = page.inner_text(f"#kpi-{name}-change")
        red, green, blue = page.eval_on_selector(
            f"#kpi-{name}-change", "el => getComputedStyle(el).color.match(/\\d+/g).map(Number)"
        )
        meaning = meaning_of(red, green, blue)
        assert quicksight.get((red, green, blue)) == meaning, (name, (red, green, blue))
        shown[name] = (text[0], meaning)
    return shown


def change_words(page: Page) -> dict[str, str | None]:
    """The word each KPI tile's change ends with, "better" or "worse" (None without one)."""
    words = {}
    for name in ("enquiries", "delay", "ontime"):
        text = page.inner_text(f"#kpi-{name}-change")
        words[name] = next((word for word in ("better", "worse") if text.endswith(f"({word})")), None)
    return words


@pytest.mark.browser
def test_kpi_changes_are_coloured_by_what_they_mean_as_in_quicksight(
    loaded: Page, browser: object, tmp_path: Path
) -> None:
    """A longer delay is bad and a higher on-time rate good, whichever way the number moves; more enquiries are
    neither (the page coloured them as good)."""
    # the tiny lake's February against January: more enquiries, a longer delay, a lower on-time rate
    assert change_meanings(loaded.page) == {
        "enquiries": ("+", RISE_MEANS["enquiries"]),
        "delay": ("+", RISE_MEANS["delay"]),
        "ontime": ("-", FALL_MEANS[RISE_MEANS["ontime"]]),
    }
    assert change_words(loaded.page) == {
        "enquiries": None,
        "delay": "worse",
        "ontime": "worse",
    }  # not colour alone
    better = open_dashboard(browser, build_lake(tmp_path, gold_tables={"monthly_requests": BETTER_MONTH}))
    try:
        assert change_meanings(better.page) == {
            "enquiries": ("-", FALL_MEANS[RISE_MEANS["enquiries"]]),
            "delay": ("-", FALL_MEANS[RISE_MEANS["delay"]]),
            "ontime": ("+", RISE_MEANS["ontime"]),
        }
        assert change_words(better.page) == {"enquiries": None, "delay": "better", "ontime": "better"}
        assert better.errors == []
    finally:
        better.page.close()


# January: 2.0 days on average, 50.0% on time; February: 2.04 days (+0.04), 50.04% on time (+0.04 pts).
TINY_CHANGE = [
    (dt.date(2024, 1, 1), "PWDx", helpers.PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Dorchester", 10, 10, 5, 5, 0, 480.0, 10, dt.date(2024, 1, 31)),
    (dt.date(2024, 2, 1), "PWDx", helpers.PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Dorchester", 2500, 2500, 1251, 1249, 0, 122400.0, 2500, dt.date(2024, 2, 29)),
]  # fmt: skip


@pytest.mark.browser
def test_a_change_shown_as_zero_is_neither_better_nor_worse(browser: object, tmp_path: Path) -> None:
    """A change under the shown precision reads +0.0: it gets no word and no colour, as a change of exactly 0 (it
    said '+0.0 days vs Jan 2024 (worse)' in red)."""
    tiny = open_dashboard(browser, build_lake(tmp_path, gold_tables={"monthly_requests": TINY_CHANGE}))
    try:
        assert tiny.page.inner_text("#kpi-delay-change") == "+0.0 days vs Jan 2024"
        assert tiny.page.inner_text("#kpi-ontime-change") == "+0.0 pts vs Jan 2024"
        assert change_words(tiny.page) == {"enquiries": None, "delay": None, "ontime": None}
        assert {name: meaning for name, (_, meaning) in change_meanings(tiny.page).items()} == {
            "enquiries": "neutral",
            "delay": "neutral",
            "ontime": "neutral",
        }
        assert tiny.errors == []
    finally:
        tiny.page.close()


@pytest.mark.browser
def test_delay_and_on_time_kpis_name_their_month_and_the_cases_still_open(loaded: Page) -> None:
    page = loaded.page
    # both count closed cases only; February 2024 still has 5 + 0 + 1 of its 25 cases open
    for name in ("delay", "ontime"):
        assert page.inner_text(f"#kpi-{name}-month") == "Feb 2024"
        assert "6 of 25 still open" in page.inner_text(f"#kpi-{name}")
    page.select_option("#control-period-to", label="Dec 2023")  # all 7 closed: nothing to say
    assert "still open" not in page.inner_text("#kpi-delay")
    page.select_option("#control-period-to", label="Feb 2024")


def announced(page: object) -> str:
    """What the KPIs' live region holds: what a screen reader says after a control changed them."""
    return page.text_content("#kpi-announcement")


@pytest.mark.browser
def test_a_control_that_changes_the_kpis_has_them_said_once(browser: object, small_dashboard: Path) -> None:
    """The tiles changed without a word to a screen reader; one polite live region now says the three KPIs."""
    loaded_page = open_dashboard(browser, small_dashboard)
    page = loaded_page.page
    try:
        live = page.eval_on_selector_all(
            "[aria-live], [role=status], [role=alert], [role=log]",
            "regions => regions.map(r => [r.id, r.getAttribute('role'), r.getAttribute('aria-live'),"
            " r.getAttribute('aria-atomic')])",
        )
        assert live == [["kpi-announcement", "status", "polite", "true"]]  # the tiles themselves are not live
        assert announced(page) == ""  # the first drawing says nothing
        page.focus("#control-source")
        page.keyboard.press("ArrowDown")  # All sources -> Citizens Connect App: 20 in February, 5 in January
        assert page.input_value("#control-source") == "0"
        assert announced(page) == (
            "Feb 2024: enquiries 20, +300.0% vs Jan 2024 (5); average delay 1.0 days, +0.8 days vs Jan 2024 (worse); "
            "on-time rate 60.0%, -40.0 pts vs Jan 2024 (worse)"
        )
        page.keyboard.press("End")  # Self Service: one case, nothing closed
        assert announced(page) == (
            "Feb 2024: enquiries 1, no enquiries in Jan 2024 to compare with; average delay: no closed cases; "
            "on-time rate: no closed cases flagged on time or overdue"
        )
        page.keyboard.press("Home")
        page.focus("#control-period-to")
        page.keyboard.press("ArrowUp")
        assert announced(page) == (
            "Jan 2024: enquiries 15, +114.3% vs Dec 2023 (7); average delay 0.3 days, +0.3 days vs Dec 2023 "
            "(worse); on-time rate 84.6%, -15.4 pts vs Dec 2023 (worse)"
        )
        page.evaluate(  # counts every change to the live region, the same words written again included
            "window.__said = 0; new MutationObserver(() => { window.__said += 1; }).observe("
            "document.getElementById('kpi-announcement'), {childList: true, characterData: true, subtree: true})"
        )
        page.focus("#control-top-n")  # the slider changes the top reasons only: nothing to say
        page.keyboard.press("ArrowLeft")
        assert page.inner_text("#top-n-label") == "9"
        assert announced(page).startswith("Jan 2024: enquiries 15,")
        assert page.evaluate("window.__said") == 0  # not said again
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_a_month_before_with_no_enquiries_for_the_filter_is_said_as_such(loaded: Page) -> None:
    page = loaded.page
    page.select_option("#control-source", label="Self Service")  # one case, opened in February
    assert page.inner_text("#kpi-enquiries-change") == "no enquiries in Jan 2024 to compare with"
    assert page.inner_text("#kpi-delay-change") == "no closed cases"
    page.select_option("#control-source", label="All sources")
    assert loaded.errors == []


@pytest.mark.browser
def test_a_source_keeps_its_colour_whatever_the_filters(loaded: Page) -> None:
    page = loaded.page

    def slice_colours() -> dict[str, str]:
        [(labels, marker)] = chart_traces(page, "chart-sources", ["labels", "marker"])
        return dict(zip(labels, marker["colors"], strict=True))

    everything = slice_colours()
    assert len(everything) == 3 and len(set(everything.values())) == 3
    page.select_option("#control-period-to", label="Jan 2024")  # Self Service (February only) drops out
    assert slice_colours() == {k: v for k, v in everything.items() if k != "Self Service"}
    page.select_option("#control-source", label="Constituent Call")
    assert slice_colours() == {"Constituent Call": everything["Constituent Call"]}
    page.select_option("#control-source", label="All sources")
    page.select_option("#control-period-to", label="Feb 2024")


@pytest.mark.browser
def test_a_department_with_nothing_to_draw_says_so(loaded: Page) -> None:
    page = loaded.page
    page.click("#tab-analytics")
    page.select_option("#control-department", label="Unknown")  # one open case, no target, no backlog
    notes = {
        chart: page.locator(f"#{chart} .annotation-text").all_text_contents()
        for chart in ("chart-ontime-by-department", "chart-resolution-by-type", "chart-backlog")
    }
    page.select_option("#control-department", label="All departments")
    page.click("#tab-management")
    assert notes == {
        "chart-ontime-by-department": ["No closed cases flagged on time or overdue for Unknown"],
        "chart-resolution-by-type": ["No closed cases with a duration for Unknown in 2024 (to 29 Feb)"],
        "chart-backlog": ["No open backlog for Unknown"],
    }
    assert loaded.errors == []


@pytest.mark.browser
def test_on_time_points_carry_the_cases_behind_them(loaded: Page) -> None:
    page = loaded.page
    points = page.evaluate(
        """() => Object.fromEntries(document.getElementById("chart-ontime-by-department").data.map(trace =>
             [trace.name, trace.x.map((month, i) => [month, trace.customdata[i]])
                                  .filter((point, i) => trace.y[i] !== null)]))"""
    )
    # PWDx, January 2024: 6 + 5 on time of 6 + 2 + 5 judged; BTDT, February: 9 of 15
    assert ["2024-01-01", [11, 13]] in points["PWDx"]
    assert points["BTDT"] == [["2024-02-01", [9, 15]]]


@pytest.mark.browser
def test_a_reversed_period_is_read_and_shown_the_right_way_round(loaded: Page) -> None:
    page = loaded.page
    page.select_option("#control-period-from", label="Feb 2024")
    page.select_option("#control-period-to", label="Dec 2023")
    chosen = [
        page.eval_on_selector(f"#control-period-{end}", "s => s.selectedOptions[0].label")
        for end in ("from", "to")
    ]
    kpi_month = page.inner_text("#kpi-enquiries-month")
    page.select_option("#control-period-from", label="Dec 2023")
    page.select_option("#control-period-to", label="Feb 2024")
    assert chosen == ["Dec 2023", "Feb 2024"]
    assert kpi_month == "Feb 2024"


@pytest.mark.browser
def test_a_single_years_enquiries_and_delay_are_two_points_apart(loaded: Page) -> None:
    """Each axis ranged to its own top put a single year's two points on one pixel: only the delay showed."""
    page = loaded.page
    before = [
        page.eval_on_selector(f"#control-period-{end}", "s => s.selectedIndex") for end in ("from", "to")
    ]
    page.select_option("#control-period-from", label="Jan 2024")
    page.select_option("#control-period-to", label="Feb 2024")
    try:
        enquiries, delay = page.evaluate(
            """() => {
              const chart = document.getElementById("chart-yearly"), layout = chart._fullLayout;
              return [layout.yaxis.l2p(chart.data[0].y[0]), layout.yaxis2.l2p(chart.data[1].y[0])];
            }"""
        )
        assert page.evaluate('() => document.getElementById("chart-yearly").data[0].x') == ["2024 (Jan–Feb)"]
        assert abs(enquiries - delay) > 20  # pixels
    finally:
        page.select_option("#control-period-from", index=before[0])
        page.select_option("#control-period-to", index=before[1])


@pytest.mark.browser
def test_every_chart_the_opening_period_filters_names_it(loaded: Page) -> None:
    # The yearly lines sum only the period's months, and their title did not say so: on the demo lake 2026 read
    # 1,075 (January, the default period's last month) beside the 1,339 requests of 2026 in the lake.
    page = loaded.page
    page.select_option("#control-period-to", label="Jan 2024")
    try:
        titles = [
            page.evaluate("id => document.getElementById(id).previousElementSibling.innerText", chart)
            for chart in ("chart-sources", "chart-yearly", "chart-subjects")
        ]
    finally:
        show_all_of_management(page)
    assert titles == [
        "Enquiry sources, Dec 2023 \u2013 Jan 2024",
        "Total enquiries and average delay per year, Dec 2023 \u2013 Jan 2024",
        "Enquiries by subject, Dec 2023 \u2013 Jan 2024",
    ]
    assert loaded.errors == []


@pytest.mark.browser
def test_months_the_lake_has_no_data_for_are_gaps_not_zeros(browser: object, tmp_path: Path) -> None:
    """The demo's extracts leave years empty between them: those read as gaps, and a KPI on one says so."""
    december_2023, *rest = helpers.SMALL_MONTHLY
    moved = (dt.date(2022, 12, 1), *december_2023[1:-1], dt.date(2022, 12, 31))  # all of 2023 without data
    html = build_lake(tmp_path, gold_tables={"monthly_requests": [moved, *rest]})
    loaded_page = open_dashboard(browser, html)
    page = loaded_page.page
    try:
        [(years, enquiries), _] = chart_traces(page, "chart-yearly", ["x", "y"])
        assert (years, enquiries) == (["2022 (Dec)", "2023", "2024 (Jan\u2013Feb)"], [7, None, 40])
        [(sparkline,)] = chart_traces(page, "chart-enquiries-sparkline", ["y"])
        assert sparkline == [*[None] * 10, 15, 25]  # the last 12 months: March 2023 to February 2024
        page.select_option("#control-period-to", label="Jan 2024")
        assert page.inner_text("#kpi-enquiries-change") == "no data for Dec 2023 to compare"
        page.select_option("#control-period-to", label="Jun 2023")
        for name in ("enquiries", "delay", "ontime"):
            assert page.inner_text(f"#kpi-{name}-value") == "–"
            assert page.inner_text(f"#kpi-{name}-change") == "no data in the lake for Jun 2023"
        assert announced(page) == "Jun 2023: no data in the lake"
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_a_year_the_data_holds_in_part_is_labelled_by_its_months_of_data(
    browser: object, tmp_path: Path
) -> None:
    """The demo's 2025 holds only August to December: labelled by the period's months, it read "2025", a fall."""
    december_2023, january_2024, january_2024_sanitation, *february_2024 = helpers.SMALL_MONTHLY

    def moved(row: tuple, month: dt.date) -> tuple:
        return (month, *row[1:-1], month.replace(day=28))

    rows = [moved(december_2023, dt.date(2022, 11, 1)), moved(january_2024, dt.date(2023, 3, 1)),
            moved(january_2024_sanitation, dt.date(2023, 8, 1)), *february_2024]  # fmt: skip
    html = build_lake(tmp_path, gold_tables={"monthly_requests": rows})
    loaded_page = open_dashboard(browser, html)
    page = loaded_page.page
    try:  # the period runs from Nov 2022 to Feb 2024; the data holds Nov 2022, Mar and Aug 2023, Feb 2024
        [(years, enquiries), _] = chart_traces(page, "chart-yearly", ["x", "y"])
        assert (years, enquiries) == (["2022 (Nov)", "2023 (Mar\u2013Aug)", "2024 (Feb)"], [7, 15, 25])
        page.click("#chart-yearly-numbers summary")  # the table says it too
        page.wait_for_selector("#chart-yearly-numbers table")
        assert [row[0] for row in numbers(page, "chart-yearly")] == ["Year", *years]
        assert "highest 25 (2024 (Feb)), lowest 7 (2022 (Nov))" in page.get_attribute(
            "#chart-yearly", "aria-label"
        )
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_the_source_control_sets_the_enquiries_kpi_to_the_views_value(
    loaded: Page, small_dashboard: Path
) -> None:
    page = loaded.page
    labels = page.eval_on_selector_all("#control-source option", "options => options.map(o => o.label)")
    assert labels == ["All sources", "Citizens Connect App", "Constituent Call", "Self Service"]
    for source in labels[1:]:
        page.select_option("#control-source", label=source)
        expected = view_enquiries(small_dashboard, source)
        assert int(kpi(page, "enquiries")) == expected, source
        assert page.inner_text("#kpi-enquiries-value") == f"{expected:,}"
    assert view_enquiries(small_dashboard, "Constituent Call") == 4  # the view itself, worked out by hand
    page.select_option("#control-source", label="Citizens Connect App")
    assert page.locator("#chart-sources .pielayer g.slice").count() == 1  # the donut is filtered too
    page.select_option("#control-source", label="All sources")
    assert int(kpi(page, "enquiries")) == view_enquiries(small_dashboard, None) == 25
    assert loaded.errors == []


@pytest.mark.browser
def test_period_reason_and_top_n_controls_filter_the_visuals(loaded: Page) -> None:
    page = loaded.page
    page.select_option("#control-period-to", label="Jan 2024")
    assert page.inner_text("#kpi-enquiries-value") == "15"
    assert page.inner_text("#kpi-enquiries-change").startswith("+114.3% vs Dec 2023 (7)")
    page.select_option("#control-period-to", label="Feb 2024")
    page.select_option("#control-reason", label="Street Cleaning")
    assert page.inner_text("#kpi-enquiries-value") == "4"
    page.select_option("#control-reason", label="All reasons")
    assert page.locator("#chart-top-reasons .barlayer g.point").count() == 4
    page.fill("#control-top-n", "2")
    page.dispatch_event("#control-top-n", "input")
    assert page.inner_text("#top-n-label") == "2"
    assert page.locator("#chart-top-reasons .barlayer g.point").count() == 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert loaded.errors == []


def show_all_of_management(page: object) -> None:
    """Every Management control back to all values, the whole period and the top 10 reasons."""
    for control, label in [("reason", "All reasons"), ("subject", "All subjects"), ("source", "All sources"),
                           ("period-from", "Dec 2023"), ("period-to", "Feb 2024")]:  # fmt: skip
        page.select_option(f"#control-{control}", label=label)
    page.fill("#control-top-n", "10")
    page.dispatch_event("#control-top-n", "input")


def chart_traces(page: object, chart: str, fields: list[str]) -> list[list]:
    """The given fields of every trace a chart draws."""
    return page.evaluate(
        "([chart, fields]) => document.getElementById(chart).data.map(trace => fields.map(f => trace[f]))",
        [chart, fields],
    )


@pytest.mark.browser
def test_management_charts_draw_the_views_sums(loaded: Page) -> None:
    page = loaded.page
    show_all_of_management(page)
    # serving_helpers.SMALL_MONTHLY, requests opened: Citizens Connect App 5 + 20, Constituent Call 7 + 10 + 4,
    # Self Service 1 (largest first)
    assert chart_traces(page, "chart-sources", ["labels", "values"]) == [
        [["Citizens Connect App", "Constituent Call", "Self Service"], [25, 21, 1]]
    ]
    # by subject, smallest first (a horizontal bar chart draws the first bar at the bottom)
    assert chart_traces(page, "chart-subjects", ["y", "x"]) == [
        [["Unknown", "Transportation - Traffic Division", "Public Works Department"], [1, 20, 26]]
    ]
    # per year: 2023 opened 7, 14 hours over 7 cases; 2024 opened 40, (80 + 25 + 300 + 96) hours over 29 cases
    (enquiries, delay) = chart_traces(page, "chart-yearly", ["x", "y"])
    # each year by the months of the period it holds
    assert enquiries == [["2023 (Dec)", "2024 (Jan\u2013Feb)"], [7, 40]]
    assert delay[0] == enquiries[0]
    assert delay[1] == [pytest.approx(14 / 7 / 24), pytest.approx(501 / 29 / 24)]
    # the top 2 reasons are the two largest: Street Cleaning 21, Enforcement 20 (not Sanitation 5, Unknown 1)
    page.fill("#control-top-n", "2")
    page.dispatch_event("#control-top-n", "input")
    assert chart_traces(page, "chart-top-reasons", ["y", "x"]) == [
        [["Enforcement & Abandoned Vehicles", "Street Cleaning"], [20, 21]]
    ]
    show_all_of_management(page)
    assert loaded.errors == []


@pytest.mark.browser
def test_the_yearly_charts_delay_axis_has_round_ticks(loaded: Page) -> None:
    """Its own ticks (0, 0.2, 0.4 …), not the enquiry axis' gridlines read off in days (0.18, 0.36 …)."""
    page = loaded.page
    show_all_of_management(page)
    ticks = page.evaluate(
        "() => Array.from(document.querySelectorAll('#chart-yearly .y2tick text')).map(t => t.textContent)"
    )
    values = [float(tick) for tick in ticks]
    steps = {round(b - a, 9) for a, b in zip(values, values[1:], strict=False)}

    assert len(values) >= 3 and values[0] == 0
    [step] = steps  # evenly spaced
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5), ticks


def numbers(page: object, chart: str) -> list[list[str]]:
    """The rows of a chart's "Numbers" table, its header first."""
    return page.eval_on_selector_all(
        f"#{chart}-numbers tr", "rows => rows.map(row => [...row.cells].map(cell => cell.textContent))"
    )


@pytest.mark.browser
def test_every_chart_says_what_it_shows_and_gives_its_numbers_without_a_mouse(loaded: Page) -> None:
    """plotly's hover, the only way to a chart's numbers, is mouse-only, and a screen reader heard axis ticks."""
    page = loaded.page
    show_all_of_management(page)
    for chart in MANAGEMENT_CHARTS + ANALYTICS_CHARTS:
        assert page.get_attribute(f"#{chart}", "role") == "img", chart
        assert page.get_attribute(f"#{chart}", "aria-label"), chart
        assert page.locator(f"#{chart}-numbers summary").count() == 1, chart
    assert page.get_attribute("#chart-sources", "aria-label") == (
        "Enquiries by source, Dec 2023 \u2013 Feb 2024: "
        "Citizens Connect App 53.2%, Constituent Call 44.7%, Self Service 2.1%"
    )
    page.focus("#chart-top-reasons-numbers summary")
    page.keyboard.press("Enter")
    try:
        page.wait_for_selector("#chart-top-reasons-numbers table")  # filled on the toggle event, a task later
        assert numbers(page, "chart-top-reasons") == [
            ["Reason", "Enquiries"],
            ["Street Cleaning", "21"],
            ["Enforcement & Abandoned Vehicles", "20"],
            ["Sanitation", "5"],
            ["Unknown", "1"],
        ]
        page.fill("#control-top-n", "2")  # an open table follows the redraw
        page.dispatch_event("#control-top-n", "input")
        assert numbers(page, "chart-top-reasons")[1:] == [
            ["Street Cleaning", "21"],
            ["Enforcement & Abandoned Vehicles", "20"],
        ]
        assert page.get_attribute("#chart-top-reasons", "aria-label") == (
            "Enquiries of the top 2 reasons, Dec 2023 \u2013 Feb 2024: "
            "highest 21 (Street Cleaning), lowest 20 (Enforcement & Abandoned Vehicles)"
        )
    finally:
        page.eval_on_selector("#chart-top-reasons-numbers", "details => { details.open = false; }")
        show_all_of_management(page)
    page.click("#tab-analytics")
    try:
        for chart in ("chart-ontime-by-department", "chart-resolution-by-type", "chart-backlog"):
            page.click(f"#{chart}-numbers summary")
            page.wait_for_selector(f"#{chart}-numbers table")
        # the cases behind each rate, which only the hover gave
        assert numbers(page, "chart-ontime-by-department") == [
            ["Month opened", "BTDT on time (of closed and flagged)", "PWDx on time (of closed and flagged)"],
            ["Dec 2023", "\u2013", "100.0% (7 of 7)"],
            ["Jan 2024", "\u2013", "84.6% (11 of 13)"],
            ["Feb 2024", "60.0% (9 of 15)", "25.0% (1 of 4)"],
        ]
        assert numbers(page, "chart-resolution-by-type") == [
            ["Type (department)", "Closed cases", "With a duration", "p50 hours", "p90 hours"],
            ["Parking Enforcement (BTDT)", "15", "14", "20", "48"],
            ["Missed Trash (PWDx)", "5", "5", "4", "9"],
        ]
        # the title says which types: the 15 with the most closed cases, not every type
        assert page.inner_text("#chart-resolution-by-type-title") == (
            "Hours to close by type, top 15 by closed cases (p50 and p90 of the cases closed so far), opened in "
            "2024 (to 29 Feb)"
        )
        assert page.get_attribute("#chart-resolution-by-type", "aria-label") == (
            "Hours to close, p50 and p90, of the 2 types with the most closed cases in any department, opened in "
            "2024 (to 29 Feb); the most: Parking Enforcement (BTDT), 15 closed, p50 20 h, p90 48 h"
        )
        assert numbers(page, "chart-backlog")[2] == ["8 Jan 2024", "7 (2)", "2 (1)"]
        page.select_option("#control-department", label="Unknown")  # nothing to draw: the note, no table
        assert page.get_attribute("#chart-backlog", "aria-label") == "No open backlog for Unknown"
        assert page.inner_text("#chart-backlog-numbers .table-wrap") == "Nothing to show for this selection."
    finally:
        page.eval_on_selector_all(
            "details[open]", "open => open.forEach(details => { details.open = false; })"
        )
        page.select_option("#control-department", label="All departments")
        page.click("#tab-management")
    assert loaded.errors == []


def series_buttons(page: object, chart: str) -> list[list[str]]:
    """Each series toggle of a chart: its name and aria-pressed."""
    return page.eval_on_selector_all(
        f"#{chart}-series button",
        "buttons => buttons.map(b => [b.textContent, b.getAttribute('aria-pressed')])",
    )


def traces_shown(page: object, chart: str) -> list[bool]:
    """Whether plotly draws each trace of a chart (a trace hidden from its legend is "legendonly")."""
    return page.evaluate(
        "chart => document.getElementById(chart).data.map(trace => trace.visible !== 'legendonly')", chart
    )


@pytest.mark.browser
def test_series_are_shown_and_hidden_with_the_keyboard(loaded: Page) -> None:
    """plotly's legend toggles a series on a mouse click only; each chart with a legend has toggle buttons too."""
    page = loaded.page
    page.click("#tab-analytics")
    try:
        assert page.get_attribute("#chart-backlog-series", "aria-label") == (
            "Series shown in Open backlog by department (end of week)"
        )
        assert series_buttons(page, "chart-backlog") == [["BTDT", "true"], ["PWDx", "true"]]
        page.focus("#chart-ontime-by-department-numbers summary")
        page.keyboard.press("Shift+Tab")  # the toggles sit between the chart and its Numbers
        assert page.evaluate("document.activeElement.textContent") == "PWDx"
        page.focus("#control-year")
        # past the on-time toggles (BTDT, PWDx) and Numbers, to the first time-to-close toggle
        for _ in range(4):
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "p50 hours"
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        assert series_buttons(page, "chart-resolution-by-type") == [
            ["p50 hours", "true"],
            ["p90 hours", "false"],
        ]
        assert traces_shown(page, "chart-resolution-by-type") == [True, False]
        assert page.locator("#chart-resolution-by-type .barlayer g.point").count() == 2  # p50 bars only
        assert page.evaluate("document.activeElement.textContent") == "p90 hours"  # the focus stays
        page.keyboard.press("Enter")
        assert series_buttons(page, "chart-resolution-by-type") == [
            ["p50 hours", "true"],
            ["p90 hours", "true"],
        ]
        assert page.locator("#chart-resolution-by-type .barlayer g.point").count() == 4
        # a click on plotly's own legend is followed by the buttons
        page.click("#chart-backlog .legend .traces >> nth=0")
        page.wait_for_function("document.getElementById('chart-backlog').data[0].visible === 'legendonly'")
        assert series_buttons(page, "chart-backlog") == [["BTDT", "false"], ["PWDx", "true"]]
        # a redraw shows every series again, buttons too; a department alone has one button
        page.select_option("#control-department", label="BTDT")
        assert series_buttons(page, "chart-backlog") == [["BTDT", "true"]]
        page.select_option("#control-department", label="Unknown")  # a "nothing to draw" note: no buttons
        assert page.is_hidden("#chart-backlog-series") and page.is_hidden("#chart-resolution-by-type-series")
        page.select_option("#control-department", label="All departments")
        assert series_buttons(page, "chart-backlog") == [["BTDT", "true"], ["PWDx", "true"]]
    finally:
        page.select_option("#control-department", label="All departments")
        page.click("#tab-management")
        # plotly's tip on a page's first legend click ("Double-click on legend to isolate one trace"), grey on grey at
        # 2.9:1, stayed about 4 s on the page (and on the module's shared page for the next test's contrast check)
        assert page.locator(".notifier-note").count() == 0
    # the donut's slices: hidden from the legend through its hiddenlabels
    show_all_of_management(page)
    page.focus("#chart-sources-series button >> nth=1")
    page.keyboard.press("Enter")
    try:
        assert series_buttons(page, "chart-sources") == [
            ["Citizens Connect App", "true"],
            ["Constituent Call", "false"],
            ["Self Service", "true"],
        ]
        assert page.evaluate("document.getElementById('chart-sources').layout.hiddenlabels") == [
            "Constituent Call"
        ]
        assert page.locator("#chart-sources .pielayer path.surface").count() == 2
        page.keyboard.press("Space")
        assert page.locator("#chart-sources .pielayer path.surface").count() == 3
        assert series_buttons(page, "chart-sources")[1] == ["Constituent Call", "true"]
    finally:
        show_all_of_management(page)
    assert loaded.errors == []


@pytest.mark.browser
def test_analytics_charts_draw_the_views_values(loaded: Page) -> None:
    page = loaded.page
    page.click("#tab-analytics")
    # v_resolution_times for 2024: the p50 bars carry p50_hours, the p90 bars p90_hours; most closed cases on top
    assert chart_traces(page, "chart-resolution-by-type", ["name", "y", "x"]) == [
        ["p50 hours", ["Missed Trash (PWDx)", "Parking Enforcement (BTDT)"], [4.0, 20.0]],
        ["p90 hours", ["Missed Trash (PWDx)", "Parking Enforcement (BTDT)"], [9.0, 48.0]],
    ]
    # the hover names the cases the percentiles are over: Parking Enforcement's 14 of its 15 closed have a duration
    assert (
        chart_traces(page, "chart-resolution-by-type", ["customdata"])
        == [[["5 closed cases", "14 closed cases with a duration, of 15 closed"]]] * 2
    )
    # the map: longitude across, latitude up, requests summed over types per cell
    assert chart_traces(page, "chart-geo-grid", ["x", "y", "text"]) == [
        [[-71.0625, -71.06], [42.3125, 42.35], [10, 14]]
    ]
    page.click("#tab-management")
    assert loaded.errors == []


@pytest.mark.browser
def test_analytics_controls_filter_by_department(loaded: Page) -> None:
    page = loaded.page
    page.click("#tab-analytics")
    assert page.locator("#chart-backlog .scatterlayer path.js-line").count() == 2  # BTDT and PWDx
    colours = dict(chart_traces(page, "chart-backlog", ["name", "line"]))
    page.select_option("#control-department", label="BTDT")
    assert page.locator("#chart-backlog .scatterlayer path.js-line").count() == 1
    # the on-time lines are filtered too, and a department keeps its colour whatever is chosen
    assert [name for (name,) in chart_traces(page, "chart-ontime-by-department", ["name"])] == ["BTDT"]
    assert chart_traces(page, "chart-backlog", ["name", "line"]) == [["BTDT", colours["BTDT"]]]
    assert chart_traces(page, "chart-ontime-by-department", ["line"]) == [[colours["BTDT"]]]
    page.select_option("#control-department", label="PWDx")  # the second department, drawn alone
    assert chart_traces(page, "chart-backlog", ["name", "line"]) == [["PWDx", colours["PWDx"]]]
    assert colours["PWDx"] != colours["BTDT"]
    page.select_option("#control-department", label="BTDT")
    assert (
        page.locator("#chart-resolution-by-type .barlayer g.point").count() == 2
    )  # p50 and p90 of Parking Enforcement
    page.screenshot(path=str(ARTIFACTS / "dashboard-analytics.png"), full_page=True)
    page.select_option("#control-department", label="All departments")
    page.click("#tab-management")
    assert loaded.errors == []


def test_departments_keep_distinct_colours_beyond_plotlys_ten() -> None:
    colors = dashboard.palette_colors([f"department {i}" for i in range(24)], dashboard.DEPARTMENT_PALETTE)
    assert len(set(colors)) == 24  # plotly's default colorway repeats after 10


def test_departments_a_colour_blind_reader_would_confuse_differ_in_dash() -> None:
    names = [f"department {i}" for i in range(120)]
    colours = dashboard.palette_colors(names, dashboard.DEPARTMENT_PALETTE)
    dashes = dashboard.palette_colors(names, dashboard.DEPARTMENT_DASHES)
    assert len(set(zip(colours, dashes, strict=True))) == 120  # no two of 120 departments drawn alike
    # Dark24's pairs (positions) under 10 CIELAB units apart for a deuteranope or a protanope (Machado 2009
    # simulation) among the first 20; the 4th and 7th (red and ochre) are 1.7 apart
    close = [
        (0, 17),
        (1, 10),
        (1, 12),
        (1, 13),
        (1, 15),
        (2, 6),
        (2, 8),
        (3, 6),
        (5, 18),
        (8, 14),
        (10, 13),
        (12, 13),
    ]
    assert all(dashes[a] != dashes[b] for a, b in close)


@pytest.mark.browser
def test_a_department_has_one_colour_and_dash_in_every_chart(loaded: Page) -> None:
    page = loaded.page
    page.click("#tab-analytics")
    colours = page.evaluate(
        """() => ["chart-ontime-by-department", "chart-backlog"].map(id =>
             Object.fromEntries(document.getElementById(id).data.map(trace =>
               [trace.name, [trace.line.color, trace.line.dash]])))"""
    )
    page.click("#tab-management")
    on_time, backlog = colours
    assert set(backlog) == {"BTDT", "PWDx"}
    assert len({colour for colour, _ in backlog.values()}) == len({dash for _, dash in backlog.values()}) == 2
    assert all(on_time[name] == line for name, line in backlog.items() if name in on_time)


@pytest.mark.browser
def test_the_backlog_hover_carries_the_cases_open_a_year_or_more(loaded: Page) -> None:
    page = loaded.page
    page.click("#tab-analytics")
    series = page.evaluate(
        """() => Object.fromEntries(document.getElementById("chart-backlog").data.map(trace =>
             [trace.name, [trace.x, trace.y, trace.customdata]]))"""
    )
    page.click("#tab-management")
    # serving_helpers.SMALL_BACKLOG: (week, department, open_cases, open_over_1y)
    # the data runs to 29 Feb 2024, past both weeks: each is counted at its end
    assert series["PWDx"] == [["2024-01-01", "2024-01-08"], [3, 2], [[1, "at its end"], [1, "at its end"]]]
    assert series["BTDT"] == [["2024-01-01", "2024-01-08"], [5, 7], [[0, "at its end"], [2, "at its end"]]]


@pytest.mark.browser
def test_on_time_lines_are_the_named_querys_rates(loaded: Page, small_dashboard: Path) -> None:
    page = loaded.page
    assert page.input_value("#control-department") == ""  # all departments
    drawn = page.evaluate(
        """() => document.getElementById("chart-ontime-by-department").data.flatMap(trace =>
             trace.x.map((month, i) => [month, trace.name, trace.y[i]]).filter(point => point[2] !== null))"""
    )
    with duckdb.connect(str(small_dashboard.parent.parent / "lake.duckdb"), read_only=True) as connection:
        expected = connection.execute(
            "SELECT strftime(month, '%Y-%m-%d'), department, on_time_rate FROM nq_ontime_rate_by_department_month "
            "WHERE on_time_rate IS NOT NULL"
        ).fetchall()
    assert sorted((m, d, pytest.approx(r)) for m, d, r in drawn) == sorted(expected)
    assert ["2024-01-01", "PWDx", pytest.approx(11 / 13)] in [list(p) for p in drawn]


@pytest.mark.browser
def test_a_realistic_lake_renders_without_errors(browser: object, tmp_path: Path) -> None:
    html = build_lake(tmp_path, realistic=True)
    loaded_page = open_dashboard(browser, html)
    page = loaded_page.page
    try:
        assert page.locator("#chart-geo-grid .scatterlayer path.point").count() > 100
        page.screenshot(path=str(ARTIFACTS / "dashboard-realistic.png"), full_page=True)
        assert loaded_page.errors == []
        # The data stops on 17 Oct 2024: the period ends with September, the last complete month, and October
        # is named as partial wherever it is offered.
        assert "data through 17 Oct 2024" in page.inner_text("header")
        assert page.title() == "Enquiries to Boston, data through 17 Oct 2024"  # the tab, the window list
        assert page.inner_text("#kpi-enquiries-month") == "Sep 2024"
        # the sparkline: the 12 months up to the latest, Oct 2023 to Sep 2024
        ((sparkline,),) = chart_traces(page, "chart-enquiries-sparkline", ["x"])
        assert sparkline == [
            f"{year}-{month:02d}-01" for year, month in [(2023, 10), (2023, 11), (2023, 12)]
        ] + [f"2024-{month:02d}-01" for month in range(1, 10)]
        assert page.inner_text("#kpi-enquiries-spark-months") == "per month, the 12 months to Sep 2024"
        # the map and time to close show the chosen year only (2024 by default; the lake has 2022-2024)
        with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
            cells = connection.execute(
                "SELECT count(DISTINCT (cell_lat, cell_lon)) FROM v_geo_grid WHERE year = 2024"
            ).fetchone()[0]
            by_cases = [
                label
                for (label,) in connection.execute(
                    "SELECT type || ' (' || department || ')' FROM v_resolution_times WHERE year = 2024 "
                    "ORDER BY closed_cases DESC LIMIT 15"
                ).fetchall()
            ]
        page.click("#tab-analytics")
        ((lon, lat),) = chart_traces(page, "chart-geo-grid", ["x", "y"])
        assert len(lon) == len(lat) == cells
        # every one of those cells, whatever its count, is drawn at least 3:1 against the plot
        assert [point for point in page.evaluate(MAP_CONTRAST_JS)["points"] if point[1] < 3] == []
        # the (department, type) rows with the most closed cases, the most on top (the last bar drawn)
        assert [labels for (labels,) in chart_traces(page, "chart-resolution-by-type", ["y"])] == [
            by_cases[::-1]
        ] * 2
        # the week the data stops inside (Monday 14 to Sunday 20 October) is counted on 17 October, not at its end
        ((weeks, notes), *_) = chart_traces(page, "chart-backlog", ["x", "customdata"])
        stopped = dict(zip(weeks, (note for _, note in notes), strict=True))
        assert (stopped["2024-10-07"], stopped["2024-10-14"]) == ("at its end", "when the data stops, 17 Oct")
        page.click("#chart-backlog-numbers summary")
        page.wait_for_selector("#chart-backlog-numbers table")
        assert [row[0] for row in numbers(page, "chart-backlog")].count("14 Oct 2024 (to 17 Oct)") == 1
        page.click("#tab-management")
        assert " vs Aug 2024 (" in page.inner_text("#kpi-enquiries-change")
        last_option = page.locator("#control-period-to option").last
        assert last_option.inner_text() == "Oct 2024 (to 17 Oct)"
        # the yearly lines: 2022 and 2023 whole, 2024 the period's months of it, so its total reads as nine months
        [(years, _), _] = chart_traces(page, "chart-yearly", ["x", "y"])
        assert years == ["2022", "2023", "2024 (Jan\u2013Sep)"]
        page.select_option("#control-period-to", label="Oct 2024 (to 17 Oct)")
        assert page.inner_text("#kpi-enquiries-month") == "Oct 2024 (to 17 Oct)"
        [(years, _), _] = chart_traces(page, "chart-yearly", ["x", "y"])
        assert years == ["2022", "2023", "2024 (Jan\u2013Oct, to 17 Oct)"]
        page.click("#chart-yearly-numbers summary")  # the table says it too
        page.wait_for_selector("#chart-yearly-numbers table")
        assert numbers(page, "chart-yearly")[-1][0] == "2024 (Jan\u2013Oct, to 17 Oct)"
        assert "vs Sep 2024" in page.inner_text("#kpi-enquiries-change")
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


def save_screenshot(html: Path, png: Path) -> None:
    """Save the Management sheet of a dashboard as a PNG (for the README)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        loaded_page = open_dashboard(chromium, html, width=1280)
        if loaded_page.errors:
            raise RuntimeError(f"The dashboard logged errors: {loaded_page.errors}")
        png.parent.mkdir(parents=True, exist_ok=True)
        loaded_page.page.screenshot(path=str(png), full_page=True)
        chromium.close()


def build_parser() -> argparse.ArgumentParser:
    """The command line of main: --lake and --out."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument(
        "--lake", default=None, help="a lake with dashboard/index.html (default: build a realistic one)"
    )
    parser.add_argument("--out", default="docs/dashboard.png")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Screenshot a lake's dashboard (or, without --lake, the realistic hand-made one) for the README."""
    args = build_parser().parse_args(argv)
    reason = chromium_missing_reason()
    if reason:
        print(f"Cannot take the screenshot: {reason}.", file=sys.stderr)
        return 2
    if args.lake:
        html = Path(args.lake).resolve() / "dashboard" / "index.html"
        if not html.is_file():
            print(
                f"Cannot take the screenshot: {html} does not exist (build it with quicksight/dashboard.py).",
                file=sys.stderr,
            )
            return 2
        save_screenshot(html, Path(args.out))
    else:
        scratch = Path(args.out).resolve().parent / ".screenshot-lake"
        try:
            save_screenshot(build_lake(scratch, realistic=True), Path(args.out))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"Wrote {args.out}")
    return 0


def sheet_fits(page: object, width: int) -> None:
    """The shown sheet scrolls only down: no card, and no chart once resized, is wider than the window."""
    page.wait_for_function(  # plotly resizes a chart 100 ms after its sheet is shown
        """() => [...document.querySelectorAll(".sheet:not([hidden]) .js-plotly-plot")]
                   .every(chart => chart._fullLayout.width <= chart.clientWidth + 1)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    cards = page.eval_on_selector_all(
        ".sheet:not([hidden]) .card", "cards => cards.map(c => c.getBoundingClientRect().right)"
    )
    assert cards and max(cards) <= width


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1024])
def test_a_narrow_window_shows_one_card_a_row_without_scrolling_sideways(
    browser: object, small_dashboard: Path, width: int
) -> None:
    """At 390 px the twelve-column grid put three KPI cards side by side, 919 px in all."""
    loaded_page = open_dashboard(browser, small_dashboard, width=width)
    page = loaded_page.page
    try:
        sheet_fits(page, width)
        kpis = page.eval_on_selector_all(".kpi", "cards => cards.map(c => c.getBoundingClientRect().left)")
        assert len(set(kpis)) == (1 if width < 760 else 3)  # stacked on a phone, side by side on a laptop
        for chart in ("chart-subjects", "chart-top-reasons"):
            bars_keep_the_width(page, chart, width)
        page.click("#tab-analytics")
        sheet_fits(page, width)
        bars_keep_the_width(page, "chart-resolution-by-type", width)
        # The line charts' legends: beside the plot, it left a phone 64 px of plot and lay over the lines; under it
        # there. Each as [legend's left, top; plot's right, bottom].
        for chart in ("chart-ontime-by-department", "chart-backlog"):
            legend_left, legend_top, plot_right, plot_bottom = page.evaluate(PLACES, chart)
            if width < 760:
                assert legend_top >= plot_bottom and plot_right - legend_left > 200, chart
            else:
                assert legend_left >= plot_right, chart
        page.screenshot(path=str(ARTIFACTS / f"dashboard-analytics-{width}.png"), full_page=True)
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


# A horizontal bar chart's plot width, its labels as drawn (left, bottom, right; beside the bars: the y ticks, else
# the annotations) and the top of each category's highest bar, bottom to top; its x ticks and axis title (left,
# right, top, bottom).
BAR_PLACES = """chart => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.bottom, r.right, r.top]; };
  const all = selector => [...document.querySelectorAll(`#${chart} ${selector}`)].map(box);
  const traces = [...document.querySelectorAll(`#${chart} .barlayer .trace`)].map(t =>
    [...t.querySelectorAll("g.point path")].map(p => p.getBoundingClientRect().top));
  const title = document.querySelector(`#${chart} .xtitle`);
  return {
    plotWidth: document.querySelector(`#${chart} .nsewdrag`).getBoundingClientRect().width,
    yTicks: all(".ytick text"), annotations: all(".annotation"),
    barTops: traces[0].map((_, i) => Math.min(...traces.map(tops => tops[i]))),
    xTicks: all(".xtick text").map(([l, b, r, t]) => [l, r, t, b]), xTitle: title ? box(title) : null,
  };
}"""


def bars_keep_the_width(page: object, chart: str, width: int) -> None:
    """On a phone, the labels of a horizontal bar chart go above its bars, which keep the plot's width (beside
    them, the long labels left 54 to 94 px of it); wider, they stay beside the bars."""
    drawn = page.evaluate(BAR_PLACES, chart)
    if width < 760:
        assert drawn["yTicks"] == [] and drawn["plotWidth"] > 250, chart
        assert len(drawn["annotations"]) == len(drawn["barTops"]) > 0, chart
        for (_, label_bottom, _, _), bar_top in zip(drawn["annotations"], drawn["barTops"], strict=True):
            assert label_bottom <= bar_top + 1, chart
        ticks = sorted(drawn["xTicks"])  # no two ticks overlap
        assert all(a[1] <= b[0] for a, b in zip(ticks, ticks[1:], strict=False)), chart
        if drawn["xTitle"]:
            assert max(tick[3] for tick in ticks) <= drawn["xTitle"][3] + 1, chart  # nor the axis title
    else:
        assert drawn["annotations"] == [] and len(drawn["yTicks"]) == len(drawn["barTops"]), chart


# Whether plotly drew a chart at its container's width (it resizes a chart 100 ms after its sheet is shown).
SHOWN_AT_ITS_WIDTH = (
    "id => document.getElementById(id)._fullLayout.width <= document.getElementById(id).clientWidth + 1"
)


# Where a chart's legend starts (left, top) and its plot area ends (right, bottom), in the page's pixels.
PLACES = """chart => {
  const legend = document.querySelector(`#${chart} .legend`).getBoundingClientRect();
  const plot = document.querySelector(`#${chart} .nsewdrag`).getBoundingClientRect();
  return [legend.left, legend.top, plot.right, plot.bottom];
}"""


@pytest.mark.browser
def test_a_window_made_narrow_moves_the_line_charts_legends_under_their_plots(
    browser: object, small_dashboard: Path
) -> None:
    """The legends' place is chosen as the charts are drawn: narrowing the window draws them again."""
    loaded_page = open_dashboard(browser, small_dashboard, width=1024)
    page = loaded_page.page
    try:
        page.click("#tab-analytics")
        page.set_viewport_size({"width": 390, "height": 900})
        page.wait_for_function(
            "document.getElementById('chart-backlog')._fullLayout.legend.orientation === 'h'", timeout=5_000
        )
        legend_left, legend_top, plot_right, plot_bottom = page.evaluate(PLACES, "chart-backlog")
        assert legend_top >= plot_bottom
        # the bar charts' names go above their bars
        bars_keep_the_width(page, "chart-resolution-by-type", 390)
        page.click("#tab-management")  # those of the sheet not shown too
        page.wait_for_function(SHOWN_AT_ITS_WIDTH, arg="chart-subjects")
        bars_keep_the_width(page, "chart-subjects", 390)
        page.set_viewport_size({"width": 1024, "height": 900})
        page.wait_for_function(
            "document.getElementById('chart-backlog')._fullLayout.legend.orientation === 'v'", timeout=5_000
        )
        page.wait_for_function(SHOWN_AT_ITS_WIDTH, arg="chart-subjects")
        bars_keep_the_width(page, "chart-subjects", 1024)
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


# The width plotly drew each Management chart at, as one JSON text.
DRAWN_WIDTHS = f"JSON.stringify({json.dumps(MANAGEMENT_CHARTS)}.map(id => document.getElementById(id)._fullLayout.width))"


@pytest.mark.browser
def test_printing_draws_the_charts_at_the_papers_width_and_the_header_in_dark_text(
    browser: object, small_dashboard: Path, tmp_path: Path
) -> None:
    """Printed, the charts kept the window's width (cut off at the page's edge) and the header, its navy background
    left out, printed white on white."""
    loaded_page = open_dashboard(browser, small_dashboard, width=1400)
    page = loaded_page.page
    # what the page looks like while laid out for paper, read after the dashboard's own print handler
    page.evaluate(
        """() => matchMedia("print").addEventListener("change", event => {
             if (!event.matches) return;
             window.printed = {
               charts: [...document.querySelectorAll(".sheet:not([hidden]) .js-plotly-plot")]
                         .map(chart => [chart.id, chart._fullLayout.width, chart.clientWidth]),
               title: getComputedStyle(document.getElementById("dashboard-title")).color,
               header: getComputedStyle(document.querySelector("header")).backgroundColor };
           })"""
    )
    on_screen = page.evaluate(DRAWN_WIDTHS)
    try:
        page.pdf(path=str(tmp_path / "dashboard.pdf"), format="A4")
        printed = page.evaluate("window.printed")
        assert len(printed["charts"]) == len(MANAGEMENT_CHARTS)
        assert all(drawn <= room + 1 for _, drawn, room in printed["charts"]), printed["charts"]
        assert max(room for _, _, room in printed["charts"]) < 800  # A4 is narrower than the window
        assert (printed["title"], printed["header"]) == ("rgb(29, 39, 51)", "rgb(255, 255, 255)")
        # back at the window's width after printing (plotly resizes 100 ms later)
        page.wait_for_function(f"{DRAWN_WIDTHS} == {json.dumps(on_screen)}", timeout=5_000)
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_a_gold_written_before_closed_with_duration_gives_one_warning_and_the_hover_says_so(
    browser: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    silver, gold = helpers.write_small_lake(tmp_path)
    schema = helpers.GOLD_SCHEMAS["resolution_times"]
    at = schema.get_field_index("closed_with_duration")
    old_rows = [row[:at] + row[at + 1 :] for row in helpers.SMALL_RESOLUTION]
    helpers.write_table(
        old_rows, schema.remove(at), gold / "resolution_times"
    )  # replaces the table's one file

    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))
    html = Path(
        dashboard.build_dashboard(str(tmp_path / "lake.duckdb"), str(tmp_path / "dashboard" / "index.html"))
    )

    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "gold_resolution_times: the Parquet files lack closed_with_duration (written by an older version); they read "
        f'as NULL (as on Athena) until Gold runs again: make run LAKE={tmp_path} ARGS="--stages gold,serve".'
    ]
    loaded_page = open_dashboard(browser, html)
    page = loaded_page.page
    try:
        page.click("#tab-analytics")
        assert chart_traces(page, "chart-resolution-by-type", ["x", "customdata"])[0] == [
            [4.0, 20.0],
            [
                "5 closed cases; how many have a duration: rerun Gold",
                "15 closed cases; how many have a duration: rerun Gold",
            ],
        ]
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_a_lake_with_no_year_for_time_to_close_or_the_map_says_so(browser: object, tmp_path: Path) -> None:
    html = build_lake(tmp_path, gold_tables={"resolution_times": [], "geo_grid": []})
    loaded_page = open_dashboard(browser, html)
    page = loaded_page.page
    try:
        page.click("#tab-analytics")
        assert page.inner_text("#resolution-year") == page.inner_text("#geo-year") == "any year"
        notes = [
            page.locator(f"#{chart} .annotation-text").all_text_contents()
            for chart in ("chart-resolution-by-type", "chart-geo-grid")
        ]
        assert notes == [
            ["No closed cases with a duration in any department in any year"],
            ["No requests with trusted coordinates in any year"],
        ]
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_a_type_with_no_closed_case_timed_draws_no_empty_bar(browser: object, tmp_path: Path) -> None:
    # Street Lights has the most closed cases, none with a duration (closed by status alone): no percentiles
    rows = [*helpers.SMALL_RESOLUTION, (2024, "PWDx", "Street Lights", 40, 0, None, None, None, None)]
    loaded_page = open_dashboard(browser, build_lake(tmp_path, gold_tables={"resolution_times": rows}))
    page = loaded_page.page
    try:
        page.click("#tab-analytics")
        assert (
            chart_traces(page, "chart-resolution-by-type", ["y"])
            == [[["Missed Trash (PWDx)", "Parking Enforcement (BTDT)"]]] * 2
        )
        page.select_option("#control-department", label="PWDx")
        assert chart_traces(page, "chart-resolution-by-type", ["y"]) == [[["Missed Trash (PWDx)"]]] * 2
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


# Names as the City's data could carry them: markup that would run a script or close the data's <script> element, and
# plotly.js's own text markup (bold, a link, a style, an entity) that it would draw instead of showing.
HOSTILE_IMG = '<img src=x onerror="window.__pwned = 1">'
HOSTILE_SCRIPT = "</script><script>window.__pwned = 2</script>"
HOSTILE_COMMENT = "<!-- Graffiti"
HOSTILE_MARKUP = '<b>Bold</b> <a href="https://example.org/">link</a> <span style="font-size:60px">big</span>'
HOSTILE_ENTITY = "Fish &amp; Chips &lt;3 &#60;3 & more"


def hostile_gold() -> dict[str, list[tuple]]:
    """Gold tables whose department, subject, reason, type, source and neighborhood are the hostile names above."""
    month, day = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
    monthly = [
        (month, HOSTILE_IMG, HOSTILE_MARKUP, HOSTILE_COMMENT, HOSTILE_ENTITY, HOSTILE_SCRIPT, HOSTILE_IMG,
         5, 5, 4, 1, 0, 25.0, 5, day),
        (month, HOSTILE_SCRIPT, HOSTILE_ENTITY, HOSTILE_MARKUP, HOSTILE_COMMENT, HOSTILE_MARKUP, HOSTILE_ENTITY,
         3, 3, 3, 0, 0, 9.0, 3, day),
    ]  # fmt: skip
    return {
        "monthly_requests": monthly,
        "resolution_times": [(2024, HOSTILE_SCRIPT, HOSTILE_MARKUP, 3, 3, 1.0, 2.0, 1.5, 1.0)],
        "open_backlog": [(month, HOSTILE_IMG, 3, 1), (month, HOSTILE_MARKUP, 2, 0)],
        "geo_grid": [(2024, HOSTILE_IMG, 42.3125, -71.0625, 4)],
    }


@pytest.mark.browser
def test_names_from_the_data_are_shown_as_written_and_never_run_or_draw_markup(
    browser: object, tmp_path: Path
) -> None:
    """In the select options, the Numbers tables and the text plotly.js draws (ticks, legends, annotations)."""
    html = build_lake(tmp_path, gold_tables=hostile_gold())
    loaded_page = open_dashboard(browser, html)
    page = loaded_page.page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    drawn = "(chart) => Array.from(document.querySelectorAll('#' + chart + ' text')).map(t => t.textContent)"
    try:
        options = page.eval_on_selector_all("select option", "options => options.map(o => o.textContent)")
        for name in (HOSTILE_IMG, HOSTILE_SCRIPT, HOSTILE_COMMENT, HOSTILE_MARKUP, HOSTILE_ENTITY):
            assert name in options, name
        assert set(page.evaluate(drawn, "chart-subjects")) >= {HOSTILE_MARKUP, HOSTILE_ENTITY}
        assert set(page.evaluate(drawn, "chart-top-reasons")) >= {HOSTILE_COMMENT, HOSTILE_MARKUP}
        assert set(page.evaluate(drawn, "chart-sources")) >= {HOSTILE_SCRIPT, HOSTILE_MARKUP}  # the legend
        # the series toggles name each slice as written, and hide the slice of that name
        sources = [name for name, _ in series_buttons(page, "chart-sources")]
        assert sorted(sources) == sorted([HOSTILE_SCRIPT, HOSTILE_MARKUP])
        page.click(f"#chart-sources-series button >> nth={sources.index(HOSTILE_MARKUP)}")
        page.wait_for_function("document.getElementById('chart-sources').layout.hiddenlabels.length === 1")
        assert page.locator("#chart-sources .pielayer path.surface").count() == 1
        assert series_buttons(page, "chart-sources")[sources.index(HOSTILE_MARKUP)] == [
            HOSTILE_MARKUP,
            "false",
        ]
        page.click("#chart-subjects-numbers summary")
        page.wait_for_selector("#chart-subjects-numbers table")  # filled on the toggle event, after the click
        assert [row[0] for row in numbers(page, "chart-subjects")[1:]] == [HOSTILE_MARKUP, HOSTILE_ENTITY]

        page.click("#tab-analytics")
        assert set(page.evaluate(drawn, "chart-ontime-by-department")) >= {HOSTILE_IMG, HOSTILE_SCRIPT}
        assert set(page.evaluate(drawn, "chart-backlog")) >= {HOSTILE_IMG, HOSTILE_MARKUP}
        assert sorted(name for name, _ in series_buttons(page, "chart-backlog")) == sorted(
            [HOSTILE_IMG, HOSTILE_MARKUP]
        )
        assert f"{HOSTILE_MARKUP} ({HOSTILE_SCRIPT})" in page.evaluate(drawn, "chart-resolution-by-type")
        page.select_option("#control-department", label=HOSTILE_IMG)  # no time to close: the note names it
        assert page.locator("#chart-resolution-by-type .annotation-text").all_text_contents() == [
            f"No closed cases with a duration for {HOSTILE_IMG} in 2024 (to 31 Jan)"
        ]
        page.select_option("#control-department", label=HOSTILE_MARKUP)  # a note that would draw the markup
        assert page.locator("#chart-resolution-by-type .annotation-text").all_text_contents() == [
            f"No closed cases with a duration for {HOSTILE_MARKUP} in 2024 (to 31 Jan)"
        ]

        assert page.evaluate("window.__pwned") is None and dialogs == []
        assert page.locator("img, [onerror], [onload]").count() == 0
        assert page.locator(".js-plotly-plot a").count() == 0  # plotly draws <a href> as a link
        assert loaded_page.errors == []
    finally:
        loaded_page.page.close()


@pytest.mark.browser
def test_an_empty_lake_says_so_without_errors(browser: object, tmp_path: Path) -> None:
    local_lake.build_local_query_layer(
        str(tmp_path / "lake.duckdb"), str(tmp_path / "silver"), str(tmp_path / "gold")
    )
    html = Path(
        dashboard.build_dashboard(str(tmp_path / "lake.duckdb"), str(tmp_path / "dashboard" / "index.html"))
    )
    loaded_page = open_dashboard(browser, html, ready="p.empty")
    page = loaded_page.page
    try:
        assert "No Gold data in this lake yet" in page.inner_text("#sheet-management")
        # the sentence spans its sheet (it was squeezed into one of twelve columns, 98 px wide, six lines high)
        widths = page.evaluate(
            "() => [document.querySelector('#sheet-management p.empty').getBoundingClientRect().width,"
            " document.querySelector('#sheet-management .grid').getBoundingClientRect().width]"
        )
        assert widths[0] == pytest.approx(widths[1], abs=1)
        # and the tabs work (they did nothing)
        page.click("nav.tabs [aria-controls=sheet-analytics]")
        assert page.get_attribute("nav.tabs [aria-controls=sheet-analytics]", "aria-selected") == "true"
        assert "No Gold data in this lake yet" in page.inner_text("#sheet-analytics")
        assert page.is_hidden("#sheet-management")
        assert loaded_page.errors == []
    finally:
        page.close()


if __name__ == "__main__":
    sys.exit(main())
