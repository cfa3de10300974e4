"""The local dashboard: one self-contained, offline HTML file with the QuickSight dashboard's sheets.

The data comes from the DuckDB views of ``lake.duckdb`` (the same views Athena serves, so the numbers
match), rolled up to the grain the visuals need and embedded as JSON; plotly.js is inlined from the
installed ``plotly`` package (no CDN); plain JavaScript redraws the visuals a control filters when it changes
(docs/serving.md's table of the page says which: the Management sheet's filters reach every visual of the sheet,
the top-N slider its chart, the Analytics sheet's department and year controls the charts named there).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import math
import os
import re
import sys
from pathlib import Path

import duckdb
from plotly.colors import qualitative, sequential
from plotly.offline import get_plotlyjs

import athena_sql  # noqa: F401  (puts scripts/ on the path when run as a script)
import definitions
import lake as lake_layout
from command_line import ArgumentParser

log = logging.getLogger(__name__)

# The QuickSight dashboard's name heads the page too.
TITLE = definitions.DASHBOARD_NAME
# One colour per department, the same in every chart: plotly's 24-colour qualitative palette (its default has
# 10, and the sample's 11 departments drew two backlog lines in the same blue).
DEPARTMENT_PALETTE = qualitative.Dark24
# And one dash style per department, cycling every five: a colour-blind reader tells lines apart by it. Among the
# first 20 departments, 8 pairs of Dark24 colours are all but one colour to a deuteranope (the 4th and 7th,
# red and ochre, most of all); each such pair differs in dash.
DEPARTMENT_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]
# One colour per source (channel), fixed by its sorted position, so Phone keeps its colour whatever the filters:
# Paul Tol's colour-blind-safe "muted" scheme (plotly's qualitative.Safe) without its three light colours (cyan,
# sand, teal: 1.8, 1.6 and 2.8:1 against white), so every slice is at least 3:1 (WCAG 1.4.11); none is the
# measures' own blue or orange (enquiries, delay, p50/p90). Ordered so the harmonised sources in sorted order (App,
# Employee, Integration, Phone, Social Media, Web) get indigo, rose, olive, green (Phone, as before), purple, wine:
# the two largest slices, Phone and App, and the slices beside Phone in the donut differ in hue.
INDIGO, ROSE, GREEN, PURPLE, OLIVE, WINE, BROWN, GREY = (
    qualitative.Safe[i] for i in (4, 1, 3, 5, 7, 8, 9, 10)
)
SOURCE_PALETTE = [INDIGO, ROSE, OLIVE, GREEN, PURPLE, WINE, BROWN, GREY]
# The map's colour scale, fewest requests to most: viridis (plotly's sequential.Viridis, made to be read by
# colour-blind readers) from its teal to its darkest purple. Its lightness falls all the way, so more is darker
# for a reader who tells no hue apart; its light half (green to yellow, 1.3-2.6:1 on white) is left out, so every
# point, drawn at 0.8 opacity on the white plot, is at least 3.2:1 (WCAG 1.4.11). The reversed YlOrRd it replaces
# drew the busiest cells in pale yellow, 1.02:1.
MAP_COLORS = sequential.Viridis[4::-1]
# The page's KPI tiles and the QuickSight KPI each is: a change is coloured by what it means there (RISE_MEANS), in
# the QuickSight KPIs' colours (CHANGE_COLORS), so a longer delay reads as bad in both.
KPI_VISUALS = {"enquiries": "kpi_enquiries", "delay": "kpi_avg_delay", "ontime": "kpi_on_time"}
# The hours-by-type card draws the types with the most closed cases, this many: its title says so and its script
# reads the number from the chart's data-top-types.
TOP_TYPES = 15

# Each query reads only the dashboard views; the rollups keep the dimensions the sheet's controls filter by.
MANAGEMENT_SQL = """
SELECT strftime(month, '%Y-%m') AS month,
       coalesce(subject, 'Unknown') AS subject,
       coalesce(reason, 'Unknown') AS reason,
       coalesce(source, 'Unknown') AS source,
       CAST(SUM(requests_opened) AS BIGINT) AS requests_opened,
       CAST(SUM(closed_on_time) AS BIGINT) AS closed_on_time,
       CAST(SUM(closed_late) AS BIGINT) AS closed_late,
       SUM(sum_hours_to_close) AS sum_hours_to_close,
       CAST(SUM(closed_with_duration) AS BIGINT) AS closed_with_duration,
       CAST(SUM(still_open) AS BIGINT) AS still_open
FROM v_monthly_requests
GROUP BY ALL
ORDER BY ALL
"""
ONTIME_SQL = """
SELECT strftime(month, '%Y-%m') AS month,
       coalesce(department, 'Unknown') AS department,
       CAST(SUM(closed_on_time) AS BIGINT) AS closed_on_time,
       CAST(SUM(closed_late) AS BIGINT) AS closed_late
FROM v_monthly_requests
GROUP BY ALL
ORDER BY ALL
"""
RESOLUTION_SQL = """
SELECT year, coalesce(department, 'Unknown') AS department, coalesce(type, 'Unknown') AS type,
       closed_cases, closed_with_duration, p50_hours, p90_hours
FROM v_resolution_times
ORDER BY year, department, type
"""
BACKLOG_SQL = """
SELECT strftime(week_start, '%Y-%m-%d') AS week_start, coalesce(department, 'Unknown') AS department,
       CAST(SUM(open_cases) AS BIGINT) AS open_cases,
       CAST(SUM(open_over_1y) AS BIGINT) AS open_over_1y
FROM v_open_backlog
GROUP BY ALL
ORDER BY ALL
"""
# How far the data reaches: the Boston day of the latest opening (a month that ends later is partial).
DATA_THROUGH_SQL = "SELECT strftime(max(last_opened_date), '%Y-%m-%d') FROM v_monthly_requests"
GEO_SQL = """
SELECT year, cell_lat, cell_lon, CAST(SUM(requests) AS BIGINT) AS requests
FROM v_geo_grid
WHERE cell_lat IS NOT NULL AND cell_lon IS NOT NULL
GROUP BY ALL
ORDER BY ALL
"""


class DashboardError(RuntimeError):
    """The query layer is missing or lacks the views the dashboard reads."""


def clean_number(value: object) -> object:
    """JSON-safe value: NaN and infinities become null, floats keep 4 decimals."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    return value


def columnar(columns: list[str], rows: list[tuple], coded: dict[str, list[str]]) -> dict[str, list]:
    """Rows -> one list per column; columns named in ``coded`` become indexes into their dictionaries."""
    lookups = {name: {value: index for index, value in enumerate(values)} for name, values in coded.items()}
    table: dict[str, list] = {name: [] for name in columns}
    for row in rows:
        for name, value in zip(columns, row, strict=True):
            table[name].append(lookups[name][value] if name in lookups else clean_number(value))
    return table


def month_range(first: str, last: str) -> list[str]:
    """Every month from first to last inclusive, as ``YYYY-MM``."""
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def partial_month(data_through: str | None) -> str | None:
    """The month (``YYYY-MM``) the data stops inside, or None when the data reaches the end of its last month."""
    if not data_through:
        return None
    day = dt.date.fromisoformat(data_through)
    next_month = (day.replace(day=1) + dt.timedelta(days=31)).replace(day=1)
    return None if day == next_month - dt.timedelta(days=1) else data_through[:7]


def query(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one query."""
    cursor = connection.execute(sql)
    return [d[0] for d in cursor.description], cursor.fetchall()


def dashboard_data(connection: duckdb.DuckDBPyConnection) -> dict:
    """Everything the visuals need, rolled up from the dashboard views and dictionary-encoded."""
    management_columns, management = query(connection, MANAGEMENT_SQL)
    ontime_columns, ontime = query(connection, ONTIME_SQL)
    resolution_columns, resolution = query(connection, RESOLUTION_SQL)
    backlog_columns, backlog = query(connection, BACKLOG_SQL)
    geo_columns, geo = query(connection, GEO_SQL)
    data_through = connection.execute(DATA_THROUGH_SQL).fetchone()[0]

    data_months = sorted({row[0] for row in management} | {row[0] for row in ontime})
    months = month_range(data_months[0], data_months[-1]) if data_months else []
    weeks = sorted({row[0] for row in backlog})
    dims = {
        "month": months,
        "subject": sorted({row[1] for row in management}),
        "reason": sorted({row[2] for row in management}),
        "source": sorted({row[3] for row in management}),
        "department": sorted(
            {row[1] for row in ontime} | {row[1] for row in resolution} | {row[1] for row in backlog}
        ),
        "type": sorted({row[2] for row in resolution}),
        "week_start": weeks,
    }
    pick = {name: dims[name] for name in ("month", "subject", "reason", "source")}
    return {
        "title": TITLE,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "data_through": data_through,
        "partial_month": partial_month(data_through),
        "dims": dims,
        "department_colors": palette_colors(dims["department"], DEPARTMENT_PALETTE),
        "department_dashes": palette_colors(dims["department"], DEPARTMENT_DASHES),
        "source_colors": palette_colors(dims["source"], SOURCE_PALETTE),
        "kpi_change_means": kpi_change_means(),
        "map_colorscale": [[i / (len(MAP_COLORS) - 1), color] for i, color in enumerate(MAP_COLORS)],
        "years": sorted({row[0] for row in resolution} | {row[0] for row in geo}),
        "management": columnar(management_columns, management, pick),
        "ontime": columnar(ontime_columns, ontime, {"month": months, "department": dims["department"]}),
        "resolution": columnar(
            resolution_columns, resolution, {"department": dims["department"], "type": dims["type"]}
        ),
        "backlog": columnar(
            backlog_columns, backlog, {"week_start": weeks, "department": dims["department"]}
        ),
        "geo": columnar(geo_columns, geo, {}),
    }


def page_title(data_through: str | None) -> str:
    """The browser tab's title: the dashboard's, and how far its data reaches (``17 Oct 2024``) when it has any."""
    if not data_through:
        return TITLE
    day = dt.date.fromisoformat(data_through)
    return f"{TITLE}, data through {day.day} {day:%b %Y}"  # %b is English: Python leaves LC_TIME at "C"


def kpi_change_means() -> dict[str, list[str]]:
    """What a rise and a fall of each KPI tile mean (good, bad or neutral), as its QuickSight KPI colours them."""
    return {
        name: [definitions.RISE_MEANS[visual], definitions.FALL_MEANS[definitions.RISE_MEANS[visual]]]
        for name, visual in KPI_VISUALS.items()
    }


def palette_colors(names: list[str], palette: list[str]) -> list[str]:
    """The colour of each name, by its position in the sorted list (distinct up to the palette's length)."""
    return [palette[i % len(palette)] for i in range(len(names))]


def embed_json(data: dict) -> str:
    """JSON safe to place inside a <script> element: every ``<`` written as the JSON escape ``\\u003c``, so no
    value can close the element or open a comment, and the text still parses as the same JSON."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def render_html(data: dict, plotly_js: str) -> str:
    """The whole dashboard page: styles, markup, inlined plotly.js, the data and the filtering script.

    The placeholders are filled in one pass, so a data value that looks like a placeholder stays a value.
    """
    fills = {
        "__TITLE__": TITLE,
        "__PAGE_TITLE__": page_title(data.get("data_through")),
        "__GENERATED__": data["generated_at"],
        "__PLOTLY_JS__": plotly_js.replace("</script", "<\\/script"),
        "__DASHBOARD_DATA__": embed_json(data),
        "__DASHBOARD_JS__": SCRIPT,
        "__TOP_TYPES__": str(TOP_TYPES),
        **{f"__CHANGE_{meaning.upper()}__": color for meaning, color in definitions.CHANGE_COLORS.items()},
    }
    return re.sub("|".join(map(re.escape, fills)), lambda found: fills[found.group(0)], PAGE)


def unreadable_query_layer(duckdb_path: str, error: duckdb.Error, serve: str) -> str:
    """Why the dashboard cannot read the query layer, and what to do, from DuckDB's error."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, duckdb.CatalogException | duckdb.BinderException):  # a view or column it lacks
        return (
            f"{duckdb_path} cannot serve the dashboard ({first_line}), as an older version built it: rebuild it "
            f"with {serve}."
        )
    if isinstance(error, duckdb.IOException) and "lock" in first_line:  # open read-write elsewhere
        return (
            f"{duckdb_path} is open for writing in another process ({first_line}): close it there (a duckdb shell, "
            "a notebook), or open it there read-only, then run again."
        )
    return (  # a damaged or unreadable file: the layer's own, or a table's Parquet file that DuckDB names
        f"{duckdb_path} cannot serve the dashboard ({first_line}): run again the stage that writes the file named, "
        f"then {serve}."
    )


def is_a_page(path: Path) -> bool:
    """True for a regular file that begins as an HTML page does (as every dashboard this script wrote)."""
    if not path.is_file():
        return False
    start = PAGE.split("\n", 1)[0].encode()  # <!DOCTYPE html>
    with path.open("rb") as file:
        return file.read(len(start)).lower() == start.lower()


def build_dashboard(duckdb_path: str, out_path: str) -> str:
    """Write the dashboard HTML from a lake.duckdb; returns the path written (the file appears whole or not at all)."""
    # the serve stage builds the query layer and then this page
    serve = lake_layout.rerun_command(os.path.abspath(duckdb_path), lake_layout.DUCKDB_FILE, "serve")
    if not os.path.isfile(duckdb_path):
        raise DashboardError(f"There is no query layer at {duckdb_path}; build it first: {serve}.")
    try:
        with duckdb.connect(duckdb_path, read_only=True) as connection:
            data = dashboard_data(connection)
    except duckdb.Error as error:
        raise DashboardError(unreadable_query_layer(duckdb_path, error, serve)) from None
    page = render_html(data, get_plotlyjs())
    target = Path(out_path)
    partial = target.with_name(target.name + ".partial")
    try:
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a folder")
        if target.exists() and not is_a_page(target):  # lake.duckdb given as --out, a device, someone's file
            raise FileExistsError(
                f"{target} is there and is not an HTML page: remove it or give another --out"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, target)
    except OSError as error:
        with contextlib.suppress(OSError):  # no half-written page left beside the target
            partial.unlink()
        raise DashboardError(f"Cannot write the dashboard to {out_path}: {error}.") from None
    log.info("Wrote %s (%d KB, %d months).", target, len(page) // 1024, len(data["dims"]["month"]))
    return str(target)


def build_parser() -> argparse.ArgumentParser:
    """The command line: --lake and --out."""
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lake",
        default=None,
        type=lake_layout.lake_argument,
        help="lake root (default $LAKE_ROOT or ./lake)",
    )
    parser.add_argument("--out", default=None, help="output HTML (default <lake>/dashboard/index.html)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write ``<lake>/dashboard/index.html`` from ``<lake>/lake.duckdb``.

    Parameters
    ----------
    argv
        ``--lake PATH`` (default ``$LAKE_ROOT`` or ``./lake``); ``--out PATH`` to write elsewhere.

    Returns
    -------
    int
        0 on success, 2 when the query layer is missing or incomplete.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    root = lake_layout.Lake.from_uri(args.lake)
    if root.is_s3:
        print("The local dashboard reads a local lake; use QuickSight for a lake on S3.", file=sys.stderr)
        return 2
    try:
        written = build_dashboard(root.duckdb, args.out or root.dashboard)
    except DashboardError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Dashboard: {written}")
    return 0


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__PAGE_TITLE__</title>
<style>
  body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f3f5f8; color: #1d2733; }
  header { background: #0b3a62; color: #fff; padding: 14px 24px; display: flex; align-items: baseline; gap: 24px; }
  header h1 { margin: 0; font-size: 24px; font-weight: 600; }
  header .generated { font-size: 12px; opacity: 0.8; margin-left: auto; }
  nav.tabs { display: flex; gap: 4px; padding: 0 24px; background: #0b3a62; }
  nav.tabs button { background: #24577f; color: #dfe9f2; border: 0; padding: 8px 18px; font-size: 14px;
    cursor: pointer; border-radius: 6px 6px 0 0; }
  nav.tabs button.active { background: #f3f5f8; color: #0b3a62; font-weight: 600; }
  /* One visible focus ring everywhere (keyboard focus only), white where it sits on the dark header. */
  :focus-visible { outline: 3px solid #1f5f99; outline-offset: 2px; }
  nav.tabs :focus-visible { outline-color: #fff; }
  .sheet { padding: 16px 24px; }
  .sheet[hidden] { display: none; }
  .controls { display: flex; flex-wrap: wrap; gap: 16px; background: #fff; padding: 12px 16px; border-radius: 8px;
    box-shadow: 0 1px 2px rgba(0,0,0,.08); margin-bottom: 16px; }
  .controls label { display: flex; flex-direction: column; font-size: 12px; color: #52606d; gap: 4px; }
  .controls select { min-width: 160px; max-width: 260px; padding: 4px; font-size: 13px; }
  .grid { display: grid; grid-template-columns: repeat(12, 1fr); gap: 16px; }
  .card { background: #fff; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); padding: 12px 16px; min-width: 0; }
  .card h2 { font-size: 14px; margin: 0 0 8px; color: #334e68; font-weight: 600; }
  .card-head { display: flex; flex-wrap: wrap; align-items: baseline; column-gap: 12px; }
  .card-head .slider { display: flex; align-items: center; gap: 6px; font-size: 12px; color: #52606d; margin-bottom: 8px; }
  .span-3 { grid-column: span 3; } .span-4 { grid-column: span 4; } .span-5 { grid-column: span 5; }
  .span-6 { grid-column: span 6; } .span-7 { grid-column: span 7; } .span-8 { grid-column: span 8; }
  .span-12 { grid-column: span 12; }
  .kpi .value { font-size: 34px; font-weight: 600; color: #0b3a62; }
  /* A change in the colour of what it means, the QuickSight KPIs' own: 5.4:1 (good), 6.6:1 (bad) on the cards. */
  .kpi .change { font-size: 13px; margin-top: 2px; color: __CHANGE_NEUTRAL__; }
  .kpi .change.good { color: __CHANGE_GOOD__; } .kpi .change.bad { color: __CHANGE_BAD__; }
  /* Muted text is #616e7c: 5.2:1 on the cards, 4.8:1 on the page (#7b8794 was 3.7 and 3.4, under WCAG's 4.5). */
  .kpi .period { font-size: 12px; color: #616e7c; }
  .chart { width: 100%; height: 340px; }
  .chart.spark { height: 70px; }
  .chart.tall { height: 440px; }
  .empty { color: #616e7c; font-style: italic; }
  .grid > .empty { grid-column: 1 / -1; }  /* the whole row, not one of twelve columns */
  footer { padding: 8px 24px 24px; font-size: 12px; color: #616e7c; }
  details.numbers { margin-top: 4px; font-size: 12px; }
  details.numbers summary { cursor: pointer; color: #1f5f99; width: max-content; }
  .table-wrap { max-height: 320px; overflow: auto; margin-top: 4px; }
  .table-wrap table { border-collapse: collapse; }
  .table-wrap th, .table-wrap td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #e4e7eb;
    white-space: nowrap; }
  .table-wrap thead th { position: sticky; top: 0; background: #fff; }
  .table-wrap th[scope=row] { text-align: left; font-weight: normal; }
  .series { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 6px; margin-top: 6px; font-size: 12px; }
  .series[hidden] { display: none; }
  .series-label { color: #616e7c; }
  /* A hidden series reads struck through, its swatch faded: not told by colour alone. The border is 3.7:1. */
  .series button { display: inline-flex; align-items: center; gap: 5px; font: inherit; color: #1d2733;
    background: #fff; border: 1px solid #7b8794; border-radius: 4px; padding: 2px 7px; cursor: pointer; }
  .series button[aria-pressed=false] { text-decoration: line-through; border-style: dashed; }
  .series .swatch { width: 10px; height: 10px; border-radius: 2px; flex: none; }
  .series button[aria-pressed=false] .swatch { opacity: 0.25; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
    white-space: nowrap; }
  /* On paper: dark text where the header's background is not printed, the shown sheet's name alone, no
     shadows, cards kept whole; a "Numbers" table prints when it is open. */
  @media print {
    body, header, nav.tabs, nav.tabs button.active { background: #fff; color: #1d2733; }
    header .generated { opacity: 1; }
    nav.tabs button:not(.active) { display: none; }
    .card, .controls { box-shadow: none; border: 1px solid #d0d7de; break-inside: avoid; }
    details.numbers:not([open]), .series { display: none; }
    .table-wrap { max-height: none; overflow: visible; }
  }
  /* A phone or a narrow window: one card per row, so no chart is squeezed to a third of the width. */
  @media (max-width: 760px) {
    header { flex-wrap: wrap; padding: 12px 16px; row-gap: 4px; }
    header .generated { margin-left: 0; }
    nav.tabs, .sheet, footer { padding-left: 12px; padding-right: 12px; }
    .grid > .card { grid-column: 1 / -1; }
    .controls select { min-width: 0; max-width: 100%; }
    /* room for the legend under the plot (layout() puts it there on a narrow page) */
    #chart-ontime-by-department, #chart-backlog { height: 560px; }
  }
</style>
<script>__PLOTLY_JS__</script>
</head>
<body>
<header><h1 id="dashboard-title">__TITLE__</h1>
  <span class="generated">Boston 311 service requests<span id="data-through"></span> &middot; generated __GENERATED__</span></header>
<nav class="tabs" role="tablist" aria-label="Sheets">
  <button type="button" id="tab-management" class="active" role="tab" aria-selected="true" aria-controls="sheet-management"
    tabindex="0">Management</button>
  <button type="button" id="tab-analytics" role="tab" aria-selected="false" aria-controls="sheet-analytics"
    tabindex="-1">Analytics</button>
</nav>

<main>
<section id="sheet-management" class="sheet" role="tabpanel" aria-labelledby="tab-management">
  <div class="controls">
    <label>Reason <select id="control-reason"></select></label>
    <label>Subject <select id="control-subject"></select></label>
    <label>Opening period from <select id="control-period-from"></select></label>
    <label>to <select id="control-period-to" aria-label="Opening period to"></select></label>
    <label>Source <select id="control-source"></select></label>
  </div>
  <div id="kpi-announcement" class="visually-hidden" role="status" aria-live="polite" aria-atomic="true"></div>
  <div class="grid">
    <div class="card kpi span-4" id="kpi-enquiries">
      <h2>Enquiries in <span class="kpi-month" id="kpi-enquiries-month"></span></h2>
      <div class="value" id="kpi-enquiries-value"></div>
      <div class="change" id="kpi-enquiries-change"></div>
      <div class="period" id="kpi-enquiries-spark-months"></div>
      <div class="chart spark" id="chart-enquiries-sparkline"></div>
    </div>
    <div class="card kpi span-4" id="kpi-delay">
      <h2>Average delay to close (days) in <span class="kpi-month" id="kpi-delay-month"></span></h2>
      <div class="value" id="kpi-delay-value"></div>
      <div class="change" id="kpi-delay-change"></div>
      <div class="period">closed cases opened that month, late or not<span id="kpi-delay-open"></span></div>
    </div>
    <div class="card kpi span-4" id="kpi-ontime">
      <h2>On-time rate in <span class="kpi-month" id="kpi-ontime-month"></span></h2>
      <div class="value" id="kpi-ontime-value"></div>
      <div class="change" id="kpi-ontime-change"></div>
      <div class="period">closed on time / closed and flagged on time or overdue by the City<span id="kpi-ontime-open"></span></div>
    </div>
    <div class="card span-5"><h2>Enquiry sources, <span class="period-range"></span></h2><div class="chart" id="chart-sources"></div></div>
    <div class="card span-7"><h2>Total enquiries and average delay per year, <span class="period-range"></span></h2><div class="chart" id="chart-yearly"></div></div>
    <div class="card span-6"><h2>Enquiries by subject, <span class="period-range"></span></h2><div class="chart tall" id="chart-subjects"></div></div>
    <div class="card span-6"><div class="card-head"><h2>Top <span id="top-n-label">10</span> reasons, <span class="period-range"></span></h2>
      <label class="slider">Reasons shown <input type="range" id="control-top-n" min="1" max="25" value="10"
        aria-valuetext="10 reasons"></label></div>
      <div class="chart tall" id="chart-top-reasons"></div></div>
  </div>
</section>

<section id="sheet-analytics" class="sheet" role="tabpanel" aria-labelledby="tab-analytics" hidden>
  <div class="controls">
    <label>Department <select id="control-department"></select></label>
    <label>Year (time to close, map) <select id="control-year"></select></label>
  </div>
  <div class="grid">
    <div class="card span-12"><h2>On-time rate by department and month opened (hover: cases behind each point)</h2><div class="chart" id="chart-ontime-by-department"></div></div>
    <div class="card span-6"><h2 id="chart-resolution-by-type-title">Hours to close by type, top __TOP_TYPES__ by closed cases (p50 and p90 of the cases closed so far), opened in <span id="resolution-year"></span></h2><div class="chart tall" id="chart-resolution-by-type" data-top-types="__TOP_TYPES__"></div></div>
    <div class="card span-6"><h2>Requests on a ~250 m grid, <span id="geo-year"></span>, all departments</h2><div class="chart tall" id="chart-geo-grid"></div></div>
    <div class="card span-12"><h2>Open backlog by department (end of week)</h2><div class="chart" id="chart-backlog"></div></div>
  </div>
</section>
</main>
<footer>Data: City of Boston 311 service requests (ODC PDDL), through the lake's Gold views; every month and year is
  the one a case was opened in, Boston time. Average delay = hours to close summed / closed cases with a duration / 24
  (time to close, late or not). What each number means and what to check before quoting it:
  <code>docs/analysts.md</code> in the project's repository.</footer>
<script type="application/json" id="dashboard-data">__DASHBOARD_DATA__</script>
<script>__DASHBOARD_JS__</script>
</body>
</html>
"""

SCRIPT = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
  var DIMS = DATA.dims;
  // showTips: plotly's tip on the first legend click ("Double-click on legend to isolate one trace") is grey on
  // grey below the page's own contrast floor (a row of toggle buttons shows and hides each series instead, below)
  var CONFIG = { displayModeBar: false, responsive: true, showTips: false };
  // The measures' two colours, at least 3:1 against the white plots (WCAG 1.4.11): blue 6.7:1, orange 4.0:1 (it was
  // #e07b24, 2.99:1). Blue against orange stays the pair colour-blind readers tell apart best.
  var BLUE = "#1f5f99", ORANGE = "#c8641c";
  var ALL = "";

  function byId(id) { return document.getElementById(id); }
  function fmtInt(n) { return Math.round(n).toLocaleString("en-US"); }
  var MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function monthLabel(m) {
    var parts = m.split("-");
    return MONTH_NAMES[Number(parts[1]) - 1] + " " + parts[0];
  }
  function dayLabel(d) {  // 2026-02-11 -> 11 Feb
    var parts = d.split("-");
    return Number(parts[2]) + " " + MONTH_NAMES[Number(parts[1]) - 1];
  }
  // A month the data stops inside says so wherever it is named as a period: "Feb 2026 (to 11 Feb)".
  function periodLabel(m) {
    return m === DATA.partial_month ? monthLabel(m) + " (to " + dayLabel(DATA.data_through) + ")" : monthLabel(m);
  }
  // A year the data stops inside says so too: "2026 (to 10 Feb)".
  function yearLabel(y) {
    var through = DATA.data_through;
    var partial = through && Number(through.slice(0, 4)) === y && through.slice(5) !== "12-31";
    return partial ? y + " (to " + dayLabel(through) + ")" : String(y);
  }
  // A year by its first and last months (YYYY-MM) the yearly lines sum: "2024" when January and December, else
  // "2026 (Jan)", "2011 (Jul–Dec)", and the day the data stops when its last month is partial: "2026 (Jan–Feb, to
  // 10 Feb)".
  function yearOfPeriodLabel(year, first, last) {
    var from = Number(first.slice(5)), to = Number(last.slice(5));
    var through = last === DATA.partial_month ? ", to " + dayLabel(DATA.data_through) : "";
    if (from === 1 && to === 12 && !through) { return year; }
    var months = MONTH_NAMES[from - 1] + (from === to ? "" : "–" + MONTH_NAMES[to - 1]);
    return year + " (" + months + through + ")";
  }
  // Whether the data stops inside the week starting on this Monday (YYYY-MM-DD), before its Sunday.
  function weekStopsInside(monday) {
    var sunday = new Date(monday + "T00:00:00Z");
    sunday.setUTCDate(sunday.getUTCDate() + 6);
    var through = DATA.data_through;
    return Boolean(through) && monday <= through && through < sunday.toISOString().slice(0, 10);
  }
  // plotly.js reads the text it draws (labels, legend, hover, annotations) as its own small HTML: <b>, <a href>,
  // <span style>, <br> and entities such as &amp; are rendered, not shown. Names come from the City's data, so each
  // one goes through plotText first: "<b>x</b>" or "&lt;" in a value is then drawn as written (plotly decodes the
  // entities back), and a value cannot draw a link or restyle a chart. A lone "&" ("Signs & Signals") stays as is.
  function plotText(text) {
    return String(text).replace(/&(?=#?[0-9A-Za-z]+;)/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  // A name back as written from the text plotly draws (plotText's reverse), for text the page shows itself.
  function writtenText(text) {
    return String(text).replace(/&(amp|lt|gt);/g, function (entity, name) {
      return { amp: "&", lt: "<", gt: ">" }[name];
    });
  }
  // Plot area of a chart with nothing to draw: one sentence instead of empty axes.
  function emptyLayout(text) {
    return { annotations: [{ text: plotText(text), showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5,
                             font: { size: 14, color: "#616e7c" } }],
             xaxis: { visible: false }, yaxis: { visible: false } };
  }
  // A phone or a narrow window (the page's own breakpoint): a legend beside the plot left it 64 px of a 334 px
  // chart and lay over its lines, so it goes under the plot.
  var NARROW = window.matchMedia("(max-width: 760px)");
  function layout(extra) {
    var base = { margin: { l: 50, r: 20, t: 10, b: 40 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
                 font: { size: 12 }, showlegend: false };
    for (var key in extra) { base[key] = extra[key]; }
    if (NARROW.matches && base.showlegend && !base.legend) {
      base.legend = { orientation: "h", x: 0, y: -0.08, yanchor: "top" };
    }
    return base;
  }
  function draw(id, traces, extraLayout) {
    Plotly.react(byId(id), traces, layout(extraLayout || {}), CONFIG);
    if (byId(id + "-series")) { showSeriesButtons(byId(id)); }
  }
  // A horizontal bar chart, one bar (or one group) per name. On a narrow page each name goes above its bars,
  // across the plot, cut to 48 characters (the hover and the Numbers table give it whole), and the chart is
  // 36 px high a name: beside the bars, the long names left a 390 px phone 54 to 94 px of plot.
  function drawBars(id, names, traces, extraLayout) {
    var narrow = NARROW.matches && names.length > 0;
    byId(id).style.height = narrow ? names.length * 36 + 80 + "px" : "";
    if (narrow) {
      var width = 0.5 / traces.length;
      traces.forEach(function (trace, i) { trace.width = width; trace.offset = -0.55 + i * width; });
      extraLayout.yaxis = { showticklabels: false };
      extraLayout.margin = { l: 10, r: 20, t: extraLayout.margin.t, b: 40 };
      extraLayout.annotations = names.map(function (name) {
        var shown = name.length > 48 ? name.slice(0, 47) + "\u2026" : name;
        return { text: plotText(shown), showarrow: false, x: 0, xref: "paper", xanchor: "left", xshift: 4,
                 y: plotText(name), yref: "y", yanchor: "bottom" };
      });
    }
    draw(id, traces, extraLayout);
  }

  // What a chart shows without the mouse: a one-sentence summary as its text alternative (role="img"), and
  // its numbers as a table under "Numbers" (plotly's hover is mouse-only), built when opened or redrawn open.
  var TABLES = {};
  function cardTitle(chart) { return chart.closest(".card").querySelector("h2").textContent; }
  function describe(id, summary, head, rows) {
    var chart = byId(id);
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-label", summary);
    var drawn = chart.querySelector(".svg-container");  // plotly's own SVG text is no summary: axis ticks, legend
    if (drawn) { drawn.setAttribute("aria-hidden", "true"); }
    TABLES[id] = { head: head, rows: rows };
    var details = byId(id + "-numbers");
    details.querySelector(".visually-hidden").textContent =
      " of " + cardTitle(chart);
    if (details.open) { fillTable(details, TABLES[id]); }
  }
  function fillTable(details, spec) {
    var old = details.querySelector(".table-wrap");
    if (old) { details.removeChild(old); }
    var wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.tabIndex = 0;  // a scrolling box the keyboard can scroll
    if (!spec.rows.length) {
      wrap.textContent = "Nothing to show for this selection.";
    } else {
      var table = document.createElement("table"), row = table.createTHead().insertRow();
      spec.head.forEach(function (text) {
        var th = document.createElement("th");
        th.scope = "col"; th.textContent = text; row.appendChild(th);
      });
      var body = table.createTBody();
      spec.rows.forEach(function (cells) {
        var tr = body.insertRow();
        cells.forEach(function (text, i) {
          var cell = document.createElement(i === 0 ? "th" : "td");
          if (i === 0) { cell.scope = "row"; }
          cell.textContent = text === null ? "\u2013" : String(text);
          tr.appendChild(cell);
        });
      });
      wrap.appendChild(table);
    }
    details.appendChild(wrap);
  }
  function addNumbers(chart) {
    var details = document.createElement("details");
    details.className = "numbers";
    details.id = chart.id + "-numbers";
    details.innerHTML = '<summary>Numbers<span class="visually-hidden"></span></summary>';
    details.addEventListener("toggle", function () {
      if (details.open && TABLES[chart.id]) { fillTable(details, TABLES[chart.id]); }
    });
    chart.parentNode.insertBefore(details, chart.nextSibling);
  }
  // Plotly's legend hides and shows a series on a mouse click only: a chart with a legend also gets a row of toggle
  // buttons, one per series (or donut slice), that do the same from the keyboard (Enter or Space) and follow the
  // legend when it is clicked. A redraw shows every series again, as plotly.react does with the legend. A series'
  // label is the text plotly draws (through plotText), its name the value as written, which the button shows.
  var SERIES_CHARTS = ["chart-sources", "chart-yearly", "chart-ontime-by-department", "chart-resolution-by-type",
                       "chart-backlog"];
  function isDonut(chart) { return chart.data.length === 1 && chart.data[0].type === "pie"; }
  function seriesOf(chart) {
    if (!chart.data || !chart.layout.showlegend) { return []; }  // nothing drawn, or a "nothing to draw" note
    if (isDonut(chart)) {
      var slices = chart.data[0], hidden = chart.layout.hiddenlabels || [];
      return slices.labels.map(function (label, i) {
        return { label: label, name: writtenText(label), colour: slices.marker.colors[i],
                 shown: hidden.indexOf(label) < 0 };
      });
    }
    return chart.data.map(function (trace) {
      return { label: trace.name, name: writtenText(trace.name),
               colour: trace.line ? trace.line.color : trace.marker.color, shown: trace.visible !== "legendonly" };
    });
  }
  function toggleSeries(chart, index) {
    var series = seriesOf(chart)[index], done;
    if (isDonut(chart)) {
      var hidden = (chart.layout.hiddenlabels || []).filter(function (label) { return label !== series.label; });
      done = Plotly.relayout(chart, { hiddenlabels: series.shown ? hidden.concat([series.label]) : hidden });
    } else {
      done = Plotly.restyle(chart, { visible: series.shown ? "legendonly" : true }, [index]);
    }
    done.then(function () { showSeriesButtons(chart); });
  }
  function addSeriesButtons(id) {
    var chart = byId(id), group = document.createElement("div");
    group.className = "series";
    group.id = id + "-series";
    group.setAttribute("role", "group");
    group.hidden = true;
    chart.parentNode.insertBefore(group, chart.nextSibling);
  }
  // The buttons are made again only when the series change, so a button keeps the focus while it is pressed.
  function showSeriesButtons(chart) {
    var group = byId(chart.id + "-series"), series = seriesOf(chart);
    var names = JSON.stringify(series.map(function (s) { return s.name; }));
    if (group.getAttribute("data-series") !== names) {
      group.setAttribute("data-series", names);
      group.innerHTML = '<span class="series-label" aria-hidden="true">Show:</span>';
      series.forEach(function (s, index) {
        var button = document.createElement("button"), swatch = document.createElement("span");
        button.type = "button";
        swatch.className = "swatch";
        swatch.setAttribute("aria-hidden", "true");
        swatch.style.background = s.colour;
        button.appendChild(swatch);
        button.appendChild(document.createTextNode(s.name));
        button.addEventListener("click", function () { toggleSeries(chart, index); });
        group.appendChild(button);
      });
    }
    if (!chart.hasAttribute("data-series-listening")) {  // a click on plotly's own legend
      chart.setAttribute("data-series-listening", "");
      chart.on("plotly_restyle", function () { showSeriesButtons(chart); });
      chart.on("plotly_relayout", function () { showSeriesButtons(chart); });
    }
    group.querySelectorAll("button").forEach(function (button, index) {
      button.setAttribute("aria-pressed", String(series[index].shown));
    });
    group.setAttribute("aria-label", "Series shown in " + cardTitle(chart));
    group.hidden = !series.length;
  }
  function fmt1(n) { return n === null ? null : n.toLocaleString("en-US", { maximumFractionDigits: 1 }); }
  function fmtPct(n) { return (n * 100).toFixed(1) + "%"; }
  // "highest 3,900 (Jul 2024), lowest 3,100 (Oct 2023)" over the values that are not null
  function extremes(labels, values, format) {
    var high = -1, low = -1;
    values.forEach(function (v, i) {
      if (v === null) { return; }
      if (high < 0 || v > values[high]) { high = i; }
      if (low < 0 || v < values[low]) { low = i; }
    });
    if (high < 0) { return "nothing to show"; }
    var say = function (i) { return format(values[i]) + " (" + labels[i] + ")"; };
    return high === low ? say(high) : "highest " + say(high) + ", lowest " + say(low);
  }
  function fillSelect(id, labels, allLabel, selected) {
    var select = byId(id);
    select.innerHTML = "";
    if (allLabel !== null) { select.add(new Option(allLabel, ALL)); }
    labels.forEach(function (label, index) { select.add(new Option(label, String(index))); });
    if (selected !== undefined) { select.value = String(selected); }
  }
  function chosen(id) { var v = byId(id).value; return v === ALL ? -1 : Number(v); }
  function sumBy(keys, values) {
    var totals = {};
    for (var i = 0; i < keys.length; i++) { totals[keys[i]] = (totals[keys[i]] || 0) + values[i]; }
    return totals;
  }
  // A change is coloured by what a rise or a fall of that KPI means (good, bad or neutral), not by its direction,
  // and says it in a word too ("better", "worse"), so the meaning does not rest on colour alone (WCAG 1.4.1).
  var CHANGE_WORDS = {good: "better", bad: "worse"};
  // A change as its tile shows it, to one decimal: one that reads +0.0 is no change, neither better nor worse.
  function asShown(change) { return Number(change.toFixed(1)); }
  function setKpi(name, value, text, change, changeText) {
    var valueEl = byId("kpi-" + name + "-value"), changeEl = byId("kpi-" + name + "-change");
    var means = change === null || change === 0 ? null : DATA.kpi_change_means[name][change > 0 ? 0 : 1];
    valueEl.textContent = text;
    valueEl.setAttribute("data-value", value === null ? "" : String(value));
    changeEl.textContent = changeText + (CHANGE_WORDS[means] ? " (" + CHANGE_WORDS[means] + ")" : "");
    changeEl.className = "change" + (means ? " " + means : "");
  }
  // What a screen reader hears when a control changes the KPIs: one polite sentence for the three tiles, in a
  // live region of its own (the tiles are not live, so nothing is said twice; the first drawing says nothing).
  var KPI_SUMMARY = "";
  function kpiSaid(name, label, unit) {
    var value = byId("kpi-" + name + "-value"), change = byId("kpi-" + name + "-change").textContent;
    return value.getAttribute("data-value") === "" ? label + ": " + change :
      label + " " + value.textContent + unit + ", " + change;
  }
  function renderManagementAndAnnounce() {
    renderManagement();
    byId("kpi-announcement").textContent = KPI_SUMMARY;
  }
  function ratio(numerator, denominator) { return denominator > 0 ? numerator / denominator : null; }

  // ---- Management sheet -------------------------------------------------------------------------
  var M = DATA.management, MONTHS = DIMS.month;
  // A month between the extracts the lake holds has no rows at all: drawn as a gap, not as 0 enquiries.
  var HAS_DATA = MONTHS.map(function () { return false; });
  for (var h = 0; h < M.month.length; h++) { HAS_DATA[M.month[h]] = true; }

  function managementRows() {
    var reason = chosen("control-reason"), subject = chosen("control-subject"), source = chosen("control-source");
    var from = Number(byId("control-period-from").value), to = Number(byId("control-period-to").value);
    if (from > to) {  // read a reversed period the right way round, and show it so in the controls
      var swap = from; from = to; to = swap;
      byId("control-period-from").value = String(from); byId("control-period-to").value = String(to);
    }
    var rows = [];
    for (var i = 0; i < M.month.length; i++) {
      if (reason >= 0 && M.reason[i] !== reason) { continue; }
      if (subject >= 0 && M.subject[i] !== subject) { continue; }
      if (source >= 0 && M.source[i] !== source) { continue; }
      if (M.month[i] < from || M.month[i] > to) { continue; }
      rows.push(i);
    }
    return { rows: rows, from: from, to: to };
  }

  function monthTotals(rows) {
    var totals = MONTHS.map(function () {
      return { opened: 0, onTime: 0, late: 0, hours: 0, withDuration: 0, open: 0 };
    });
    rows.forEach(function (i) {
      var t = totals[M.month[i]];
      t.opened += M.requests_opened[i]; t.onTime += M.closed_on_time[i]; t.late += M.closed_late[i];
      t.hours += M.sum_hours_to_close[i]; t.withDuration += M.closed_with_duration[i]; t.open += M.still_open[i];
    });
    return totals;
  }

  function renderKpis(selection, totals) {
    var latest = selection.to, previous = latest - 1;
    var now = totals[latest], before = previous >= 0 ? totals[previous] : null;
    ["enquiries", "delay", "ontime"].forEach(function (name) {
      byId("kpi-" + name + "-month").textContent = periodLabel(MONTHS[latest]);
    });
    // Why a comparison is missing: no month before, a month the lake has no data for, or nothing in it.
    function noComparison(what) {
      if (!before) { return "no month before to compare"; }
      if (!HAS_DATA[previous]) { return "no data for " + monthLabel(MONTHS[previous]) + " to compare"; }
      return "no " + what + " in " + monthLabel(MONTHS[previous]) + " to compare with";
    }
    if (!HAS_DATA[latest]) {
      var none = "no data in the lake for " + monthLabel(MONTHS[latest]);
      setKpi("enquiries", null, "–", null, none);
      setKpi("delay", null, "–", null, none);
      setKpi("ontime", null, "–", null, none);
    } else {
      var change = before && before.opened > 0 ? asShown((now.opened - before.opened) / before.opened * 100) : null;
      setKpi("enquiries", now.opened, fmtInt(now.opened), change,
        change === null ? noComparison("enquiries") :
        (change >= 0 ? "+" : "") + change.toFixed(1) + "% vs " + monthLabel(MONTHS[previous]) + " (" + fmtInt(before.opened) + ")");

      var delay = ratio(now.hours, now.withDuration * 24);
      var delayBefore = before ? ratio(before.hours, before.withDuration * 24) : null;
      var delayChange = delay !== null && delayBefore !== null ? asShown(delay - delayBefore) : null;
      setKpi("delay", delay, delay === null ? "–" : delay.toFixed(1), delayChange,
        delay === null ? "no closed cases" : delayChange === null ? noComparison("closed cases") :
        (delayChange >= 0 ? "+" : "") + delayChange.toFixed(1) + " days vs " + monthLabel(MONTHS[previous]));

      var onTime = ratio(now.onTime, now.onTime + now.late);
      var onTimeBefore = before ? ratio(before.onTime, before.onTime + before.late) : null;
      var points = onTime !== null && onTimeBefore !== null ? asShown((onTime - onTimeBefore) * 100) : null;
      setKpi("ontime", onTime, onTime === null ? "–" : (onTime * 100).toFixed(1) + "%", points,
        onTime === null ? "no closed cases flagged on time or overdue" : points === null ? noComparison("closed cases") :
        (points >= 0 ? "+" : "") + points.toFixed(1) + " pts vs " + monthLabel(MONTHS[previous]));
    }
    KPI_SUMMARY = HAS_DATA[latest] ? periodLabel(MONTHS[latest]) + ": " + [kpiSaid("enquiries", "enquiries", ""),
      kpiSaid("delay", "average delay", " days"), kpiSaid("ontime", "on-time rate", "")].join("; ") :
      periodLabel(MONTHS[latest]) + ": no data in the lake";
    // Delay and on-time rate count closed cases only: a recent month's slow cases have not closed yet.
    var stillOpen = HAS_DATA[latest] && now.open > 0 ?
      " \u2014 " + fmtInt(now.open) + " of " + fmtInt(now.opened) + " still open, so it can still change" : "";
    byId("kpi-delay-open").textContent = stillOpen;
    byId("kpi-ontime-open").textContent = stillOpen;

    var first = Math.max(selection.from, latest - 11), x = [], y = [];
    for (var m = first; m <= latest; m++) { x.push(MONTHS[m] + "-01"); y.push(HAS_DATA[m] ? totals[m].opened : null); }
    draw("chart-enquiries-sparkline", [{ type: "scatter", mode: "lines+markers", x: x, y: y, line: { color: BLUE },
      marker: { size: 4 }, hovertemplate: "%{x|%b %Y}: %{y:,}<extra></extra>" }],
      { margin: { l: 0, r: 0, t: 4, b: 4 }, xaxis: { visible: false }, yaxis: { visible: false } });
    var sparkMonths = x.map(function (d) { return periodLabel(d.slice(0, 7)); });
    // The line's months, said above it: the last 12 of the period, or all of a shorter one.
    byId("kpi-enquiries-spark-months").textContent = "per month, the " + x.length +
      (x.length === 1 ? " month" : " months") + " to " + sparkMonths[sparkMonths.length - 1];
    describe("chart-enquiries-sparkline", "Enquiries per month, " + sparkMonths[0] + " \u2013 " +
      sparkMonths[sparkMonths.length - 1] + ": " + extremes(sparkMonths, y, fmtInt),
      ["Month", "Enquiries"], sparkMonths.map(function (m, i) { return [m, y[i] === null ? "no data" : fmtInt(y[i])]; }));
  }

  // A bar chart of enquiries drawn smallest first (at the bottom): said and tabled largest first.
  function describeBars(id, title, what, names, keys, totals) {
    var labels = keys.map(function (k) { return names[k]; }).reverse();
    var values = keys.map(function (k) { return totals[k]; }).reverse();
    describe(id, title + ": " + extremes(labels, values, fmtInt), [what, "Enquiries"],
      labels.map(function (label, i) { return [label, fmtInt(values[i])]; }));
  }

  function renderManagement() {
    var selection = managementRows(), rows = selection.rows;
    var totals = monthTotals(rows);
    renderKpis(selection, totals);
    var range = monthLabel(MONTHS[selection.from]) + " \u2013 " + periodLabel(MONTHS[selection.to]);
    document.querySelectorAll("#sheet-management .period-range").forEach(function (el) { el.textContent = range; });
    var opened = rows.map(function (i) { return M.requests_opened[i]; });

    var bySource = sumBy(rows.map(function (i) { return M.source[i]; }), opened);
    var sourceKeys = Object.keys(bySource).sort(function (a, b) { return bySource[b] - bySource[a]; });
    // Percent labels inside the slices, hidden where a slice is too thin to hold one (they overlapped).
    draw("chart-sources", [{ type: "pie", hole: 0.55, sort: false, textinfo: "percent", textposition: "inside",
      labels: sourceKeys.map(function (k) { return plotText(DIMS.source[k]); }),
      marker: { colors: sourceKeys.map(function (k) { return DATA.source_colors[k]; }) },
      hovertemplate: "%{label}: %{value:,} enquiries (%{percent})<extra></extra>",
      values: sourceKeys.map(function (k) { return bySource[k]; }) }],
      { showlegend: true, legend: { orientation: "v", x: 1, y: 0.5 }, margin: { l: 10, r: 10, t: 10, b: 10 },
        uniformtext: { minsize: 10, mode: "hide" } });
    var sourceTotal = sourceKeys.reduce(function (sum, k) { return sum + bySource[k]; }, 0);
    var sourceRows = sourceKeys.map(function (k) {
      return [DIMS.source[k], fmtInt(bySource[k]), fmtPct(bySource[k] / sourceTotal)];
    });
    describe("chart-sources", sourceRows.length ? "Enquiries by source, " + range + ": " +
      sourceRows.map(function (r) { return r[0] + " " + r[2]; }).join(", ") : "No enquiries in " + range,
      ["Source", "Enquiries", "Share"], sourceRows);

    // A year with no data in the lake is a gap in both lines, not 0 enquiries.
    var years = {};
    for (var m = selection.from; m <= selection.to; m++) {
      var year = MONTHS[m].slice(0, 4), t = totals[m];
      var y = years[year] || (years[year] = { opened: 0, hours: 0, withDuration: 0, first: MONTHS[m],
                                              firstData: null, lastData: null });
      y.opened += t.opened; y.hours += t.hours; y.withDuration += t.withDuration;
      y.last = MONTHS[m];
      if (HAS_DATA[m]) { y.firstData = y.firstData || MONTHS[m]; y.lastData = MONTHS[m]; }
    }
    var yearKeys = Object.keys(years).sort();
    // A year says which months it sums: those of the period the lake has data for, first to last ("2025 (Aug–Dec)"),
    // or the period's for a year without data. Read as whole years, the default period's January 2026 was a fall
    // from 4,134 to 1,075 enquiries on the demo lake, and its 2025, whose data starts in August, one too.
    var yearLabels = yearKeys.map(function (k) {
      var y = years[k];
      return y.firstData ? yearOfPeriodLabel(k, y.firstData, y.lastData) : yearOfPeriodLabel(k, y.first, y.last);
    });
    var yearOpened = yearKeys.map(function (k) { return years[k].firstData ? years[k].opened : null; });
    var yearDelay = yearKeys.map(function (k) { return ratio(years[k].hours, years[k].withDuration * 24); });
    draw("chart-yearly", [
      { type: "scatter", mode: "lines+markers", name: "Enquiries", x: yearLabels, line: { color: BLUE },
        hovertemplate: "%{x}: %{y:,} enquiries<extra></extra>", y: yearOpened },
      { type: "scatter", mode: "lines+markers", name: "Average delay (days)", x: yearLabels, yaxis: "y2",
        // open diamonds: this trace's axis is drawn above the enquiries', and a filled marker hid a dot it met
        line: { color: ORANGE, dash: "dot" }, marker: { symbol: "diamond-open", size: 11, line: { width: 2 } },
        hovertemplate: "%{x}: %{y:.1f} days on average<extra></extra>", y: yearDelay }],
      { showlegend: true, legend: { orientation: "h", y: 1.12 }, xaxis: { type: "category", automargin: true },
        yaxis: { title: { text: "enquiries" }, rangemode: "tozero" },
        // ticks of its own (plotly.js syncs an overlaying axis to the other's gridlines: 0.18, 0.36 … days), and
        // more room above its top than the enquiries' axis has: each axis ranged to its own top put both series'
        // highest points on one pixel (a single year's two points always), the delay's marker hiding the other
        yaxis2: { title: { text: "days" }, overlaying: "y", side: "right", showgrid: false, tickmode: "auto",
                  range: [0, 1.45 * Math.max.apply(null, yearDelay.concat([1e-9]))] },
        margin: { l: 60, r: 60, t: 30, b: 40 } });
    describe("chart-yearly", "Enquiries per year, " + range + ": " + extremes(yearLabels, yearOpened, fmtInt) +
      "; average delay: " + extremes(yearLabels, yearDelay, function (v) { return fmt1(v) + " days"; }),
      ["Year", "Enquiries", "Average delay (days)"], yearLabels.map(function (label, i) {
        return [label, yearOpened[i] === null ? "no data" : fmtInt(yearOpened[i]), fmt1(yearDelay[i])];
      }));

    var bySubject = sumBy(rows.map(function (i) { return M.subject[i]; }), opened);
    var subjectKeys = Object.keys(bySubject).sort(function (a, b) { return bySubject[a] - bySubject[b]; });
    drawBars("chart-subjects", subjectKeys.map(function (k) { return DIMS.subject[k]; }), [{ type: "bar",
      orientation: "h", marker: { color: BLUE },
      hovertemplate: "%{y}: %{x:,} enquiries<extra></extra>",
      y: subjectKeys.map(function (k) { return plotText(DIMS.subject[k]); }),
      x: subjectKeys.map(function (k) { return bySubject[k]; }) }],
      { margin: { l: 220, r: 20, t: 10, b: 40 }, yaxis: { automargin: true } });
    describeBars("chart-subjects", "Enquiries by subject, " + range, "Subject", DIMS.subject, subjectKeys, bySubject);

    var topN = Number(byId("control-top-n").value);
    byId("top-n-label").textContent = String(topN);
    byId("control-top-n").setAttribute("aria-valuetext", topN + (topN === 1 ? " reason" : " reasons"));
    var byReason = sumBy(rows.map(function (i) { return M.reason[i]; }), opened);
    var reasonKeys = Object.keys(byReason).sort(function (a, b) { return byReason[b] - byReason[a]; })
      .slice(0, topN).reverse();
    drawBars("chart-top-reasons", reasonKeys.map(function (k) { return DIMS.reason[k]; }), [{ type: "bar",
      orientation: "h", marker: { color: ORANGE },
      hovertemplate: "%{y}: %{x:,} enquiries<extra></extra>",
      y: reasonKeys.map(function (k) { return plotText(DIMS.reason[k]); }),
      x: reasonKeys.map(function (k) { return byReason[k]; }) }],
      { margin: { l: 220, r: 20, t: 10, b: 40 }, yaxis: { automargin: true } });
    describeBars("chart-top-reasons", "Enquiries of the top " + topN + " reasons, " + range, "Reason", DIMS.reason,
      reasonKeys, byReason);
  }

  // ---- Analytics sheet --------------------------------------------------------------------------
  function renderAnalytics() {
    var department = chosen("control-department"), year = Number(byId("control-year").value);
    // A lake with monthly data but no closed case with a duration and no coordinates offers no year.
    var inYear = DATA.years.length ? yearLabel(year) : "any year";
    var inDepartment = department >= 0 ? "for " + DIMS.department[department] : "in any department";

    // One point per month of the data, null where nothing closed, so a line breaks over gaps.
    // The hover gives the cases behind each rate: a month with one closed case reads 0% or 100%.
    var O = DATA.ontime, lines = {}, cases = {};
    var monthDates = MONTHS.map(function (m) { return m + "-01"; });
    for (var i = 0; i < O.month.length; i++) {
      if (department >= 0 && O.department[i] !== department) { continue; }
      var judged = O.closed_on_time[i] + O.closed_late[i];
      if (judged === 0) { continue; }
      var d = O.department[i];
      if (!lines[d]) {
        lines[d] = MONTHS.map(function () { return null; });
        cases[d] = MONTHS.map(function () { return [0, 0]; });
      }
      lines[d][O.month[i]] = O.closed_on_time[i] / judged;
      cases[d][O.month[i]] = [O.closed_on_time[i], judged];
    }
    var ontimeTraces = Object.keys(lines).map(function (d) {
      return { type: "scatter", mode: "lines+markers", marker: { size: 4, color: DATA.department_colors[d] },
               line: { color: DATA.department_colors[d], dash: DATA.department_dashes[d] }, name: plotText(DIMS.department[d]),
               x: monthDates, y: lines[d], connectgaps: false, customdata: cases[d],
               hovertemplate: "%{x|%b %Y}: %{y:.0%} on time (%{customdata[0]:,} of %{customdata[1]:,} closed " +
                 "and flagged)<extra>%{fullData.name}</extra>" };
    });
    var noOntime = "No closed cases flagged on time or overdue " + inDepartment;
    draw("chart-ontime-by-department", ontimeTraces, ontimeTraces.length ?
      { showlegend: true, yaxis: { tickformat: ".0%", range: [0, 1.05] }, margin: { l: 50, r: 20, t: 10, b: 40 } } :
      emptyLayout(noOntime));
    var ontimeDepartments = Object.keys(lines), ontimeRows = [];
    MONTHS.forEach(function (month, m) {
      var cells = ontimeDepartments.map(function (d) {
        return lines[d][m] === null ? null :
          fmtPct(lines[d][m]) + " (" + fmtInt(cases[d][m][0]) + " of " + fmtInt(cases[d][m][1]) + ")";
      });
      if (cells.some(function (c) { return c !== null; })) { ontimeRows.push([monthLabel(month)].concat(cells)); }
    });
    describe("chart-ontime-by-department", ontimeRows.length ? "On-time rate by month opened, one line for each of " +
      ontimeDepartments.length + " departments (" + ontimeDepartments.map(function (d) { return DIMS.department[d]; })
        .join(", ") + "), " + ontimeRows[0][0] + " \u2013 " + ontimeRows[ontimeRows.length - 1][0] : noOntime,
      ["Month opened"].concat(ontimeDepartments.map(function (d) {
        return DIMS.department[d] + " on time (of closed and flagged)";
      })), ontimeRows);

    var R = DATA.resolution, types = [];
    for (var r = 0; r < R.year.length; r++) {
      if (R.year[r] !== year) { continue; }
      if (department >= 0 && R.department[r] !== department) { continue; }
      if (R.p50_hours[r] === null) { continue; }  // no closed case of the group has a duration: no bar to draw
      types.push(r);
    }
    byId("resolution-year").textContent = inYear;
    types.sort(function (a, b) { return R.closed_cases[b] - R.closed_cases[a]; });
    types = types.slice(0, Number(byId("chart-resolution-by-type").dataset.topTypes)).reverse();  // TOP_TYPES
    var typeLabels = types.map(function (r) { return DIMS.type[R.type[r]] + " (" + DIMS.department[R.department[r]] + ")"; });
    // The hover names the cases the percentiles are over: the closed cases with a duration (a case closed by
    // status with no close time has none); a Gold written before closed_with_duration existed reads it as null.
    var casesBehind = types.map(function (r) {
      var closed = R.closed_cases[r], timed = R.closed_with_duration[r];
      if (timed === null) { return fmtInt(closed) + " closed cases; how many have a duration: rerun Gold"; }
      return timed === closed ? fmtInt(closed) + " closed cases" :
        fmtInt(timed) + " closed cases with a duration, of " + fmtInt(closed) + " closed";
    });
    var hoursHover = "%{x:,.1f} h (%{customdata})<extra>%{fullData.name}</extra>";
    drawBars("chart-resolution-by-type", typeLabels, [
      { type: "bar", orientation: "h", name: "p50 hours", marker: { color: BLUE }, y: typeLabels.map(plotText),
        customdata: casesBehind, hovertemplate: hoursHover, x: types.map(function (r) { return R.p50_hours[r]; }) },
      { type: "bar", orientation: "h", name: "p90 hours", marker: { color: ORANGE }, y: typeLabels.map(plotText),
        customdata: casesBehind, hovertemplate: hoursHover, x: types.map(function (r) { return R.p90_hours[r]; }) }],
      types.length ? { barmode: "group", showlegend: true, legend: { orientation: "h", y: 1.08 },
        margin: { l: 260, r: 20, t: 30, b: 40 }, yaxis: { automargin: true }, xaxis: { title: { text: "hours" } } } :
      emptyLayout("No closed cases with a duration " + inDepartment + " in " + inYear));
    var typeRows = types.map(function (r, i) {
      var timed = R.closed_with_duration[r];
      return [typeLabels[i], fmtInt(R.closed_cases[r]), timed === null ? "unknown" : fmtInt(timed),
              fmt1(R.p50_hours[r]), fmt1(R.p90_hours[r])];
    }).reverse();
    describe("chart-resolution-by-type", typeRows.length ? "Hours to close, p50 and p90, of the " + typeRows.length +
      " types with the most closed cases " + inDepartment + ", opened in " + inYear + "; the most: " +
      typeRows[0][0] + ", " + typeRows[0][1] + " closed, p50 " + typeRows[0][3] + " h, p90 " + typeRows[0][4] + " h" :
      "No closed cases with a duration " + inDepartment + " in " + inYear,
      ["Type (department)", "Closed cases", "With a duration", "p50 hours", "p90 hours"], typeRows);

    byId("geo-year").textContent = inYear;
    var G = DATA.geo, lat = [], lon = [], count = [];
    for (var g = 0; g < G.year.length; g++) {
      if (G.year[g] !== year) { continue; }
      lat.push(G.cell_lat[g]); lon.push(G.cell_lon[g]); count.push(G.requests[g]);
    }
    var biggest = Math.max.apply(null, count.concat([1]));
    draw("chart-geo-grid", [{ type: "scatter", mode: "markers", x: lon, y: lat,
      marker: { size: count.map(function (c) { return 4 + 16 * Math.sqrt(c / biggest); }), color: count,
                colorscale: DATA.map_colorscale, showscale: true, opacity: 0.8,
                colorbar: { title: { text: "requests" } } },
      text: count, hovertemplate: "%{y:.4f}, %{x:.4f}: %{text:,} requests<extra></extra>" }],
      count.length ? { xaxis: { title: { text: "longitude" } },
        yaxis: { title: { text: "latitude" }, scaleanchor: "x", scaleratio: 1.35 }, margin: { l: 60, r: 20, t: 10, b: 40 } } :
      emptyLayout("No requests with trusted coordinates in " + inYear));
    var cells = count.map(function (c, i) { return i; }).sort(function (a, b) { return count[b] - count[a]; });
    describe("chart-geo-grid", cells.length ? "Requests on a ~250 m grid in " + inYear + ": " + fmtInt(cells.length) +
      " cells; the busiest, at latitude " + lat[cells[0]] + ", longitude " + lon[cells[0]] + ", has " +
      fmtInt(count[cells[0]]) + " requests" : "No requests with trusted coordinates in " + inYear,
      ["Latitude", "Longitude", "Requests"], cells.map(function (i) { return [lat[i], lon[i], fmtInt(count[i])]; }));

    var B = DATA.backlog, weeks = {};
    for (var w = 0; w < B.week_start.length; w++) {
      if (department >= 0 && B.department[w] !== department) { continue; }
      var series = weeks[B.department[w]] || (weeks[B.department[w]] = { x: [], y: [], aged: [] });
      var week = DIMS.week_start[B.week_start[w]];
      series.x.push(week);
      series.y.push(B.open_cases[w]);
      series.aged.push([B.open_over_1y[w], weekStopsInside(week) ? "when the data stops, " + dayLabel(DATA.data_through) :
                        "at its end"]);
    }
    var backlogTraces = Object.keys(weeks).map(function (d) {
      // The hover says how many of the open cases are a year old or more (cases the City never closed), and, for the
      // week the data stops inside, that its count is of that day: the week has not ended.
      return { type: "scatter", mode: "lines", name: plotText(DIMS.department[d]), x: weeks[d].x, y: weeks[d].y,
               line: { color: DATA.department_colors[d], dash: DATA.department_dashes[d] }, customdata: weeks[d].aged,
               hovertemplate: "week of %{x|%d %b %Y}: %{y:,} open %{customdata[1]}, %{customdata[0]:,} of them a year " +
                 "or more<extra>%{fullData.name}</extra>" };
    });
    draw("chart-backlog", backlogTraces, backlogTraces.length ?
      { showlegend: true, yaxis: { rangemode: "tozero", title: { text: "open cases" } } } :
      emptyLayout("No open backlog " + inDepartment));
    var backlogDepartments = Object.keys(weeks), byWeek = {};
    backlogDepartments.forEach(function (d, column) {
      weeks[d].x.forEach(function (week, i) {
        var row = byWeek[week] || (byWeek[week] = backlogDepartments.map(function () { return null; }));
        row[column] = fmtInt(weeks[d].y[i]) + " (" + fmtInt(weeks[d].aged[i][0]) + ")";
      });
    });
    var backlogWeeks = Object.keys(byWeek).sort();
    var weekLabel = function (w) {  // 2024-01-08 -> 8 Jan 2024; the week the data stops inside: 9 Feb 2026 (to 10 Feb)
      return dayLabel(w) + " " + w.slice(0, 4) + (weekStopsInside(w) ? " (to " + dayLabel(DATA.data_through) + ")" : "");
    };
    describe("chart-backlog", backlogWeeks.length ? "Open cases at the end of each week, one line for each of " +
      backlogDepartments.length + " departments, weeks of " + weekLabel(backlogWeeks[0]) + " \u2013 " +
      weekLabel(backlogWeeks[backlogWeeks.length - 1]) + "; that last week: " + backlogDepartments.map(function (d) {
        var i = weeks[d].x.length - 1;
        return DIMS.department[d] + " " + (weeks[d].x[i] === backlogWeeks[backlogWeeks.length - 1] ?
          fmtInt(weeks[d].y[i]) : "none");
      }).join(", ") : "No open backlog " + inDepartment,
      ["Week starting"].concat(backlogDepartments.map(function (d) {
        return DIMS.department[d] + " open (a year or more)";
      })), backlogWeeks.map(function (week) { return [weekLabel(week)].concat(byWeek[week]); }));
  }

  // ---- controls and tabs ------------------------------------------------------------------------
  function setUp() {
    document.querySelectorAll(".chart").forEach(addNumbers);
    SERIES_CHARTS.forEach(addSeriesButtons);
    // The period ends with the last complete month: a partial month against a whole one is no comparison.
    var last = MONTHS.length - 1;
    if (MONTHS[last] === DATA.partial_month && last > 0) { last -= 1; }
    if (DATA.data_through) {
      var through = DATA.data_through.split("-");
      byId("data-through").textContent = " \u00b7 data through " + dayLabel(DATA.data_through) + " " + through[0];
    }
    fillSelect("control-reason", DIMS.reason, "All reasons");
    fillSelect("control-subject", DIMS.subject, "All subjects");
    fillSelect("control-source", DIMS.source, "All sources");
    fillSelect("control-period-from", MONTHS.map(periodLabel), null, 0);
    fillSelect("control-period-to", MONTHS.map(periodLabel), null, last);
    fillSelect("control-department", DIMS.department, "All departments");
    var yearSelect = byId("control-year");
    DATA.years.forEach(function (y) { yearSelect.add(new Option(String(y), String(y))); });
    if (DATA.years.length) { yearSelect.value = String(DATA.years[DATA.years.length - 1]); }

    ["control-reason", "control-subject", "control-source", "control-period-from", "control-period-to"]
      .forEach(function (id) { byId(id).addEventListener("change", renderManagementAndAnnounce); });
    byId("control-top-n").addEventListener("input", renderManagement);  // the KPIs do not count reasons
    ["control-department", "control-year"].forEach(function (id) {
      byId(id).addEventListener("change", renderAnalytics);
    });
    // the legends move under the plots, the bar charts' names above their bars, or back
    NARROW.addEventListener("change", function () { renderManagement(); renderAnalytics(); });
  }

  function setUpTabs() {
    // The WAI-ARIA tabs pattern: the selected tab alone is in the Tab order (roving tabindex); Left/Right
    // move to the previous/next tab (wrapping), Home/End to the first/last, and select it as they go.
    var tabs = Array.prototype.slice.call(document.querySelectorAll("nav.tabs [role=tab]"));
    function selectTab(button) {
      tabs.forEach(function (tab) {
        var selected = tab === button;
        tab.classList.toggle("active", selected);
        tab.setAttribute("aria-selected", String(selected));
        tab.tabIndex = selected ? 0 : -1;
        byId(tab.getAttribute("aria-controls")).hidden = !selected;
      });
      byId(button.getAttribute("aria-controls")).querySelectorAll(".js-plotly-plot").forEach(function (div) {
        Plotly.Plots.resize(div);
      });
    }
    tabs.forEach(function (button, index) {
      button.addEventListener("click", function () { selectTab(button); });
      button.addEventListener("keydown", function (event) {
        var next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: tabs.length - 1 }[event.key];
        if (next === undefined) { return; }
        event.preventDefault();
        var tab = tabs[(next + tabs.length) % tabs.length];
        selectTab(tab);
        tab.focus();
      });
    });
  }

  // Printing lays the page out at the paper's width, but plotly keeps each chart at the window's: the charts
  // of the shown sheet are redrawn at their width on paper, and again at the window's after printing.
  window.matchMedia("print").addEventListener("change", function (event) {
    document.querySelectorAll(".sheet:not([hidden]) .js-plotly-plot").forEach(function (div) {
      if (event.matches) {
        Plotly.relayout(div, { width: div.clientWidth });
      } else {
        Plotly.relayout(div, { width: null }).then(function () { Plotly.Plots.resize(div); });
      }
    });
  });

  setUpTabs();  // an empty lake's page has both sheets too, each saying so
  if (!MONTHS.length) {
    document.querySelectorAll(".sheet .grid").forEach(function (grid) {
      grid.innerHTML = '<p class="empty">No Gold data in this lake yet: run the pipeline, then rebuild the dashboard.</p>';
    });
    return;
  }
  setUp();
  renderManagement();
  renderAnalytics();
  document.body.setAttribute("data-ready", "true");
})();
"""


if __name__ == "__main__":
    sys.exit(main())
