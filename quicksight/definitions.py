"""QuickSight as code: the request bodies of the data source, datasets, refresh schedules, analysis, dashboard.

Every body is built here, from Python, in the shapes of the QuickSight API (the ``Definition`` API for the
analysis and the dashboard), so the dashboard can be reviewed, versioned and redeployed. ``deploy.py``
sends them; ``python quicksight/definitions.py --write`` renders them with placeholder account/ARNs into
``quicksight/definitions/*.json`` for review (a test keeps those files in sync with this builder).

Also here, because they judge these bodies: ``check_column_references`` (every column a visual, filter or
calculated field names exists in its dataset's view), ``check_internal_references`` (layouts, controls, filters,
parameters and FieldIds agree inside the Definition) and ``model_errors`` (a body against botocore's
service model, stricter than botocore's own validation: enums, maximum lengths, patterns, one-of unions).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from command_line import ArgumentParser
except (
    ImportError
):  # run as a script (python quicksight/definitions.py): the command line's helpers live in scripts/
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from command_line import ArgumentParser

log = logging.getLogger(__name__)

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

# The names every asset shares; one prefix so a second deployment can live beside the first.
ASSET_PREFIX = "boston311"
DATA_SOURCE_ID = f"{ASSET_PREFIX}-athena"
ANALYSIS_ID = f"{ASSET_PREFIX}-analysis"
DASHBOARD_ID = f"{ASSET_PREFIX}-dashboard"
# The dashboard's name, also its first sheet's title and header (and the local page's, dashboard.TITLE).
DASHBOARD_NAME = "Enquiries to Boston"
ATHENA_CATALOG = "AwsDataCatalog"

# SPICE refresh: the stack's state machine runs Silver then Gold at 07:00 Boston time (infra/boston311.yaml's
# PipelineSchedule, after a 06:00 Bronze ingest); a day's incremental run takes well under an hour, so 09:00
# leaves two hours and the dashboard is fresh when the city's working day starts. A test holds the two apart.
REFRESH_SCHEDULE_ID = "daily-after-pipeline"
REFRESH_TIME_OF_DAY = "09:00"
REFRESH_TIMEZONE = "America/New_York"

# Delay and on-time rate count closed cases only: a recent month's slow cases have not closed yet, so its figures
# look better than they will once they do (the local dashboard says how many are still open).
CLOSED_ONLY_NOTE = "Closed cases only: a recent month still has open cases, so its figure can still change"

# The fewest closed cases a type needs to be ranked among the slowest: below that one stray case is its p90. The
# cases counted are those its percentiles are over, closed_with_duration (not closed_cases, which counts every one).
MIN_CLOSED_CASES = 20

# The first month of Boston 311 data (the system opened in July 2011): the default start of "Opening period".
FIRST_MONTH = "2011-07-01T00:00:00Z"
# The default end of "Opening period": the first day of the month before the current one (QuickSight expression).
LAST_COMPLETE_MONTH = "addDateTime(-1, 'MM', truncDate('MM', now()))"
TOP_REASONS_PARAMETER = "TopReasonsN"
TOP_REASONS_DEFAULT = 10
TOP_REASONS_MAX = 50

MANAGEMENT_SHEET = "management"
ANALYTICS_SHEET = "analytics"

DATA_SOURCE_ACTIONS = (
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
)
DATASET_ACTIONS = (
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
)
ANALYSIS_ACTIONS = (
    "quicksight:RestoreAnalysis",
    "quicksight:UpdateAnalysisPermissions",
    "quicksight:DeleteAnalysis",
    "quicksight:DescribeAnalysisPermissions",
    "quicksight:QueryAnalysis",
    "quicksight:DescribeAnalysis",
    "quicksight:UpdateAnalysis",
)
DASHBOARD_ACTIONS = (
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:QueryDashboard",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
)


@dataclass(frozen=True)
class Target:
    """Where the assets go: the AWS account and region, who owns them, and the Athena workgroup/database."""

    account_id: str
    region: str
    principal_arn: str
    athena_workgroup: str
    database: str

    def arn(self, resource: str) -> str:
        """The ARN of a QuickSight resource (e.g. ``datasource/<id>``) in this account and region."""
        return f"arn:aws:quicksight:{self.region}:{self.account_id}:{resource}"


PLACEHOLDER_TARGET = Target(
    account_id="123456789012",
    region="us-east-1",
    principal_arn="arn:aws:quicksight:us-east-1:123456789012:user/default/ADMIN_USER",
    athena_workgroup="primary",
    database="boston311",
)


@dataclass(frozen=True)
class DatasetSpec:
    """One SPICE dataset over one Athena view: its id, the short identifier visuals use, its typed columns."""

    view: str
    identifier: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, QuickSight input type); DECIMAL columns are floats
    geo_roles: tuple[tuple[str, str], ...] = ()  # (column, ColumnGeographicRole)

    @property
    def dataset_id(self) -> str:
        """The QuickSight DataSetId."""
        return f"{ASSET_PREFIX}-{self.identifier.replace('_', '-')}"


# The views' columns as QuickSight reads them (docs/CONTRACTS.md); a test compares them with the columns and
# types DuckDB reports for the same view SQL, so a renamed or retyped view column fails there first.
DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        view="v_monthly_requests",
        identifier="monthly_requests",
        name="Boston 311 - monthly requests",
        columns=(
            ("month", "DATETIME"),
            ("year", "INTEGER"),
            ("department", "STRING"),
            ("subject", "STRING"),
            ("reason", "STRING"),
            ("type", "STRING"),
            ("source", "STRING"),
            ("neighborhood", "STRING"),
            ("requests_opened", "INTEGER"),
            ("requests_closed", "INTEGER"),
            ("closed_on_time", "INTEGER"),
            ("closed_late", "INTEGER"),
            ("still_open", "INTEGER"),
            ("sum_hours_to_close", "DECIMAL"),
            ("closed_with_duration", "INTEGER"),
            ("last_opened_date", "DATETIME"),
        ),
    ),
    DatasetSpec(
        view="v_resolution_times",
        identifier="resolution_times",
        name="Boston 311 - resolution times",
        columns=(
            ("year", "INTEGER"),
            ("department", "STRING"),
            ("type", "STRING"),
            ("closed_cases", "INTEGER"),
            ("closed_with_duration", "INTEGER"),
            ("p50_hours", "DECIMAL"),
            ("p90_hours", "DECIMAL"),
            ("mean_hours", "DECIMAL"),
            ("on_time_rate", "DECIMAL"),
        ),
    ),
    DatasetSpec(
        view="v_neighborhood_scorecard",
        identifier="neighborhood_scorecard",
        name="Boston 311 - neighborhood scorecard",
        columns=(
            ("year", "INTEGER"),
            ("neighborhood", "STRING"),
            ("requests", "INTEGER"),
            ("closed_with_duration", "INTEGER"),
            ("p50_hours", "DECIMAL"),
            ("on_time_rate", "DECIMAL"),
            ("top_type", "STRING"),
            ("share_of_city", "DECIMAL"),
        ),
    ),
    DatasetSpec(
        view="v_open_backlog",
        identifier="open_backlog",
        name="Boston 311 - open backlog",
        columns=(
            ("week_start", "DATETIME"),
            ("department", "STRING"),
            ("open_cases", "INTEGER"),
            ("open_over_1y", "INTEGER"),
        ),
    ),
    DatasetSpec(
        view="v_geo_grid",
        identifier="geo_grid",
        name="Boston 311 - requests on a 250 m grid",
        columns=(
            ("year", "INTEGER"),
            ("type", "STRING"),
            ("cell_lat", "DECIMAL"),
            ("cell_lon", "DECIMAL"),
            ("requests", "INTEGER"),
        ),
        geo_roles=(("cell_lat", "LATITUDE"), ("cell_lon", "LONGITUDE")),
    ),
)

MONTHLY = "monthly_requests"
RESOLUTION = "resolution_times"
SCORECARD = "neighborhood_scorecard"
BACKLOG = "open_backlog"
GEO = "geo_grid"

# What a rise of each KPI means, so its change is coloured by that and not by its direction: a longer average
# delay is worse and a higher on-time rate better; more enquiries are neither (demand, not performance).
RISE_MEANS = {"kpi_enquiries": "neutral", "kpi_avg_delay": "bad", "kpi_on_time": "good"}
FALL_MEANS = {"good": "bad", "bad": "good", "neutral": "neutral"}
# The colours of a change, as text on a white visual (WCAG AA asks 4.5:1): green 5.4:1, red 6.6:1, the page's text
# colour 15.1:1. The local dashboard colours its KPI changes with the same three.
CHANGE_COLORS = {"good": "#1F7A3F", "bad": "#B42318", "neutral": "#1D2733"}
# The map's points: a point map has one colour (size is the count), set here rather than left to the theme. The
# middle of the local map's viridis scale: 8.3:1 against white and at least 3:1 (WCAG 1.4.11) against any basemap
# colour as light as the grey #9C9C9C or lighter; the LIGHT_GRAY basemap's own colours are tiles no test can read.
MAP_POINT_COLOR = "#3E4989"
# The KPIs' values as a QuickSight aggregate, each with a calculated field of its change (below).
KPI_VALUES = {
    "requests_opened": "sum({requests_opened})",
    "avg_delay_days": "{avg_delay_days}",
    "on_time_rate": "{on_time_rate}",
}


def change_field(value: str) -> str:
    """The calculated field holding a KPI value's change from the month before."""
    return f"{value}_change"


# Calculated fields, declared once: (dataset, name, expression). The two rates are the contract's formulas.
CALCULATED_FIELDS: tuple[tuple[str, str, str], ...] = (
    (
        MONTHLY,
        "avg_delay_days",
        "ifelse(sum({closed_with_duration}) > 0, sum({sum_hours_to_close}) / sum({closed_with_duration}) / 24, NULL)",
    ),
    (
        MONTHLY,
        "on_time_rate",
        "ifelse(sum({closed_on_time}) + sum({closed_late}) > 0, "
        "sum({closed_on_time}) / (sum({closed_on_time}) + sum({closed_late})), NULL)",
    ),
    # Percentiles cannot be added up: across departments and years the chart shows each type's
    # case-weighted mean of the group percentiles, the closest honest summary the Gold grain allows. Each group
    # weighs the cases its percentiles are over (closed_with_duration): a case closed by status with no close time
    # weighs nothing, and a group of only such cases (no percentile) nothing at all.
    *(
        (
            RESOLUTION,
            f"{percentile}_weighted",
            "ifelse(sum({closed_with_duration}) > 0, "
            f"sum({{{percentile}}} * {{closed_with_duration}}) / sum({{closed_with_duration}}), NULL)",
        )
        for percentile in ("p50_hours", "p90_hours")
    ),
    # Each KPI value's change from the month before: the sign its comparison is coloured by (kpi_change_formatting).
    # The same difference the KPI's comparison shows; NULL when the month before has no value, so nothing is coloured.
    *(
        (MONTHLY, change_field(name), f"periodOverPeriodDifference({value}, {{month}}, MONTH, 1)")
        for name, value in KPI_VALUES.items()
    ),
)


# ----------------------------------------------------------------------------------------------------------
# Small builders: columns, fields, titles
# ----------------------------------------------------------------------------------------------------------


def column(dataset: str, name: str) -> dict[str, str]:
    """A ColumnIdentifier."""
    return {"DataSetIdentifier": dataset, "ColumnName": name}


def measure(visual_id: str, dataset: str, name: str, aggregation: str | None = "SUM") -> dict[str, Any]:
    """A numerical measure; ``aggregation=None`` for a calculated field that aggregates by itself."""
    field: dict[str, Any] = {"FieldId": f"{visual_id}.{name}", "Column": column(dataset, name)}
    if aggregation:
        field["AggregationFunction"] = {"SimpleNumericalAggregation": aggregation}
    return {"NumericalMeasureField": field}


def category(visual_id: str, dataset: str, name: str) -> dict[str, Any]:
    """A categorical dimension."""
    return {"CategoricalDimensionField": {"FieldId": f"{visual_id}.{name}", "Column": column(dataset, name)}}


def date_dimension(visual_id: str, dataset: str, name: str, granularity: str) -> dict[str, Any]:
    """A date dimension at a granularity (MONTH, YEAR, WEEK ...)."""
    return {
        "DateDimensionField": {
            "FieldId": f"{visual_id}.{name}",
            "Column": column(dataset, name),
            "DateGranularity": granularity,
        }
    }


def numeric_dimension(visual_id: str, dataset: str, name: str) -> dict[str, Any]:
    """A numerical dimension (used for the map's coordinates)."""
    return {"NumericalDimensionField": {"FieldId": f"{visual_id}.{name}", "Column": column(dataset, name)}}


def field_id(field: dict[str, Any]) -> str:
    """The FieldId of a measure or dimension built above."""
    return next(iter(field.values()))["FieldId"]


def title(text: str) -> dict[str, Any]:
    """A visible visual title."""
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


def subtitle(text: str) -> dict[str, Any]:
    """A visible visual subtitle."""
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


def sort_descending(field: dict[str, Any]) -> list[dict[str, Any]]:
    """Sort a chart's categories by a measure, largest first."""
    return [{"FieldSort": {"FieldId": field_id(field), "Direction": "DESC"}}]


# ----------------------------------------------------------------------------------------------------------
# Visuals
# ----------------------------------------------------------------------------------------------------------


def kpi(
    visual_id: str,
    text: str,
    value: dict[str, Any],
    trend: dict[str, Any],
    comparison: str,
    *,
    note: str | None = None,
) -> dict[str, Any]:
    """A KPI: the value of the latest period of ``trend`` against the period before, with a sparkline.

    Its change is coloured by what it means (``RISE_MEANS``), with an arrow of that colour: QuickSight's own trend
    arrows take one colour for up and one for down whatever the measure (TrendArrowOptions sets only their
    visibility), so they are hidden.
    """
    visual: dict[str, Any] = {
        "VisualId": visual_id,
        "Title": title(text),
        "ChartConfiguration": {
            "FieldWells": {"Values": [value], "TrendGroups": [trend]},
            "SortConfiguration": {
                "TrendGroupSort": [{"FieldSort": {"FieldId": field_id(trend), "Direction": "ASC"}}]
            },
            "KPIOptions": {
                "Comparison": {"ComparisonMethod": comparison},
                "PrimaryValueDisplayType": "ACTUAL",
                "TrendArrows": {"Visibility": "HIDDEN"},
                "SecondaryValue": {"Visibility": "VISIBLE"},
                "Sparkline": {"Visibility": "VISIBLE", "Type": "AREA", "TooltipVisibility": "VISIBLE"},
            },
        },
        "ConditionalFormatting": kpi_change_formatting(
            change_field(value["NumericalMeasureField"]["Column"]["ColumnName"]), RISE_MEANS[visual_id]
        ),
    }
    if note:
        visual["Subtitle"] = subtitle(note)
    return {"KPIVisual": visual}


def kpi_change_formatting(change: str, rise_means: str) -> dict[str, Any]:
    """A KPI's comparison coloured, with an up or down arrow, by what a rise or a fall of ``change`` means."""

    def coloured(condition: str, arrow: str, meaning: str) -> dict[str, Any]:
        color = CHANGE_COLORS[meaning]
        return {
            "ComparisonValue": {
                "TextColor": {"Solid": {"Expression": condition, "Color": color}},
                "Icon": {
                    "CustomCondition": {
                        "Expression": condition,
                        "IconOptions": {"Icon": arrow},
                        "Color": color,
                    }
                },
            }
        }

    return {
        "ConditionalFormattingOptions": [
            coloured(f"{{{change}}} > 0", "ARROW_UP", rise_means),
            coloured(f"{{{change}}} < 0", "ARROW_DOWN", FALL_MEANS[rise_means]),
        ]
    }


def bar(
    visual_id: str,
    text: str,
    categories: dict[str, Any],
    values: list[dict[str, Any]],
    *,
    items_limit: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A horizontal bar chart of one or more measures per category, largest first."""
    configuration: dict[str, Any] = {
        "FieldWells": {"BarChartAggregatedFieldWells": {"Category": [categories], "Values": values}},
        "SortConfiguration": {"CategorySort": sort_descending(values[-1])},
        "Orientation": "HORIZONTAL",
        "BarsArrangement": "CLUSTERED",
        "Legend": {"Visibility": "VISIBLE" if len(values) > 1 else "HIDDEN"},
        "DataLabels": {"Visibility": "HIDDEN"},
    }
    if items_limit:
        configuration["SortConfiguration"]["CategoryItemsLimit"] = {
            "ItemsLimit": items_limit,
            "OtherCategories": "EXCLUDE",
        }
    visual: dict[str, Any] = {
        "VisualId": visual_id,
        "Title": title(text),
        "ChartConfiguration": configuration,
    }
    if note:
        visual["Subtitle"] = subtitle(note)
    return {"BarChartVisual": visual}


def line(
    visual_id: str,
    text: str,
    x_axis: dict[str, Any],
    values: list[dict[str, Any]],
    *,
    colors: dict[str, Any] | None = None,
    secondary: dict[str, Any] | None = None,
    chart_type: str = "LINE",
    tooltip_extra: list[tuple[dict[str, Any], str]] | None = None,
) -> dict[str, Any]:
    """A line (or area) chart over time; ``secondary`` puts one more measure on its own right axis;
    ``tooltip_extra`` adds (``measure(...)``, label) pairs to the tooltip only, after the charted fields."""
    wells: dict[str, Any] = {"Category": [x_axis], "Values": values + ([secondary] if secondary else [])}
    if colors:
        wells["Colors"] = [colors]
    configuration: dict[str, Any] = {
        "FieldWells": {"LineChartAggregatedFieldWells": wells},
        "SortConfiguration": {
            "CategorySort": [{"FieldSort": {"FieldId": field_id(x_axis), "Direction": "ASC"}}]
        },
        "Type": chart_type,
        "Legend": {"Visibility": "VISIBLE"},
    }
    if tooltip_extra:
        charted = [x_axis, *([colors] if colors else []), *values]
        configuration["Tooltip"] = {
            "TooltipVisibility": "VISIBLE",
            "SelectedTooltipType": "DETAILED",
            "FieldBasedTooltip": {
                "AggregationVisibility": "HIDDEN",
                "TooltipTitleType": "PRIMARY_VALUE",
                "TooltipFields": [
                    {"FieldTooltipItem": {"FieldId": field_id(field), "Visibility": "VISIBLE"}}
                    for field in charted
                ]
                + [
                    {
                        "ColumnTooltipItem": {
                            "Column": extra["NumericalMeasureField"]["Column"],
                            "Aggregation": {
                                "NumericalAggregationFunction": extra["NumericalMeasureField"][
                                    "AggregationFunction"
                                ]
                            },
                            "Label": label,
                            "Visibility": "VISIBLE",
                        }
                    }
                    for extra, label in tooltip_extra
                ],
            },
        }
    if secondary:
        configuration["Series"] = [
            {"FieldSeriesItem": {"FieldId": field_id(measure), "AxisBinding": "PRIMARY_YAXIS"}}
            for measure in values
        ] + [{"FieldSeriesItem": {"FieldId": field_id(secondary), "AxisBinding": "SECONDARY_YAXIS"}}]
    return {
        "LineChartVisual": {"VisualId": visual_id, "Title": title(text), "ChartConfiguration": configuration}
    }


def donut(visual_id: str, text: str, categories: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """A donut: a pie chart with a hole, labelled with each slice's share."""
    return {
        "PieChartVisual": {
            "VisualId": visual_id,
            "Title": title(text),
            "ChartConfiguration": {
                "FieldWells": {"PieChartAggregatedFieldWells": {"Category": [categories], "Values": [value]}},
                "SortConfiguration": {"CategorySort": sort_descending(value)},
                "DonutOptions": {
                    "ArcOptions": {"ArcThickness": "MEDIUM"},
                    "DonutCenterOptions": {"LabelVisibility": "VISIBLE"},
                },
                "DataLabels": {"Visibility": "VISIBLE", "LabelContent": "PERCENT"},
                "Legend": {"Visibility": "VISIBLE"},
            },
        }
    }


def point_map(
    visual_id: str, text: str, latitude: dict[str, Any], longitude: dict[str, Any], value: dict[str, Any]
) -> dict[str, Any]:
    """A points-on-map visual over latitude/longitude columns (tagged with their geographic roles)."""
    return {
        "GeospatialMapVisual": {
            "VisualId": visual_id,
            "Title": title(text),
            "ChartConfiguration": {
                "FieldWells": {
                    "GeospatialMapAggregatedFieldWells": {
                        "Geospatial": [latitude, longitude],
                        "Values": [value],
                    }
                },
                # Boston's bounding box, so the map opens on the city rather than the world.
                "WindowOptions": {
                    "Bounds": {"North": 42.40, "South": 42.22, "West": -71.20, "East": -70.98},
                    "MapZoomMode": "AUTO",
                },
                "MapStyleOptions": {"BaseMapStyle": "LIGHT_GRAY"},
                "PointStyleOptions": {"SelectedPointStyle": "POINT"},
                "VisualPalette": {"ChartColor": MAP_POINT_COLOR},
                "Legend": {"Visibility": "VISIBLE"},
            },
        }
    }


def table(visual_id: str, text: str, dataset: str, labels: dict[str, str], sort_by: str) -> dict[str, Any]:
    """A plain table of a dataset's rows (no aggregation), column name -> header label, sorted by one column,
    largest first."""
    return {
        "TableVisual": {
            "VisualId": visual_id,
            "Title": title(text),
            "ChartConfiguration": {
                "FieldWells": {
                    "TableUnaggregatedFieldWells": {
                        "Values": [
                            {"FieldId": f"{visual_id}.{name}", "Column": column(dataset, name)}
                            for name in labels
                        ]
                    }
                },
                "SortConfiguration": {
                    "RowSort": [{"FieldSort": {"FieldId": f"{visual_id}.{sort_by}", "Direction": "DESC"}}]
                },
                "FieldOptions": {
                    "SelectedFieldOptions": [
                        {"FieldId": f"{visual_id}.{name}", "CustomLabel": label, "Visibility": "VISIBLE"}
                        for name, label in labels.items()
                    ]
                },
            },
        }
    }


def text_box(text_box_id: str, text: str) -> dict[str, Any]:
    """A sheet text box holding one large bold line (the header)."""
    return {
        "SheetTextBoxId": text_box_id,
        "Content": f'<text-box><block align="center"><inline font-size="28px"><b>{text}</b></inline></block></text-box>',
    }


# ----------------------------------------------------------------------------------------------------------
# Filters, parameters and controls
# ----------------------------------------------------------------------------------------------------------


def category_filter(filter_id: str, dataset: str, name: str) -> dict[str, Any]:
    """A category filter that starts with every value selected (what a dropdown control drives)."""
    return {
        "CategoryFilter": {
            "FilterId": filter_id,
            "Column": column(dataset, name),
            "Configuration": {
                "FilterListConfiguration": {
                    "MatchOperator": "CONTAINS",
                    "SelectAllOptions": "FILTER_ALL_VALUES",
                    "NullOption": "ALL_VALUES",
                }
            },
        }
    }


def at_least_filter(filter_id: str, dataset: str, name: str, minimum: int) -> dict[str, Any]:
    """Keep only the categories whose SUM of a column is at least ``minimum`` (a filter on the aggregate)."""
    return {
        "NumericRangeFilter": {
            "FilterId": filter_id,
            "Column": column(dataset, name),
            "IncludeMinimum": True,
            "RangeMinimum": {"StaticValue": minimum},
            "AggregationFunction": {"NumericalAggregationFunction": {"SimpleNumericalAggregation": "SUM"}},
            "NullOption": "NON_NULLS_ONLY",
        }
    }


def period_filter(filter_id: str, dataset: str, name: str) -> dict[str, Any]:
    """A month range filter: from the first month of data to the last complete month, the one before the current
    month (a rolling date): with Gold refreshed daily the current month is always partial, and a partial month
    against a whole one is no comparison for the KPIs. The control reaches the current month too."""
    return {
        "TimeRangeFilter": {
            "FilterId": filter_id,
            "Column": column(dataset, name),
            "IncludeMinimum": True,
            "IncludeMaximum": True,
            "RangeMinimumValue": {"StaticValue": FIRST_MONTH},
            "RangeMaximumValue": {
                "RollingDate": {"DataSetIdentifier": dataset, "Expression": LAST_COMPLETE_MONTH}
            },
            "NullOption": "NON_NULLS_ONLY",
            "TimeGranularity": "MONTH",
        }
    }


def top_filter(filter_id: str, dataset: str, name: str, by: str, parameter: str) -> dict[str, Any]:
    """Keep the top N values of ``name`` by SUM(``by``); N comes from an integer parameter."""
    return {
        "TopBottomFilter": {
            "FilterId": filter_id,
            "Column": column(dataset, name),
            "Limit": TOP_REASONS_DEFAULT,
            "ParameterName": parameter,
            "AggregationSortConfigurations": [
                {
                    "Column": column(dataset, by),
                    "SortDirection": "DESC",
                    "AggregationFunction": {
                        "NumericalAggregationFunction": {"SimpleNumericalAggregation": "SUM"}
                    },
                }
            ],
        }
    }


def filter_group(
    group_id: str, filter_: dict[str, Any], sheet_id: str, visual_ids: list[str] | None = None
) -> dict[str, Any]:
    """A filter group over one dataset, applied to a whole sheet or to some of its visuals."""
    scope: dict[str, Any] = {"SheetId": sheet_id, "Scope": "ALL_VISUALS"}
    if visual_ids:
        scope = {"SheetId": sheet_id, "Scope": "SELECTED_VISUALS", "VisualIds": visual_ids}
    return {
        "FilterGroupId": group_id,
        "Filters": [filter_],
        "ScopeConfiguration": {"SelectedSheets": {"SheetVisualScopingConfigurations": [scope]}},
        "Status": "ENABLED",
        "CrossDataset": "SINGLE_DATASET",
    }


def dropdown_control(control_id: str, filter_id: str, text: str) -> dict[str, Any]:
    """A multi-select dropdown driving a category filter."""
    return {
        "Dropdown": {
            "FilterControlId": control_id,
            "Title": text,
            "SourceFilterId": filter_id,
            "Type": "MULTI_SELECT",
            "DisplayOptions": {"SelectAllOptions": {"Visibility": "VISIBLE"}},
        }
    }


def date_range_control(control_id: str, filter_id: str, text: str) -> dict[str, Any]:
    """A from/to date picker driving a time range filter."""
    return {
        "DateTimePicker": {
            "FilterControlId": control_id,
            "Title": text,
            "SourceFilterId": filter_id,
            "Type": "DATE_RANGE",
            "DisplayOptions": {"DateTimeFormat": "YYYY/MM"},
        }
    }


def integer_parameter(name: str, default: int) -> dict[str, Any]:
    """A single-valued integer parameter with a static default."""
    return {
        "IntegerParameterDeclaration": {
            "ParameterValueType": "SINGLE_VALUED",
            "Name": name,
            "DefaultValues": {"StaticValues": [default]},
        }
    }


def slider_control(control_id: str, parameter: str, text: str, minimum: int, maximum: int) -> dict[str, Any]:
    """A slider setting an integer parameter."""
    return {
        "Slider": {
            "ParameterControlId": control_id,
            "Title": text,
            "SourceParameterName": parameter,
            "MinimumValue": minimum,
            "MaximumValue": maximum,
            "StepSize": 1,
        }
    }


# ----------------------------------------------------------------------------------------------------------
# Layout
# ----------------------------------------------------------------------------------------------------------


def grid(elements: list[tuple[str, str, int, int, int, int]]) -> dict[str, Any]:
    """A grid layout (36 columns wide) from (element id, element type, column, row, width, height)."""
    return {
        "GridLayout": {
            "Elements": [
                {
                    "ElementId": element_id,
                    "ElementType": element_type,
                    "ColumnIndex": column_index,
                    "RowIndex": row_index,
                    "ColumnSpan": width,
                    "RowSpan": height,
                }
                for element_id, element_type, column_index, row_index, width, height in elements
            ],
            "CanvasSizeOptions": {
                "ScreenCanvasSizeOptions": {"ResizeOption": "FIXED", "OptimizedViewPortWidth": "1600px"}
            },
        }
    }


def control_bar(elements: list[tuple[str, str]]) -> dict[str, Any]:
    """The control bar above a sheet: the controls side by side, in the order given."""
    return {
        "GridLayout": {
            "Elements": [
                {
                    "ElementId": element_id,
                    "ElementType": element_type,
                    "ColumnIndex": 2 * index,
                    "RowIndex": 0,
                    "ColumnSpan": 2,
                    "RowSpan": 1,
                }
                for index, (element_id, element_type) in enumerate(elements)
            ]
        }
    }


def visual_id_of(visual: dict[str, Any]) -> str:
    """The VisualId inside a Visual union."""
    return next(iter(visual.values()))["VisualId"]


def visual_label(visual: dict[str, Any]) -> str:
    """A visual's id and title, for messages: ``donut_source ("Enquiries by source")``."""
    inner = next(iter(visual.values()))
    text = inner.get("Title", {}).get("FormatText", {}).get("PlainText")
    return f'{inner["VisualId"]} ("{text}")' if text else inner["VisualId"]


# Where a text box or a visual sits on its sheet's grid (36 columns wide): (column, row, width, height).
Box = tuple[int, int, int, int]


def interactive_sheet(
    sheet_id: str,
    name: str,
    sheet_title: str,
    visuals: list[tuple[dict[str, Any], Box]],
    filter_controls: list[dict[str, Any]],
    *,
    text_boxes: Sequence[tuple[dict[str, Any], Box]] = (),
    parameter_controls: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A sheet from its elements: the text boxes and visuals, each with its box on the grid (text boxes first), and
    the filter then parameter controls, side by side in the control bar; each layout reads its ids from them."""
    elements = [(element["SheetTextBoxId"], "TEXT_BOX", *box) for element, box in text_boxes]
    elements += [(visual_id_of(visual), "VISUAL", *box) for visual, box in visuals]
    controls = [(next(iter(c.values()))["FilterControlId"], "FILTER_CONTROL") for c in filter_controls]
    controls += [
        (next(iter(c.values()))["ParameterControlId"], "PARAMETER_CONTROL") for c in parameter_controls
    ]
    body: dict[str, Any] = {
        "SheetId": sheet_id,
        "Name": name,
        "Title": sheet_title,
        "ContentType": "INTERACTIVE",
    }
    if text_boxes:
        body["TextBoxes"] = [element for element, _ in text_boxes]
    body["Visuals"] = [visual for visual, _ in visuals]
    body["FilterControls"] = filter_controls
    if parameter_controls:
        body["ParameterControls"] = list(parameter_controls)
    body["Layouts"] = [{"Configuration": grid(elements)}]
    body["SheetControlLayouts"] = [{"Configuration": control_bar(controls)}]
    return body


# ----------------------------------------------------------------------------------------------------------
# The two sheets
# ----------------------------------------------------------------------------------------------------------


def management_sheet() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The "Management" sheet (what the console-made dashboard showed, plus on-time rate) and its filter groups."""
    m = MONTHLY
    enquiries = kpi(
        "kpi_enquiries",
        "Enquiries: latest month vs month before",
        measure("kpi_enquiries", m, "requests_opened"),
        date_dimension("kpi_enquiries", m, "month", "MONTH"),
        "PERCENT_DIFFERENCE",
    )
    delay = kpi(
        "kpi_avg_delay",
        "Average delay (days): latest month vs month before",
        measure("kpi_avg_delay", m, "avg_delay_days", aggregation=None),
        date_dimension("kpi_avg_delay", m, "month", "MONTH"),
        "DIFFERENCE",
        note=CLOSED_ONLY_NOTE,
    )
    on_time = kpi(
        "kpi_on_time",
        "On-time rate: latest month vs month before",
        measure("kpi_on_time", m, "on_time_rate", aggregation=None),
        date_dimension("kpi_on_time", m, "month", "MONTH"),
        "DIFFERENCE",
        note=CLOSED_ONLY_NOTE,
    )
    sources = donut(
        "donut_source",
        "Enquiries by source",
        category("donut_source", m, "source"),
        measure("donut_source", m, "requests_opened"),
    )
    by_year = line(
        "line_by_year",
        "Enquiries and average delay (days) per year",
        date_dimension("line_by_year", m, "month", "YEAR"),
        [measure("line_by_year", m, "requests_opened")],
        secondary=measure("line_by_year", m, "avg_delay_days", aggregation=None),
    )
    by_subject = bar(
        "bar_subject",
        "Enquiries by subject",
        category("bar_subject", m, "subject"),
        [measure("bar_subject", m, "requests_opened")],
    )
    top_reasons = bar(
        "bar_top_reasons",
        "Top reasons",
        category("bar_top_reasons", m, "reason"),
        [measure("bar_top_reasons", m, "requests_opened")],
        note="How many: the Top N reasons slider",
    )
    filters = [
        (
            "reason",
            category_filter("filter_reason", m, "reason"),
            dropdown_control("control_reason", "filter_reason", "Reason"),
        ),
        (
            "subject",
            category_filter("filter_subject", m, "subject"),
            dropdown_control("control_subject", "filter_subject", "Subject"),
        ),
        (
            "period",
            period_filter("filter_period", m, "month"),
            date_range_control("control_period", "filter_period", "Opening period"),
        ),
        (
            "source",
            category_filter("filter_source", m, "source"),
            dropdown_control("control_source", "filter_source", "Source"),
        ),
    ]
    groups = [filter_group(f"group_{name}", filter_, MANAGEMENT_SHEET) for name, filter_, _ in filters]
    groups.append(
        filter_group(
            "group_top_reasons",
            top_filter("filter_top_reasons", m, "reason", "requests_opened", TOP_REASONS_PARAMETER),
            MANAGEMENT_SHEET,
            visual_ids=["bar_top_reasons"],
        )
    )
    slider = slider_control("control_top_reasons", TOP_REASONS_PARAMETER, "Top N reasons", 1, TOP_REASONS_MAX)

    sheet = interactive_sheet(
        MANAGEMENT_SHEET,
        "Management",
        DASHBOARD_NAME,
        [
            (enquiries, (0, 2, 12, 6)),
            (delay, (12, 2, 12, 6)),
            (on_time, (24, 2, 12, 6)),
            (sources, (0, 8, 12, 12)),
            (by_year, (12, 8, 24, 12)),
            (by_subject, (0, 20, 18, 14)),
            (top_reasons, (18, 20, 18, 14)),
        ],
        [control for _, _, control in filters],
        text_boxes=[(text_box("header", DASHBOARD_NAME), (0, 0, 36, 2))],
        parameter_controls=[slider],
    )
    return sheet, groups


def analytics_sheet() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The "Analytics" sheet: on-time rate, time to close, the map, the backlog, the neighborhood scorecard."""
    on_time = line(
        "line_on_time_department",
        "On-time rate by department",
        date_dimension("line_on_time_department", MONTHLY, "month", "MONTH"),
        [measure("line_on_time_department", MONTHLY, "on_time_rate", aggregation=None)],
        colors=category("line_on_time_department", MONTHLY, "department"),
    )
    hours = bar(
        "bar_hours_by_type",
        "Hours to close by type: p50 and p90",
        category("bar_hours_by_type", RESOLUTION, "type"),
        [
            measure("bar_hours_by_type", RESOLUTION, "p50_hours_weighted", aggregation=None),
            measure("bar_hours_by_type", RESOLUTION, "p90_hours_weighted", aggregation=None),
        ],
        items_limit=25,
        note=f"Case-weighted over departments and years; the 25 slowest types with {MIN_CLOSED_CASES}+ closed cases "
        "with a duration",
    )
    requests_map = point_map(
        "map_requests",
        "Where requests come from (250 m cells)",
        numeric_dimension("map_requests", GEO, "cell_lat"),
        numeric_dimension("map_requests", GEO, "cell_lon"),
        measure("map_requests", GEO, "requests"),
    )
    backlog = line(
        "area_open_backlog",
        "Open backlog by department (end of week)",
        date_dimension("area_open_backlog", BACKLOG, "week_start", "WEEK"),
        [measure("area_open_backlog", BACKLOG, "open_cases")],
        colors=category("area_open_backlog", BACKLOG, "department"),
        chart_type="STACKED_AREA",
        tooltip_extra=[
            (measure("area_open_backlog", BACKLOG, "open_over_1y"), "of which open a year or more")
        ],
    )
    scorecard = table(
        "table_neighborhoods",
        "Neighborhood scorecard",
        SCORECARD,
        {
            "year": "Year",
            "neighborhood": "Neighborhood",
            "requests": "Requests",
            "closed_with_duration": "Closed (the median's cases)",
            "p50_hours": "Median hours to close",
            "on_time_rate": "On-time rate",
            "top_type": "Most frequent type",
            "share_of_city": "Share of city requests",
        },
        sort_by="requests",
    )
    department = category_filter("filter_department", MONTHLY, "department")
    # a type with a handful of cases would top the "slowest" chart on one stray case (p90 of 56,022 h on 5 cases)
    enough_cases = at_least_filter(
        "filter_enough_cases", RESOLUTION, "closed_with_duration", MIN_CLOSED_CASES
    )
    groups = [
        filter_group("group_department", department, ANALYTICS_SHEET, visual_ids=["line_on_time_department"]),
        filter_group("group_enough_cases", enough_cases, ANALYTICS_SHEET, visual_ids=["bar_hours_by_type"]),
    ]
    sheet = interactive_sheet(
        ANALYTICS_SHEET,
        "Analytics",
        "How fast Boston closes enquiries, and where they come from",
        [
            (on_time, (0, 0, 18, 12)),
            (hours, (18, 0, 18, 12)),
            (requests_map, (0, 12, 18, 14)),
            (backlog, (18, 12, 18, 14)),
            (scorecard, (0, 26, 36, 12)),
        ],
        [dropdown_control("control_department", "filter_department", "Department")],
    )
    return sheet, groups


def percent_format(dataset: str, name: str) -> dict[str, Any]:
    """Show a 0..1 column as a percentage with one decimal."""
    return {
        "Column": column(dataset, name),
        "FormatConfiguration": {
            "NumberFormatConfiguration": {
                "FormatConfiguration": {
                    "PercentageDisplayFormatConfiguration": {
                        "DecimalPlacesConfiguration": {"DecimalPlaces": 1}
                    }
                }
            }
        },
    }


def decimal_format(dataset: str, name: str) -> dict[str, Any]:
    """Show a number with one decimal."""
    return {
        "Column": column(dataset, name),
        "FormatConfiguration": {
            "NumberFormatConfiguration": {
                "FormatConfiguration": {
                    "NumberDisplayFormatConfiguration": {"DecimalPlacesConfiguration": {"DecimalPlaces": 1}}
                }
            }
        },
    }


def definition(target: Target) -> dict[str, Any]:
    """The analysis/dashboard Definition: datasets, calculated fields, parameter, filter groups, two sheets."""
    management, management_groups = management_sheet()
    analytics, analytics_groups = analytics_sheet()
    return {
        "DataSetIdentifierDeclarations": [
            {"Identifier": spec.identifier, "DataSetArn": target.arn(f"dataset/{spec.dataset_id}")}
            for spec in DATASETS
        ],
        "Sheets": [management, analytics],
        "CalculatedFields": [
            {"DataSetIdentifier": dataset, "Name": name, "Expression": expression}
            for dataset, name, expression in CALCULATED_FIELDS
        ],
        "ParameterDeclarations": [integer_parameter(TOP_REASONS_PARAMETER, TOP_REASONS_DEFAULT)],
        "FilterGroups": management_groups + analytics_groups,
        "ColumnConfigurations": [
            percent_format(MONTHLY, "on_time_rate"),
            decimal_format(MONTHLY, "avg_delay_days"),
            percent_format(SCORECARD, "on_time_rate"),
            percent_format(SCORECARD, "share_of_city"),
            decimal_format(SCORECARD, "p50_hours"),
            decimal_format(RESOLUTION, "p50_hours_weighted"),
            decimal_format(RESOLUTION, "p90_hours_weighted"),
        ],
        "AnalysisDefaults": {
            "DefaultNewSheetConfiguration": {
                "InteractiveLayoutConfiguration": {
                    "Grid": {
                        "CanvasSizeOptions": {
                            "ScreenCanvasSizeOptions": {
                                "ResizeOption": "FIXED",
                                "OptimizedViewPortWidth": "1600px",
                            }
                        }
                    }
                },
                "SheetContentType": "INTERACTIVE",
            }
        },
        # No Timezone: month and week_start are already Boston-local dates; a display zone would shift them.
        "Options": {"WeekStart": "MONDAY"},
    }


# ----------------------------------------------------------------------------------------------------------
# The request bodies
# ----------------------------------------------------------------------------------------------------------


def permissions(target: Target, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    """A ResourcePermission list granting ``actions`` to the target's principal."""
    return [{"Principal": target.principal_arn, "Actions": list(actions)}]


def data_source_request(target: Target) -> dict[str, Any]:
    """CreateDataSource: Athena through the given workgroup (its output location and engine settings apply)."""
    return {
        "AwsAccountId": target.account_id,
        "DataSourceId": DATA_SOURCE_ID,
        "Name": "Boston 311 (Athena)",
        "Type": "ATHENA",
        "DataSourceParameters": {"AthenaParameters": {"WorkGroup": target.athena_workgroup}},
        "Permissions": permissions(target, DATA_SOURCE_ACTIONS),
    }


def input_columns(spec: DatasetSpec) -> list[dict[str, str]]:
    """The dataset's typed InputColumns; DECIMAL columns are doubles on Athena, so SubType FLOAT."""
    columns = []
    for name, input_type in spec.columns:
        input_column = {"Name": name, "Type": input_type}
        if input_type == "DECIMAL":
            input_column["SubType"] = "FLOAT"
        columns.append(input_column)
    return columns


def dataset_request(target: Target, spec: DatasetSpec) -> dict[str, Any]:
    """CreateDataSet: a SPICE copy of one Athena view, its columns typed; map columns tagged lat/lon."""
    physical_id = spec.identifier.replace("_", "-")  # table ids allow [0-9a-zA-Z-] only
    request: dict[str, Any] = {
        "AwsAccountId": target.account_id,
        "DataSetId": spec.dataset_id,
        "Name": spec.name,
        "ImportMode": "SPICE",
        "PhysicalTableMap": {
            physical_id: {
                "RelationalTable": {
                    "DataSourceArn": target.arn(f"datasource/{DATA_SOURCE_ID}"),
                    "Catalog": ATHENA_CATALOG,
                    "Schema": target.database,
                    "Name": spec.view,
                    "InputColumns": input_columns(spec),
                }
            }
        },
        "Permissions": permissions(target, DATASET_ACTIONS),
    }
    if spec.geo_roles:
        request["LogicalTableMap"] = {
            physical_id: {
                "Alias": spec.view,
                "Source": {"PhysicalTableId": physical_id},
                "DataTransforms": [
                    {"TagColumnOperation": {"ColumnName": name, "Tags": [{"ColumnGeographicRole": role}]}}
                    for name, role in spec.geo_roles
                ],
            }
        }
    return request


def refresh_schedule_request(target: Target, spec: DatasetSpec) -> dict[str, Any]:
    """CreateRefreshSchedule: a full SPICE refresh every day after the daily pipeline."""
    return {
        "AwsAccountId": target.account_id,
        "DataSetId": spec.dataset_id,
        "Schedule": {
            "ScheduleId": REFRESH_SCHEDULE_ID,
            "ScheduleFrequency": {
                "Interval": "DAILY",
                "Timezone": REFRESH_TIMEZONE,
                "TimeOfTheDay": REFRESH_TIME_OF_DAY,
            },
            "RefreshType": "FULL_REFRESH",
        },
    }


def analysis_request(target: Target) -> dict[str, Any]:
    """CreateAnalysis with the Definition (the editable copy authors open in the console)."""
    return {
        "AwsAccountId": target.account_id,
        "AnalysisId": ANALYSIS_ID,
        "Name": DASHBOARD_NAME,
        "Definition": definition(target),
        "Permissions": permissions(target, ANALYSIS_ACTIONS),
    }


def dashboard_request(target: Target) -> dict[str, Any]:
    """CreateDashboard with the same Definition (the published, read-only copy)."""
    return {
        "AwsAccountId": target.account_id,
        "DashboardId": DASHBOARD_ID,
        "Name": DASHBOARD_NAME,
        "Definition": definition(target),
        "VersionDescription": "Deployed by quicksight/deploy.py",
        "DashboardPublishOptions": {
            "AdHocFilteringOption": {"AvailabilityStatus": "DISABLED"},
            "ExportToCSVOption": {"AvailabilityStatus": "ENABLED"},
            "SheetControlsOption": {"VisibilityState": "EXPANDED"},
        },
        "Permissions": permissions(target, DASHBOARD_ACTIONS),
    }


def all_requests(target: Target) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every create request, by file stem: {stem: (QuickSight operation, body)}, in deploy order."""
    requests: dict[str, tuple[str, dict[str, Any]]] = {
        "data_source": ("CreateDataSource", data_source_request(target))
    }
    for spec in DATASETS:
        requests[f"dataset_{spec.identifier}"] = ("CreateDataSet", dataset_request(target, spec))
        requests[f"refresh_schedule_{spec.identifier}"] = (
            "CreateRefreshSchedule",
            refresh_schedule_request(target, spec),
        )
    requests["analysis"] = ("CreateAnalysis", analysis_request(target))
    requests["dashboard"] = ("CreateDashboard", dashboard_request(target))
    return requests


def render(body: dict[str, Any]) -> str:
    """The reviewable JSON text of a body: sorted keys would scramble the reading order, so keep it."""
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def definition_texts() -> dict[str, str]:
    """The text of each ``<stem>.json`` under quicksight/definitions/, by stem: a request body for
    ``PLACEHOLDER_TARGET``, the operation's name beside it."""
    return {
        stem: render({"Operation": operation, "Request": body})
        for stem, (operation, body) in all_requests(PLACEHOLDER_TARGET).items()
    }


def write_definitions(out_dir: Path) -> list[Path]:
    """Write every ``definition_texts`` file as ``<stem>.json`` and drop stale files; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, text in definition_texts().items():
        path = out_dir / f"{stem}.json"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for stale in set(out_dir.glob("*.json")) - set(written):
        stale.unlink()
    return written


# ----------------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------------

# {column} in a QuickSight expression; ${Parameter} is a parameter, not a column.
_EXPRESSION_COLUMN = re.compile(r"(?<!\$)\{([^{}]+)\}")


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict nested anywhere in ``node`` (itself included), depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def _column_identifiers(node: Any) -> list[dict[str, str]]:
    """Every ColumnIdentifier ({DataSetIdentifier, ColumnName}) nested anywhere in ``node``."""
    return [d for d in _dicts(node) if "ColumnName" in d and "DataSetIdentifier" in d]


def _expressions(node: Any) -> list[str]:
    """Every ``Expression`` string nested anywhere in ``node`` (calculated measures, rolling dates)."""
    return [d["Expression"] for d in _dicts(node) if isinstance(d.get("Expression"), str)]


def check_column_references(definition: dict[str, Any], columns_by_dataset: dict[str, set[str]]) -> list[str]:
    """Every column a visual, filter or calculated field names must exist in its dataset; one message per miss.

    ``columns_by_dataset`` maps a DataSetIdentifier to its view's columns. Calculated fields count as
    columns of their dataset. Each message names the visual (id and title), filter or calculated field.
    """
    known = {dataset: set(columns) for dataset, columns in columns_by_dataset.items()}
    problems: list[str] = []
    calculated = definition.get("CalculatedFields", [])
    for field in calculated:
        known.setdefault(field.get("DataSetIdentifier", ""), set())
    for field in calculated:
        dataset = field.get("DataSetIdentifier", "")
        for name in _EXPRESSION_COLUMN.findall(field["Expression"]):
            if name not in columns_by_dataset.get(dataset, set()) and name not in {
                f["Name"] for f in calculated
            }:
                problems.append(
                    f"calculated field '{field['Name']}': column '{name}' is not in dataset '{dataset}'"
                )
        known[dataset].add(field["Name"])

    def check(owner: str, node: Any) -> None:
        for identifier in _column_identifiers(node):
            dataset, name = identifier["DataSetIdentifier"], identifier["ColumnName"]
            if dataset not in known:
                problems.append(f"{owner}: dataset '{dataset}' (column '{name}') is not declared")
            elif name not in known[dataset]:
                problems.append(f"{owner}: column '{name}' is not in dataset '{dataset}'")
        for expression in _expressions(node):
            for name in _EXPRESSION_COLUMN.findall(expression):
                if not any(name in columns for columns in known.values()):
                    problems.append(f"{owner}: expression column '{name}' is in no dataset")

    for sheet in definition.get("Sheets", []):
        for visual in sheet.get("Visuals", []):
            check(f"visual {visual_label(visual)} on sheet '{sheet.get('Name', sheet['SheetId'])}'", visual)
    for group in definition.get("FilterGroups", []):
        for filter_ in group.get("Filters", []):
            check(f"filter '{next(iter(filter_.values()))['FilterId']}'", filter_)
    for configuration in definition.get("ColumnConfigurations", []):
        check("column configuration", configuration)
    return problems


def check_internal_references(definition: dict[str, Any]) -> list[str]:
    """Ids that must agree inside a Definition: layouts vs. elements, controls vs. filters/parameters, FieldIds."""
    problems: list[str] = []
    filter_ids = {
        next(iter(f.values()))["FilterId"] for g in definition.get("FilterGroups", []) for f in g["Filters"]
    }
    parameters = {next(iter(p.values()))["Name"] for p in definition.get("ParameterDeclarations", [])}
    field_ids: dict[str, str] = {}
    for sheet in definition.get("Sheets", []):
        visuals = {visual_id_of(v): v for v in sheet.get("Visuals", [])}
        filter_controls = {
            next(iter(c.values()))["FilterControlId"]: c for c in sheet.get("FilterControls", [])
        }
        parameter_controls = {
            next(iter(c.values()))["ParameterControlId"]: c for c in sheet.get("ParameterControls", [])
        }
        text_boxes = {t["SheetTextBoxId"] for t in sheet.get("TextBoxes", [])}
        elements = {
            "VISUAL": set(visuals),
            "FILTER_CONTROL": set(filter_controls),
            "PARAMETER_CONTROL": set(parameter_controls),
            "TEXT_BOX": text_boxes,
        }
        placed: set[str] = set()
        for layout in sheet.get("Layouts", []) + sheet.get("SheetControlLayouts", []):
            for element in layout["Configuration"]["GridLayout"]["Elements"]:
                placed.add(element["ElementId"])
                if element["ElementId"] not in elements.get(element["ElementType"], set()):
                    problems.append(
                        f"sheet '{sheet['SheetId']}': layout places unknown {element['ElementType']} '{element['ElementId']}'"
                    )
        for kind, ids in elements.items():
            for missing in sorted(ids - placed):
                problems.append(f"sheet '{sheet['SheetId']}': {kind} '{missing}' is not placed in any layout")
        for control_id, control in filter_controls.items():
            if next(iter(control.values()))["SourceFilterId"] not in filter_ids:
                problems.append(f"filter control '{control_id}': its filter is not in any filter group")
        for control_id, control in parameter_controls.items():
            if next(iter(control.values()))["SourceParameterName"] not in parameters:
                problems.append(f"parameter control '{control_id}': its parameter is not declared")
        for visual_id, visual in visuals.items():
            for node in _field_nodes(visual):
                if node["FieldId"] in field_ids:
                    problems.append(
                        f"visual {visual_label(visual)}: FieldId '{node['FieldId']}' is also used by '{field_ids[node['FieldId']]}'"
                    )
                field_ids[node["FieldId"]] = visual_id
    for group in definition.get("FilterGroups", []):
        for filter_ in group["Filters"]:
            inner = next(iter(filter_.values()))
            if inner.get("ParameterName") and inner["ParameterName"] not in parameters:
                problems.append(
                    f"filter '{inner['FilterId']}': parameter '{inner['ParameterName']}' is not declared"
                )
    return problems


def _field_nodes(node: Any) -> list[dict[str, Any]]:
    """Every field (a dict with FieldId and Column) nested anywhere in ``node``, e.g. a visual's field wells."""
    return [d for d in _dicts(node) if "FieldId" in d and "Column" in d]


_UNION_DOC = re.compile(r"only one of the (attributes|members)", re.IGNORECASE)


def model_errors(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Check a request body against botocore's service model, beyond botocore's own validation.

    botocore checks required members, unknown members, types and minimums. This also checks enums,
    maximum lengths and counts, patterns, and one-of ("union"/"variant") structures.
    """
    from botocore.validate import ParamValidator

    input_shape = _service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, input_shape)
    errors = [report.generate_report()] if report.has_errors() else []
    _strict(input_shape, params, operation, errors)
    return errors


@functools.cache
def _service_model(service: str) -> Any:
    """botocore's model of a service, loaded once (the QuickSight model is large)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def _strict(shape: Any, value: Any, path: str, errors: list[str]) -> None:
    """The stricter checks of ``model_errors``, recursively."""
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        union = shape.metadata.get("union") or _UNION_DOC.search(getattr(shape, "documentation", "") or "")
        if union and len(value) != 1:
            errors.append(f"{path}: exactly one of {sorted(shape.members)} must be set, got {sorted(value)}")
        for key, item in value.items():
            if key in shape.members:
                _strict(shape.members[key], item, f"{path}.{key}", errors)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} items, at most {meta['max']} allowed")
        for index, item in enumerate(value):
            _strict(shape.member, item, f"{path}[{index}]", errors)
    elif shape.type_name == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} entries, at most {meta['max']} allowed")
        for key, item in value.items():
            _strict(shape.key, key, f"{path} key", errors)
            _strict(shape.value, item, f"{path}[{key!r}]", errors)
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} characters, at most {meta['max']} allowed")
        pattern = meta.get("pattern")
        if pattern:
            try:
                matches = re.fullmatch(pattern.lstrip("^").rstrip("$"), value, flags=re.DOTALL)
            except re.error:  # a Java-only construct; botocore does not check patterns either
                matches = True
            if not matches:
                errors.append(f"{path}: {value!r} does not match the pattern {pattern!r}")
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, int | float):  # noqa: SIM102
        if "max" in meta and value > meta["max"]:
            errors.append(f"{path}: {value} is above the maximum {meta['max']}")


def build_parser() -> argparse.ArgumentParser:
    """The command line: --write or --check."""
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write quicksight/definitions/*.json")
    action.add_argument(
        "--check", action="store_true", help="exit 1 when the committed JSON differs from the builder"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``--write``: render the request bodies into quicksight/definitions/; ``--check``: fail when out of date."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.write:
        for path in write_definitions(DEFINITIONS_DIR):
            log.info("wrote %s", path.relative_to(DEFINITIONS_DIR.parent.parent))
        return 0
    stale = []
    for stem, text in definition_texts().items():
        path = DEFINITIONS_DIR / f"{stem}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(stem)
    if stale:
        print(
            f"quicksight/definitions is out of date ({', '.join(stale)}): run python quicksight/definitions.py --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
