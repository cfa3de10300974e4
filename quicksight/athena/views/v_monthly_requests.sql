-- Dataset of the Management sheet: Gold monthly_requests with its partition column and pinned types.
-- Average delay (days) = SUM(sum_hours_to_close) / SUM(closed_with_duration) / 24;
-- on-time rate = SUM(closed_on_time) / (SUM(closed_on_time) + SUM(closed_late));
-- MAX(last_opened_date) over a month < the month's last day: the data stops inside that month (a partial month).
CREATE OR REPLACE VIEW v_monthly_requests AS
SELECT
  CAST(month AS date) AS month,
  CAST(year AS integer) AS year,
  department,
  subject,
  reason,
  type,
  source,
  neighborhood,
  CAST(requests_opened AS bigint) AS requests_opened,
  CAST(requests_closed AS bigint) AS requests_closed,
  CAST(closed_on_time AS bigint) AS closed_on_time,
  CAST(closed_late AS bigint) AS closed_late,
  CAST(still_open AS bigint) AS still_open,
  CAST(sum_hours_to_close AS double) AS sum_hours_to_close,
  CAST(closed_with_duration AS bigint) AS closed_with_duration,
  CAST(last_opened_date AS date) AS last_opened_date
FROM gold_monthly_requests
