-- Open backlog by department and week, with the change since the week before.
SELECT
  week_start,
  department,
  open_cases,
  open_over_1y,
  open_cases - LAG(open_cases) OVER (PARTITION BY department ORDER BY week_start) AS change_from_previous_week
FROM v_open_backlog
ORDER BY week_start, department
