-- Dataset of "open backlog by department": cases open at the end of each week (week_start = Monday).
CREATE OR REPLACE VIEW v_open_backlog AS
SELECT
  CAST(week_start AS date) AS week_start,
  department,
  CAST(open_cases AS bigint) AS open_cases
FROM gold_open_backlog
