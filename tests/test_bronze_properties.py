"""Properties of Bronze's pure helpers on generated inputs (Hypothesis), each stated from docs/bronze.md.

The example tests (test_bronze_discovery.py, test_bronze_s3.py) show one input each; these state what must hold for
every name or value the portal could send. More examples: ``HYPOTHESIS_PROFILE=explore`` (tests/conftest.py).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from hypothesis import example, given
from hypothesis import strategies as st

import ingestao_bronze as bronze
from bronze_storage import s3_metadata
from lake import Lake

SAFE_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
# Characters a name from the portal may carry that a key must not: separators, spaces, dashes, accents, controls.
UNSAFE_CHARACTERS = " /\\:?*%#\u2013\u00e9\u00f1\n\t\x00\u202e~"


def hidden_from_spark(name: str) -> bool:
    """Whether Spark's file listing skips a file of this name (HadoopFSUtils.shouldFilterOutPathName in Spark 3.5:
    a leading ``_`` or ``.``, or a ``._COPYING_`` end, the name ``hadoop fs -put`` gives a copy in progress)."""
    return name.startswith(("_", ".")) or name.endswith("._COPYING_")


# File names as the portal gives them (tmpXXXX.csv, lagan_311_open_data_2024_rvsd3.csv), with every kind of
# character mixed in, and names longer than MAX_FILE_NAME.
portal_names = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=SAFE_CHARACTERS + UNSAFE_CHARACTERS, max_size=300),
    st.builds(
        "".join,
        st.tuples(
            st.text(alphabet=SAFE_CHARACTERS + UNSAFE_CHARACTERS, min_size=1, max_size=250),
            st.sampled_from(["", ".csv", ".CSV", ".tar.gz", "._COPYING_", ".averylongextension", "."]),
        ),
    ),
)


@given(portal_names)
@example("x._COPYING_")
@example("..")
@example("._secret.csv")
def test_a_key_file_name_is_safe_short_and_visible_to_silver(raw: str) -> None:
    name = bronze.key_file_name(raw)

    # docs/bronze.md, Landing: characters outside [A-Za-z0-9._-] become _, at most 180 characters
    assert re.fullmatch(r"[A-Za-z0-9._-]*", name)
    assert len(name) <= bronze.MAX_FILE_NAME
    # no separator, so the name is one path component, never `..`
    assert "/" not in name and name not in (".", "..")
    # a name Spark's listing skips would be read by Silver as a file of no rows
    assert not hidden_from_spark(name)
    # a name already made safe stays as it is: the same key however often it is made safe
    assert bronze.key_file_name(name) == name


@given(st.text(alphabet=SAFE_CHARACTERS, min_size=1, max_size=bronze.MAX_FILE_NAME))
def test_a_safe_name_the_listing_shows_is_kept_as_the_portal_wrote_it(raw: str) -> None:
    if not hidden_from_spark(raw):
        assert bronze.key_file_name(raw) == raw


@given(
    st.text(alphabet=SAFE_CHARACTERS, min_size=1, max_size=80).filter(lambda s: not s.startswith((".", "_"))),
    st.text(alphabet=SAFE_CHARACTERS, max_size=80),
    st.sampled_from(UNSAFE_CHARACTERS),
    st.sampled_from(UNSAFE_CHARACTERS),
)
def test_names_that_differ_only_in_unsafe_characters_share_a_key(
    start: str, end: str, one: str, other: str
) -> None:
    # documented (docs/bronze.md, Landing): the landing then keeps both objects, the second under
    # <stem>.<run_id>.<ext> when its bytes differ, as for two resources with one file name
    assert bronze.key_file_name(start + one + end) == bronze.key_file_name(start + other + end)


@given(
    st.text(alphabet=SAFE_CHARACTERS, min_size=bronze.MAX_FILE_NAME + 1, max_size=400).filter(
        lambda s: not s.startswith((".", "_"))
    ),
    st.sampled_from([".csv", ".gz", ""]),
    st.data(),
)
def test_a_long_name_keeps_its_start_and_extension_and_a_digest_of_the_whole(
    stem: str, extension: str, data: st.DataObject
) -> None:
    raw = stem + extension
    name = bronze.key_file_name(raw)

    assert len(name) == bronze.MAX_FILE_NAME
    assert name.startswith(stem[:100])
    if extension:
        assert name.endswith(extension)
    # two long names that differ only past the start the key keeps get two keys (the digest is of the whole name)
    position = data.draw(st.integers(min_value=160, max_value=len(stem) - 1))
    replacement = data.draw(st.sampled_from(SAFE_CHARACTERS).filter(lambda c: c != stem[position]))
    other = stem[:position] + replacement + stem[position + 1 :] + extension
    assert bronze.key_file_name(other) != name


def test_a_name_spark_would_skip_lands_as_one_silver_reads(spark, tmp_path) -> None:
    """A file named ``….csv._COPYING_`` was read by Spark as a file of no rows: its cases silently missing from
    Silver."""
    name = bronze.key_file_name("311_service_requests_2024.csv._COPYING_")
    (tmp_path / name).write_text("case_id,open_dt\n1,2024-01-01 10:00:00\n", encoding="utf-8")

    read = (
        spark.read.schema("case_id string, open_dt string").option("header", True).csv(str(tmp_path / name))
    )

    assert read.count() == 1


# Metadata values: URLs as the portal lists them (with %-escapes, en dashes, spaces) and resource ids.
metadata_values = st.one_of(
    st.text(max_size=200),
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                ["https://data.boston.gov/dataset/", "%20", "%E2%80%93", "%", "%4", " ", "\u2013"]
            )
            | st.text(max_size=5),
            max_size=12,
        ),
    ),
)


@given(st.dictionaries(st.sampled_from(["sha256", "source-url", "resource-id"]), metadata_values))
@example({"source-url": "https://x/311 \u2013 2023.csv", "resource-id": "r\u00e9source\n2023"})
def test_s3_metadata_is_header_ascii_and_decodes_to_what_the_portal_gave(metadata: dict[str, str]) -> None:
    stored = s3_metadata(metadata)

    assert stored.keys() == metadata.keys()
    for name, value in metadata.items():
        # docs/bronze.md + bronze_storage: US-ASCII header text, no spaces or controls (botocore refuses the rest)
        assert all("!" <= ch <= "~" for ch in stored[name])
        # percent-encoded as a URL is on the wire: the same URL once decoded; an existing %-escape is kept as the
        # portal wrote it, so the value itself comes back whenever it held no '%'
        assert unquote(stored[name]) == unquote(value)
        if "%" not in value:
            assert unquote(stored[name]) == value
        # a value that needs no encoding is stored as it is
        assert s3_metadata({name: stored[name]})[name] == stored[name]


TERMINAL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@given(st.text())
@example("\x1b[31mred\x1b[0m\r\nforged line\x08")
def test_printable_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = bronze.printable(text)

    # docs: an ANSI escape, a newline, a backspace or any other control is written as its escape
    assert not TERMINAL_CONTROLS.search(shown)
    assert shown.isprintable()
    assert bronze.printable(shown) == shown
    if text.isprintable():
        assert shown == text
    assert all(unicodedata.category(ch)[0] != "C" for ch in shown)


# Lake roots as a user types them for --lake / LAKE_ROOT.
bucket_names = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True)
prefix_parts = st.lists(st.from_regex(r"[A-Za-z0-9_.=-]{1,12}", fullmatch=True), max_size=3)


@given(bucket_names, prefix_parts, st.integers(1, 3), st.integers(0, 2))
@example("my-bucket", ["lake"], 2, 0)
def test_an_s3_lake_names_the_same_objects_as_a_uri_and_as_bucket_and_key(
    bucket: str, parts: list[str], leading: int, trailing: int
) -> None:
    # s3://bucket/lake, s3://bucket/lake/, and what a "s3://$BUCKET/$PREFIX" with PREFIX="/lake" gives
    uri = f"s3://{bucket}" + ("/" * leading + "/".join(parts) if parts else "") + "/" * trailing
    lake = Lake.from_uri(uri)

    assert lake.is_s3 and lake.bucket == bucket
    # Bronze writes at bucket + key_prefix + key (boto3); deploy.py gives Athena lake.silver, lake.gold (path)
    key = "bronze/boston311/_state/resources.json"
    assert lake.path(key) == f"s3://{lake.bucket}/{lake.key_prefix}{key}"
    assert lake.key_prefix == ("/".join(parts) + "/" if parts else "")
