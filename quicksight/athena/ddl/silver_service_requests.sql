-- Silver: one row per service request, cleaned and typed (contract: docs/CONTRACTS.md).
-- Partition projection computes partitions from the ranges below, so no MSCK REPAIR / crawler is needed;
-- open_month is written unpadded (open_month=3), which is what an integer projection without digits produces.
-- The template keys below are written with a doubled dollar, string.Template's escape, so Athena gets them verbatim.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.silver_service_requests (
  `case_id` string,
  `source_system` string,
  `opened_at` timestamp,
  `target_at` timestamp,
  `closed_at` timestamp,
  `is_closed` boolean,
  `status_detail` string,
  `on_time` boolean,
  `hours_to_close` double,
  `department` string,
  `subject` string,
  `reason` string,
  `type` string,
  `queue` string,
  `case_title` string,
  `source` string,
  `source_raw` string,
  `neighborhood` string,
  `neighborhood_raw` string,
  `zipcode` string,
  `ward` string,
  `precinct` string,
  `street_name` string,
  `latitude` double,
  `longitude` double,
  `location_quality` string,
  `source_file` string,
  `ingested_at` timestamp
)
PARTITIONED BY (`open_year` int, `open_month` int)
STORED AS PARQUET
LOCATION '${silver_location}/service_requests/'
TBLPROPERTIES (
  'parquet.compression' = 'SNAPPY',
  'projection.enabled' = 'true',
  'projection.open_year.type' = 'integer',
  'projection.open_year.range' = '2011,2040',
  'projection.open_month.type' = 'integer',
  'projection.open_month.range' = '1,12',
  'storage.location.template' = '${silver_location}/service_requests/open_year=$${open_year}/open_month=$${open_month}/'
)
