-- On-time rate by department and month: closed on time / (closed on time + closed late), of the cases
-- opened that month; months where nothing has closed with a known on_time get NULL, not 0.
SELECT
  month,
  department,
  CAST(SUM(closed_on_time) AS bigint) AS closed_on_time,  -- bigint in both engines (DuckDB widens a SUM to HUGEINT)
  CAST(SUM(closed_late) AS bigint) AS closed_late,
  CAST(SUM(closed_on_time) AS double) / NULLIF(SUM(closed_on_time) + SUM(closed_late), 0) AS on_time_rate
FROM v_monthly_requests
GROUP BY month, department
ORDER BY month, department
