-- Gold: requests per month (Boston local time of opened_at) and group; every measure is additive but
-- last_opened_date (the Boston day of the group's latest opening), which rolls up with max.
-- Partition projection on year, like Silver, so new years need no MSCK REPAIR.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.gold_monthly_requests (
  `month` date,
  `department` string,
  `subject` string,
  `reason` string,
  `type` string,
  `source` string,
  `neighborhood` string,
  `requests_opened` bigint,
  `requests_closed` bigint,
  `closed_on_time` bigint,
  `closed_late` bigint,
  `still_open` bigint,
  `sum_hours_to_close` double,
  `closed_with_duration` bigint,
  `last_opened_date` date
)
PARTITIONED BY (`year` int)
STORED AS PARQUET
LOCATION '${gold_location}/monthly_requests/'
TBLPROPERTIES (
  'parquet.compression' = 'SNAPPY',
  'projection.enabled' = 'true',
  'projection.year.type' = 'integer',
  'projection.year.range' = '2011,2040',
  'storage.location.template' = '${gold_location}/monthly_requests/year=$${year}/'
)
