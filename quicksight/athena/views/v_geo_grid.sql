-- Dataset of the map: requests per year, type and ~250 m cell (centre at cell_lat, cell_lon).
CREATE OR REPLACE VIEW v_geo_grid AS
SELECT
  CAST(year AS integer) AS year,
  type,
  CAST(cell_lat AS double) AS cell_lat,
  CAST(cell_lon AS double) AS cell_lon,
  CAST(requests AS bigint) AS requests
FROM gold_geo_grid
