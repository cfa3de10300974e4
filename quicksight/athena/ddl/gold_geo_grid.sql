-- Gold: requests per year, type and ~250 m grid cell (cell_lat/cell_lon), trusted coordinates only.
CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.gold_geo_grid (
  `year` int,
  `type` string,
  `cell_lat` double,
  `cell_lon` double,
  `requests` bigint
)
STORED AS PARQUET
LOCATION '${gold_location}/geo_grid/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
