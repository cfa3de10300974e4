-- Gold: time to close per year, department and type (p50/p90 are Spark percentile_approx).
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.gold_resolution_times (
  `year` int,
  `department` string,
  `type` string,
  `closed_cases` bigint,
  `closed_with_duration` bigint,
  `p50_hours` double,
  `p90_hours` double,
  `mean_hours` double,
  `on_time_rate` double
)
STORED AS PARQUET
LOCATION '${gold_location}/resolution_times/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
