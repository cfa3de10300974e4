-- Silver's quarantine: every record Silver could not trust, with why (reject_reason: malformed_record,
-- unclosed_quote, missing_case_id, unparsable_opened_at, closed_before_opened, ...), where it came from (source_file, dataset,
-- source_era, ingested_at, row_position) and the record as read (raw_record). Each Silver run writes its own
-- run_id=<run>/ folder under quarantine/; the table is not partitioned, so Athena (and DuckDB locally) read every
-- run's folder under the location.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.silver_quarantine (
  `reject_reason` string,
  `source_file` string,
  `raw_record` string,
  `dataset` string,
  `source_era` string,
  `ingested_at` timestamp,
  `case_id` string,
  `row_position` bigint
)
STORED AS PARQUET
LOCATION '${silver_location}/quarantine/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
