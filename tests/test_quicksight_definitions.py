"""The QuickSight request bodies: in sync with their JSON, valid for the API model, faithful to the views."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import duckdb
import pytest

import athena_sql
import definitions
import local_lake
from serving_helpers import write_small_lake

TARGET = definitions.PLACEHOLDER_TARGET


# DuckDB type of a view column -> the QuickSight input type a SPICE dataset gives it.
QUICKSIGHT_TYPE = {
    "DATE": "DATETIME",
    "TIMESTAMP": "DATETIME",
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "DOUBLE": "DECIMAL",
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
}


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The serving engineer's tiny lake, with the Athena views built over it in DuckDB."""
    root = tmp_path_factory.mktemp("qs_lake")
    silver, gold = write_small_lake(root)
    database = root / "lake.duckdb"
    local_lake.build_local_query_layer(str(database), str(silver), str(gold))
    connection = duckdb.connect(str(database), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def view_columns(small_lake: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Each view's columns and DuckDB types, as the views' SQL produces them."""
    return {
        view: {name: kind for name, kind, *_ in small_lake.execute(f'DESCRIBE "{view}"').fetchall()}
        for view in athena_sql.view_names()
    }


def columns_by_dataset(view_columns: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """DataSetIdentifier -> the columns of its view."""
    return {spec.identifier: set(view_columns[spec.view]) for spec in definitions.DATASETS}


def visuals_by_id(definition: dict) -> dict[str, dict]:
    """Every visual of the definition, by VisualId (value: the inner visual, e.g. the KPIVisual body)."""
    return {
        definitions.visual_id_of(visual): next(iter(visual.values()))
        for sheet in definition["Sheets"]
        for visual in sheet["Visuals"]
    }


def test_committed_json_is_what_the_builder_writes(tmp_path: Path) -> None:
    written = definitions.write_definitions(tmp_path)
    committed = sorted(path.name for path in definitions.DEFINITIONS_DIR.glob("*.json"))
    assert committed == sorted(path.name for path in written), "run python quicksight/definitions.py --write"
    for path in written:
        assert (definitions.DEFINITIONS_DIR / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        ), f"{path.name} is stale: run python quicksight/definitions.py --write"


def test_check_mode_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    definitions.write_definitions(tmp_path)
    monkeypatch.setattr(definitions, "DEFINITIONS_DIR", tmp_path)
    assert definitions.main(["--check"]) == 0
    (tmp_path / "analysis.json").write_text("{}", encoding="utf-8")
    assert definitions.main(["--check"]) == 1


def test_write_mode_brings_the_folder_up_to_date_and_drops_stale_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(definitions, "DEFINITIONS_DIR", tmp_path)
    (tmp_path / "analysis.json").write_text("{}", encoding="utf-8")
    (tmp_path / "dataset-retired.json").write_text("{}", encoding="utf-8")  # an asset no longer built
    assert definitions.main(["--check"]) == 1

    with caplog.at_level("INFO", logger="definitions"):
        assert definitions.main(["--write"]) == 0

    assert definitions.main(["--check"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{stem}.json" for stem in definitions.all_requests(definitions.PLACEHOLDER_TARGET)
    )
    assert f"wrote {tmp_path.relative_to(tmp_path.parent.parent)}/analysis.json" in caplog.messages


@pytest.mark.parametrize("stem", list(definitions.all_requests(TARGET)))
def test_every_create_request_matches_the_api_model(stem: str) -> None:
    operation, body = definitions.all_requests(TARGET)[stem]
    assert definitions.model_errors("quicksight", operation, body) == []


def test_the_strict_model_check_catches_what_botocore_lets_through() -> None:
    body = definitions.analysis_request(TARGET)
    sheet = body["Definition"]["Sheets"][0]
    kpi = next(v for v in sheet["Visuals"] if "KPIVisual" in v)
    kpi["KPIVisual"]["ChartConfiguration"]["KPIOptions"]["Sparkline"]["Type"] = "BARS"  # not an enum value
    sheet["Visuals"][0]["PieChartVisual"] = {"VisualId": "two_in_one"}  # a union with two members
    sheet["SheetId"] = "management sheet!"  # breaks the id pattern
    errors = definitions.model_errors("quicksight", "CreateAnalysis", body)
    assert any("Sparkline.Type: 'BARS' is not one of" in error for error in errors)
    assert any("Visuals[0]: exactly one of" in error for error in errors)
    assert any("SheetId: 'management sheet!' does not match" in error for error in errors)


def test_dataset_columns_are_the_views_columns_with_matching_types(
    view_columns: dict[str, dict[str, str]],
) -> None:
    assert sorted(spec.view for spec in definitions.DATASETS) == athena_sql.view_names()
    for spec in definitions.DATASETS:
        expected = {name: QUICKSIGHT_TYPE[kind] for name, kind in view_columns[spec.view].items()}
        assert dict(spec.columns) == expected, spec.view


def test_datasets_read_their_view_through_the_athena_data_source() -> None:
    decimals = 0
    for spec in definitions.DATASETS:
        body = definitions.dataset_request(TARGET, spec)
        (table,) = body["PhysicalTableMap"].values()
        relational = table["RelationalTable"]
        assert body["ImportMode"] == "SPICE"
        assert (relational["Schema"], relational["Name"]) == (TARGET.database, spec.view)
        assert (
            relational["DataSourceArn"]
            == "arn:aws:quicksight:us-east-1:123456789012:datasource/boston311-athena"
        )
        assert [c["Name"] for c in relational["InputColumns"]] == [name for name, _ in spec.columns]
        # Athena's doubles: QuickSight's default FIXED decimal would round rates and hours to 4 places
        for column in relational["InputColumns"]:
            if column["Type"] == "DECIMAL":
                decimals += 1
                assert column.get("SubType") == "FLOAT", (spec.view, column["Name"])
    assert decimals


def test_every_column_the_dashboard_names_exists_in_its_view(view_columns: dict[str, dict[str, str]]) -> None:
    definition = definitions.definition(TARGET)
    assert definitions.check_column_references(definition, columns_by_dataset(view_columns)) == []
    assert definitions.check_internal_references(definition) == []


def test_a_broken_column_fails_with_the_visuals_name(view_columns: dict[str, dict[str, str]]) -> None:
    broken = copy.deepcopy(definitions.definition(TARGET))
    donut = visuals_by_id(broken)["donut_source"]
    wells = donut["ChartConfiguration"]["FieldWells"]["PieChartAggregatedFieldWells"]
    wells["Category"][0]["CategoricalDimensionField"]["Column"]["ColumnName"] = "channel"
    problems = definitions.check_column_references(broken, columns_by_dataset(view_columns))
    assert problems == [
        "visual donut_source (\"Enquiries by source\") on sheet 'Management': "
        "column 'channel' is not in dataset 'monthly_requests'"
    ]


def test_a_broken_calculated_field_or_filter_is_named(view_columns: dict[str, dict[str, str]]) -> None:
    broken = copy.deepcopy(definitions.definition(TARGET))
    delay = next(f for f in broken["CalculatedFields"] if f["Name"] == "avg_delay_days")
    delay["Expression"] = delay["Expression"].replace("{closed_with_duration}", "{closed_cases}")
    period = next(g for g in broken["FilterGroups"] if g["FilterGroupId"] == "group_period")
    period["Filters"][0]["TimeRangeFilter"]["Column"]["ColumnName"] = "opened_at"
    problems = definitions.check_column_references(broken, columns_by_dataset(view_columns))
    assert (
        "calculated field 'avg_delay_days': column 'closed_cases' is not in dataset 'monthly_requests'"
        in problems
    )
    assert "filter 'filter_period': column 'opened_at' is not in dataset 'monthly_requests'" in problems


def test_the_reference_walkers_take_only_whole_identifiers_and_text_expressions() -> None:
    # check_column_references reads both keys of every identifier and parses every expression as text
    identifier = {"DataSetIdentifier": "monthly_requests", "ColumnName": "source"}
    node = {
        "Visuals": [{"Column": identifier}, {"ColumnName": "a name alone"}],
        "Expression": {"Expression": "sum({requests})"},  # only the text it holds is an expression
    }
    assert definitions._column_identifiers(node) == [identifier]
    assert definitions._expressions(node) == ["sum({requests})"]


def test_internal_references_catch_an_unplaced_visual_and_an_orphan_control() -> None:
    broken = copy.deepcopy(definitions.definition(TARGET))
    management = broken["Sheets"][0]
    elements = management["Layouts"][0]["Configuration"]["GridLayout"]["Elements"]
    management["Layouts"][0]["Configuration"]["GridLayout"]["Elements"] = [
        e for e in elements if e["ElementId"] != "bar_subject"
    ]
    broken["FilterGroups"] = [g for g in broken["FilterGroups"] if g["FilterGroupId"] != "group_source"]
    problems = definitions.check_internal_references(broken)
    assert "sheet 'management': VISUAL 'bar_subject' is not placed in any layout" in problems
    assert "filter control 'control_source': its filter is not in any filter group" in problems


def test_the_reference_checks_catch_every_kind_of_dangling_id(
    view_columns: dict[str, dict[str, str]],
) -> None:
    broken = copy.deepcopy(definitions.definition(TARGET))
    broken[
        "ParameterDeclarations"
    ] = []  # the top-N slider's parameter, and the filter reading it, now dangle
    management = broken["Sheets"][0]
    management["Layouts"][0]["Configuration"]["GridLayout"]["Elements"].append(
        {"ElementId": "bar_retired", "ElementType": "VISUAL", "ColumnSpan": 6, "RowSpan": 6}
    )
    visuals = visuals_by_id(broken)
    first, second = (definitions._field_nodes(visuals[v])[0] for v in ("kpi_enquiries", "donut_source"))
    second["FieldId"] = first["FieldId"]
    donut = visuals["donut_source"]["ChartConfiguration"]["FieldWells"]["PieChartAggregatedFieldWells"]
    donut["Category"][0]["CategoricalDimensionField"]["Column"]["DataSetIdentifier"] = "retired_dataset"
    visuals["kpi_on_time"]["ConditionalFormatting"] = {"Expression": "sum({hours_in_no_view}) > 0"}

    internal = definitions.check_internal_references(broken)
    columns = definitions.check_column_references(broken, columns_by_dataset(view_columns))

    assert "sheet 'management': layout places unknown VISUAL 'bar_retired'" in internal
    assert "parameter control 'control_top_reasons': its parameter is not declared" in internal
    assert "filter 'filter_top_reasons': parameter 'TopReasonsN' is not declared" in internal
    assert any(f"FieldId '{first['FieldId']}' is also used by 'kpi_enquiries'" in p for p in internal), (
        internal
    )
    assert any("dataset 'retired_dataset' (column 'source') is not declared" in p for p in columns), columns
    assert any(p.endswith("expression column 'hours_in_no_view' is in no dataset") for p in columns), columns


def test_the_strict_model_check_enforces_the_limits_botocore_leaves_to_the_service() -> None:
    operation, body = definitions.all_requests(TARGET)["analysis"]
    broken = copy.deepcopy(body)
    broken["Name"] = "x" * 2049  # a string over its max
    broken["Definition"]["Sheets"] = broken["Definition"]["Sheets"] * 11  # a list over its max (20)
    broken["Definition"]["ParameterDeclarations"][0]["IntegerParameterDeclaration"]["DefaultValues"][
        "StaticValues"
    ] = [10] * 50001

    errors = definitions.model_errors("quicksight", operation, broken)

    assert "CreateAnalysis.Name: 2049 characters, at most 2048 allowed" in errors
    assert "CreateAnalysis.Definition.Sheets: 22 items, at most 20 allowed" in errors
    assert any(e.endswith("StaticValues: 50001 items, at most 50000 allowed") for e in errors), errors


def test_the_management_sheet_has_every_visual_and_control_of_the_old_dashboard() -> None:
    definition = definitions.definition(TARGET)
    management = definition["Sheets"][0]
    assert management["Name"] == "Management"
    assert "Enquiries to Boston" in management["TextBoxes"][0]["Content"]
    visuals = visuals_by_id(definition)
    for kpi_id, value in (
        ("kpi_enquiries", "requests_opened"),
        ("kpi_avg_delay", "avg_delay_days"),
        ("kpi_on_time", "on_time_rate"),
    ):
        configuration = visuals[kpi_id]["ChartConfiguration"]
        assert (
            configuration["FieldWells"]["Values"][0]["NumericalMeasureField"]["Column"]["ColumnName"] == value
        )
        trend = configuration["FieldWells"]["TrendGroups"][0]["DateDimensionField"]
        assert (trend["Column"]["ColumnName"], trend["DateGranularity"]) == ("month", "MONTH")
        assert configuration["KPIOptions"]["Sparkline"]["Visibility"] == "VISIBLE"
    assert visuals["kpi_enquiries"]["ChartConfiguration"]["KPIOptions"]["Comparison"] == {
        "ComparisonMethod": "PERCENT_DIFFERENCE"
    }
    # delay and on-time rate leave still-open cases out: the KPIs say so, since recent months look better
    for closed_only in ("kpi_avg_delay", "kpi_on_time"):
        assert "Closed cases only" in visuals[closed_only]["Subtitle"]["FormatText"]["PlainText"]
    assert "Subtitle" not in visuals["kpi_enquiries"]
    donut = visuals["donut_source"]["ChartConfiguration"]
    assert "DonutOptions" in donut
    by_year = visuals["line_by_year"]["ChartConfiguration"]
    assert (
        by_year["FieldWells"]["LineChartAggregatedFieldWells"]["Category"][0]["DateDimensionField"][
            "DateGranularity"
        ]
        == "YEAR"
    )
    assert [s["FieldSeriesItem"]["AxisBinding"] for s in by_year["Series"]] == [
        "PRIMARY_YAXIS",
        "SECONDARY_YAXIS",
    ]
    assert visuals["bar_subject"]["ChartConfiguration"]["Orientation"] == "HORIZONTAL"

    # Top N reasons: a TopBottomFilter on reason, scoped to that visual, N from a slider-driven parameter.
    (top_group,) = [g for g in definition["FilterGroups"] if "TopBottomFilter" in g["Filters"][0]]
    top = top_group["Filters"][0]["TopBottomFilter"]
    assert top["Column"]["ColumnName"] == "reason"
    scope = top_group["ScopeConfiguration"]["SelectedSheets"]["SheetVisualScopingConfigurations"][0]
    assert scope["VisualIds"] == ["bar_top_reasons"]
    (parameter,) = definition["ParameterDeclarations"]
    assert parameter["IntegerParameterDeclaration"]["Name"] == top["ParameterName"]
    assert parameter["IntegerParameterDeclaration"]["DefaultValues"]["StaticValues"] == [10]
    (slider,) = management["ParameterControls"]
    assert slider["Slider"]["SourceParameterName"] == top["ParameterName"]

    # Controls: Reason, Subject, Source dropdowns and an Opening period date range on month.
    filters = {
        next(iter(f.values()))["FilterId"]: f for g in definition["FilterGroups"] for f in g["Filters"]
    }
    controls = {next(iter(c.values()))["Title"]: c for c in management["FilterControls"]}
    assert sorted(controls) == ["Opening period", "Reason", "Source", "Subject"]
    for control_title, column_name in (("Reason", "reason"), ("Subject", "subject"), ("Source", "source")):
        source_filter = filters[controls[control_title]["Dropdown"]["SourceFilterId"]]
        assert source_filter["CategoryFilter"]["Column"]["ColumnName"] == column_name
    period = controls["Opening period"]["DateTimePicker"]
    assert period["Type"] == "DATE_RANGE"
    assert filters[period["SourceFilterId"]]["TimeRangeFilter"]["Column"]["ColumnName"] == "month"
    # by default up to the month before the current one: the last complete month of a daily-refreshed Gold
    maximum = filters[period["SourceFilterId"]]["TimeRangeFilter"]["RangeMaximumValue"]["RollingDate"]
    assert maximum["Expression"] == "addDateTime(-1, 'MM', truncDate('MM', now()))"


# What a rise of each KPI means, written here apart from the builder: a longer delay to close is worse, a higher
# on-time rate better, and more enquiries neither.
RISE_MEANS = {"kpi_enquiries": "neutral", "kpi_avg_delay": "bad", "kpi_on_time": "good"}


def contrast(color: str, background: str = "#FFFFFF") -> float:
    """WCAG 2.1's contrast ratio of two ``#RRGGBB`` colours (against white by default)."""

    def luminance(hex_color: str) -> float:
        channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(color), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def meaning_of(color: str) -> str:
    """What a colour says to a reader: green good, red or orange bad, a grey or near-black nothing."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    if max(red, green, blue) - min(red, green, blue) < 0x30:
        return "neutral"
    return "good" if green > red else "bad"


def change_colors(kpi: dict, calculated: dict[str, str]) -> dict[str, tuple[str, str]]:
    """How a KPI shows a rise and a fall of its value against the month before: {"rise"|"fall": (arrow, meaning)}.

    Each conditional format must test the sign of a calculated field that is the KPI's own value against the
    month before, and colour the comparison's text and arrow alike.
    """
    value = kpi["ChartConfiguration"]["FieldWells"]["Values"][0]["NumericalMeasureField"]
    column = value["Column"]["ColumnName"]
    aggregate = f"sum({{{column}}})" if value.get("AggregationFunction") else f"{{{column}}}"
    shown = {}
    for option in kpi["ConditionalFormatting"]["ConditionalFormattingOptions"]:
        text = option["ComparisonValue"]["TextColor"]["Solid"]
        icon = option["ComparisonValue"]["Icon"]["CustomCondition"]
        assert text["Expression"] == icon["Expression"] and text["Color"] == icon["Color"]
        field, sign = re.fullmatch(r"\{(\w+)\} ([<>]) 0", text["Expression"]).groups()
        assert calculated[field] == f"periodOverPeriodDifference({aggregate}, {{month}}, MONTH, 1)"
        shown["rise" if sign == ">" else "fall"] = (icon["IconOptions"]["Icon"], meaning_of(text["Color"]))
    return shown


def test_kpi_changes_are_coloured_by_what_they_mean_not_by_their_direction() -> None:
    """QuickSight's trend arrows coloured a longer delay to close in the colour of every rise."""
    definition = definitions.definition(TARGET)
    calculated = {field["Name"]: field["Expression"] for field in definition["CalculatedFields"]}
    visuals = visuals_by_id(definition)
    fall_means = {"good": "bad", "bad": "good", "neutral": "neutral"}
    for kpi_id, rise in RISE_MEANS.items():
        kpi = visuals[kpi_id]
        # the built-in arrows take the direction's colour whatever the measure: hidden, drawn by the formats instead
        assert kpi["ChartConfiguration"]["KPIOptions"]["TrendArrows"] == {"Visibility": "HIDDEN"}
        assert change_colors(kpi, calculated) == {
            "rise": ("ARROW_UP", rise),
            "fall": ("ARROW_DOWN", fall_means[rise]),
        }, kpi_id
    # a longer delay in the good colour is caught
    broken = copy.deepcopy(visuals["kpi_avg_delay"])
    rise_format = broken["ConditionalFormatting"]["ConditionalFormattingOptions"][0]["ComparisonValue"]
    rise_format["TextColor"]["Solid"]["Color"] = rise_format["Icon"]["CustomCondition"]["Color"] = "#1F7A3F"
    assert change_colors(broken, calculated)["rise"] == ("ARROW_UP", "good")


def test_kpi_change_colors_are_readable_text_and_tell_good_from_bad() -> None:
    colors = definitions.CHANGE_COLORS
    assert {meaning: meaning_of(color) for meaning, color in colors.items()} == {
        "good": "good",
        "bad": "bad",
        "neutral": "neutral",
    }
    for color in colors.values():  # the comparison is text: WCAG AA asks 4.5:1 against the white visual
        assert contrast(color) >= 4.5, color


def test_the_maps_points_have_a_colour_of_their_own_that_stands_out_on_a_light_basemap() -> None:
    """The points took the theme's first colour, which this repository does not set."""
    configuration = visuals_by_id(definitions.definition(TARGET))["map_requests"]["ChartConfiguration"]
    assert configuration["MapStyleOptions"] == {"BaseMapStyle": "LIGHT_GRAY"}
    point = configuration["VisualPalette"]["ChartColor"]
    # WCAG 1.4.11: 3:1 against white, and against a basemap as dark as mid-grey
    assert contrast(point) >= 3 and contrast(point, "#9C9C9C") >= 3


def test_the_analytics_sheet_reads_the_right_views() -> None:
    definition = definitions.definition(TARGET)
    analytics = definition["Sheets"][1]
    assert analytics["Name"] == "Analytics"
    visuals = visuals_by_id(definition)
    on_time = visuals["line_on_time_department"]["ChartConfiguration"]["FieldWells"][
        "LineChartAggregatedFieldWells"
    ]
    assert on_time["Colors"][0]["CategoricalDimensionField"]["Column"]["ColumnName"] == "department"
    hours = visuals["bar_hours_by_type"]["ChartConfiguration"]["FieldWells"]["BarChartAggregatedFieldWells"]
    assert {v["NumericalMeasureField"]["Column"]["DataSetIdentifier"] for v in hours["Values"]} == {
        "resolution_times"
    }
    geo = visuals["map_requests"]["ChartConfiguration"]["FieldWells"]["GeospatialMapAggregatedFieldWells"]
    assert [g["NumericalDimensionField"]["Column"]["ColumnName"] for g in geo["Geospatial"]] == [
        "cell_lat",
        "cell_lon",
    ]
    backlog = visuals["area_open_backlog"]["ChartConfiguration"]["FieldWells"][
        "LineChartAggregatedFieldWells"
    ]
    assert backlog["Values"][0]["NumericalMeasureField"]["Column"] == {
        "DataSetIdentifier": "open_backlog",
        "ColumnName": "open_cases",
    }
    # the hover names the charted fields, then how many of the open cases are a year old or more
    tooltip = visuals["area_open_backlog"]["ChartConfiguration"]["Tooltip"]["FieldBasedTooltip"][
        "TooltipFields"
    ]
    assert [item["FieldTooltipItem"]["FieldId"] for item in tooltip[:-1]] == [
        "area_open_backlog.week_start",
        "area_open_backlog.department",
        "area_open_backlog.open_cases",
    ]
    assert tooltip[-1]["ColumnTooltipItem"]["Column"] == {
        "DataSetIdentifier": "open_backlog",
        "ColumnName": "open_over_1y",
    }
    geo_grid = next(spec for spec in definitions.DATASETS if spec.identifier == "geo_grid")
    geo_dataset = definitions.dataset_request(TARGET, geo_grid)
    (logical,) = geo_dataset["LogicalTableMap"].values()
    roles = {
        t["TagColumnOperation"]["ColumnName"]: t["TagColumnOperation"]["Tags"][0]
        for t in logical["DataTransforms"]
    }
    assert roles == {
        "cell_lat": {"ColumnGeographicRole": "LATITUDE"},
        "cell_lon": {"ColumnGeographicRole": "LONGITUDE"},
    }


def as_duckdb(expression: str) -> str:
    """A QuickSight calculated-field expression in DuckDB SQL (enough for ours: ifelse, isNull, sum, {column})."""
    columns = re.sub(r"\{([^{}]+)\}", r'"\1"', expression)
    tests = re.sub(r"isNull\(([^()]+)\)", r"(\1 IS NULL)", columns)
    return (
        tests.replace("ifelse(", "if(").replace("NULL", "NULL::DOUBLE").replace("IS NULL::DOUBLE", "IS NULL")
    )


def test_calculated_rates_agree_with_the_contract_and_the_named_query(
    small_lake: duckdb.DuckDBPyConnection,
) -> None:
    fields = {name: expression for _, name, expression in definitions.CALCULATED_FIELDS}
    rows = small_lake.execute(
        f"""
        SELECT month, department,
               {as_duckdb(fields["on_time_rate"])} AS on_time_rate,
               {as_duckdb(fields["avg_delay_days"])} AS avg_delay_days,
               sum(closed_on_time), sum(closed_late), sum(sum_hours_to_close), sum(closed_with_duration)
        FROM v_monthly_requests GROUP BY month, department ORDER BY month, department
        """
    ).fetchall()
    named = {
        (month, department): rate
        for month, department, _, _, rate in small_lake.execute(
            f"SELECT * FROM {local_lake.named_query_view('ontime_rate_by_department_month')}"
        ).fetchall()
    }
    assert rows, "the small lake has monthly rows"
    for month, department, rate, delay, on_time, late, hours, with_duration in rows:
        if on_time + late:
            assert rate == pytest.approx(on_time / (on_time + late))
            assert named[(month, department)] == pytest.approx(rate)
        else:
            assert rate is None and named[(month, department)] is None
        if with_duration:
            assert delay == pytest.approx(hours / with_duration / 24)
        else:
            assert delay is None


@pytest.mark.parametrize("percentile", ["p50_hours", "p90_hours"])
def test_weighted_percentiles_weigh_the_cases_each_percentile_is_over(percentile: str) -> None:
    fields = {name: expression for _, name, expression in definitions.CALCULATED_FIELDS}
    as_sql = as_duckdb(fields[f"{percentile}_weighted"])

    def weighted(rows: str) -> float | None:
        [(value,)] = duckdb.sql(
            f"SELECT {as_sql} FROM (VALUES {rows}) AS resolution({percentile}, closed_cases, closed_with_duration)"
        ).fetchall()
        return value

    # department A: 100 closed cases, 10 of them with a duration, p 10 h; department B: 30 closed, all with a
    # duration, p 50 h -> (10 * 10 + 50 * 30) / 40 = 40 h (weighted by closed_cases it would be 19.2 h)
    assert weighted("(10.0, 100, 10), (50.0, 30, 30)") == pytest.approx(40.0)
    # department C: 100 closed by status only, no close time, no percentile: it weighs nothing
    assert weighted("(10.0, 100, 100), (NULL, 100, 0)") == pytest.approx(10.0)
    assert weighted("(NULL, 100, 0)") is None


def test_refresh_runs_daily_after_the_pipeline_on_boston_time() -> None:
    schedule = definitions.refresh_schedule_request(TARGET, definitions.DATASETS[0])["Schedule"]
    assert schedule["ScheduleFrequency"] == {
        "Interval": "DAILY",
        "Timezone": "America/New_York",
        "TimeOfTheDay": "09:00",
    }
    assert schedule["RefreshType"] == "FULL_REFRESH"


def test_generated_files_use_only_placeholders() -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in definitions.DEFINITIONS_DIR.glob("*.json"))
    accounts = set(re.findall(r"\b\d{12}\b", text))
    assert accounts == {TARGET.account_id}
    assert (
        json.loads((definitions.DEFINITIONS_DIR / "data_source.json").read_text())["Operation"]
        == "CreateDataSource"
    )


def test_the_scorecard_table_labels_every_column_in_words() -> None:
    table = visuals_by_id(definitions.definition(TARGET))["table_neighborhoods"]["ChartConfiguration"]
    fields = [value["FieldId"] for value in table["FieldWells"]["TableUnaggregatedFieldWells"]["Values"]]
    labels = {
        option["FieldId"]: option["CustomLabel"] for option in table["FieldOptions"]["SelectedFieldOptions"]
    }
    assert list(labels) == fields  # one label per column, none for a column the table lacks
    assert labels["table_neighborhoods.p50_hours"] == "Median hours to close"
    assert all("_" not in label for label in labels.values())


def test_the_slowest_types_chart_ranks_only_types_with_enough_closed_cases() -> None:
    definition = definitions.definition(TARGET)
    [group] = [g for g in definition["FilterGroups"] if g["FilterGroupId"] == "group_enough_cases"]
    [scope] = group["ScopeConfiguration"]["SelectedSheets"]["SheetVisualScopingConfigurations"]
    assert (scope["Scope"], scope["VisualIds"]) == ("SELECTED_VISUALS", ["bar_hours_by_type"])
    [range_filter] = [f["NumericRangeFilter"] for f in group["Filters"]]
    # on the cases the percentiles are over, not on every closed case
    assert range_filter["Column"]["ColumnName"] == "closed_with_duration"
    # on the type's total over departments and years, not on each row of the dataset
    assert range_filter["AggregationFunction"] == {
        "NumericalAggregationFunction": {"SimpleNumericalAggregation": "SUM"}
    }
    assert (range_filter["RangeMinimum"], range_filter["IncludeMinimum"]) == ({"StaticValue": 20}, True)
    assert (
        "20+ closed cases with a duration"
        in visuals_by_id(definition)["bar_hours_by_type"]["Subtitle"]["FormatText"]["PlainText"]
    )
