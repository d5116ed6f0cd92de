DO $$
BEGIN
  IF (SELECT value FROM cb_schema_settings WHERE name = 'timescaledb_created_by_migration') = 'true' THEN
    DROP EXTENSION timescaledb;
  END IF;
END
$$;

DROP FUNCTION cb_create_timeseries_table(text, text, text, interval);
DROP FUNCTION cb_ensure_all_partitions(integer);
DROP FUNCTION cb_ensure_partitions(text, integer);
DROP TABLE cb_timeseries_tables;
DROP TABLE cb_schema_settings;
