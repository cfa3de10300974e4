-- Dataset of "p50/p90 hours to close by type": one row per year, department and type; the percentiles and
-- mean are over closed_with_duration of the closed_cases (a closed case without closed_at has no duration).
CREATE OR REPLACE VIEW v_resolution_times AS
SELECT
  CAST(year AS integer) AS year,
  department,
  type,
  CAST(closed_cases AS bigint) AS closed_cases,
  CAST(closed_with_duration AS bigint) AS closed_with_duration,
  CAST(p50_hours AS double) AS p50_hours,
  CAST(p90_hours AS double) AS p90_hours,
  CAST(mean_hours AS double) AS mean_hours,
  CAST(on_time_rate AS double) AS on_time_rate
FROM gold_resolution_times
