-- Channel mix: requests opened per month and source (channel), with the source's share of the month.
SELECT
  month,
  source,
  CAST(SUM(requests_opened) AS bigint) AS requests_opened,  -- bigint in both engines (DuckDB widens a SUM to HUGEINT)
  CAST(SUM(requests_opened) AS double) / SUM(SUM(requests_opened)) OVER (PARTITION BY month) AS share_of_month
FROM v_monthly_requests
GROUP BY month, source
ORDER BY month, requests_opened DESC, source
