-- Gold: one row per year and neighborhood.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.gold_neighborhood_scorecard (
  `year` int,
  `neighborhood` string,
  `requests` bigint,
  `closed_with_duration` bigint,
  `p50_hours` double,
  `on_time_rate` double,
  `top_type` string,
  `share_of_city` double
)
STORED AS PARQUET
LOCATION '${gold_location}/neighborhood_scorecard/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
