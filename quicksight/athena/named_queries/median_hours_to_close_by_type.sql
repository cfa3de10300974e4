-- Median (and 90th percentile) hours to close by type, over every closed case in Silver with a duration
-- (closed_with_duration, as in v_monthly_requests and v_resolution_times).
-- approx_percentile returns one of the group's values: approximate on Athena's large groups (within
-- about 1 % in rank), exact on small ones; the local DuckDB layer computes it exactly (quantile_disc).
SELECT
  type,
  COUNT(*) AS closed_with_duration,
  approx_percentile(hours_to_close, 0.5) AS median_hours,
  approx_percentile(hours_to_close, 0.9) AS p90_hours,
  approx_percentile(hours_to_close, 0.5) / 24 AS median_days
FROM silver_service_requests
WHERE is_closed AND hours_to_close IS NOT NULL
GROUP BY type
ORDER BY closed_with_duration DESC, type
