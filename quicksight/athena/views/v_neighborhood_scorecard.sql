-- Dataset of the neighborhood scorecard: one row per year and neighborhood.
CREATE OR REPLACE VIEW v_neighborhood_scorecard AS
SELECT
  CAST(year AS integer) AS year,
  neighborhood,
  CAST(requests AS bigint) AS requests,
  CAST(closed_with_duration AS bigint) AS closed_with_duration,
  CAST(p50_hours AS double) AS p50_hours,
  CAST(on_time_rate AS double) AS on_time_rate,
  top_type,
  CAST(share_of_city AS double) AS share_of_city
FROM gold_neighborhood_scorecard
