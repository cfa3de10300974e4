-- Requests opened per neighborhood and month, with the neighborhood's share of that month's city total.
SELECT
  month,
  neighborhood,
  CAST(SUM(requests_opened) AS bigint) AS requests_opened,  -- bigint in both engines (DuckDB widens a SUM to HUGEINT)
  CAST(SUM(requests_opened) AS double) / SUM(SUM(requests_opened)) OVER (PARTITION BY month) AS share_of_month
FROM v_monthly_requests
GROUP BY month, neighborhood
ORDER BY month, requests_opened DESC, neighborhood
