-- Parallel run: the columns that differ most, over every comparison recorded (value vs value plus null vs
-- value; differences within tolerance are not mismatches). Runs as it is on Snowflake and DuckDB.
SELECT r.STRM_NAME,
       r.NEW_RELATION,
       c.COLUMN_NAME,
       c.NEW_COLUMN_NAME,
       COUNT(DISTINCT r.PROCESS_DATE) AS DAYS_WITH_MISMATCHES,
       SUM(c.VALUE_MISMATCHES) AS VALUE_MISMATCHES,
       SUM(c.NULL_MISMATCHES) AS NULL_MISMATCHES,
       SUM(c.VALUE_MISMATCHES + c.NULL_MISMATCHES) AS MISMATCHES
FROM COMPARE_COLUMNS c
JOIN COMPARE_RUNS r ON r.COMPARE_ID = c.COMPARE_ID
WHERE c.VALUE_MISMATCHES + c.NULL_MISMATCHES > 0
GROUP BY r.STRM_NAME, r.NEW_RELATION, c.COLUMN_NAME, c.NEW_COLUMN_NAME
ORDER BY MISMATCHES DESC, r.STRM_NAME, c.COLUMN_NAME;
