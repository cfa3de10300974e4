-- Gold: cases open at the end of each week (week_start is the Monday), per department; open_over_1y of them
-- opened 52 weeks or more before the week.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.gold_open_backlog (
  `week_start` date,
  `department` string,
  `open_cases` bigint,
  `open_over_1y` bigint
)
STORED AS PARQUET
LOCATION '${gold_location}/open_backlog/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
