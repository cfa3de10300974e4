-- The Glue Data Catalog database that holds the Silver and Gold tables and the dashboard views.
CREATE DATABASE IF NOT EXISTS ${database}
COMMENT 'Boston 311 service requests: Silver and Gold tables of the medallion lake'
