-- Dataset of "open backlog by department": cases open at the end of each week (week_start = Monday), and of
-- those the ones open for a year or more (opened 52 weeks or more before the week).
CREATE OR REPLACE VIEW v_open_backlog AS
SELECT
  CAST(week_start AS date) AS week_start,
  department,
  CAST(open_cases AS bigint) AS open_cases,
  CAST(open_over_1y AS bigint) AS open_over_1y
FROM gold_open_backlog
