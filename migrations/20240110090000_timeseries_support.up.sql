-- Time-series support for the baseline schema.
--
-- Time-series tables become TimescaleDB hypertables where TimescaleDB can be used (local
-- development, self-managed or Timescale-hosted PostgreSQL) and natively partitioned tables
-- (monthly RANGE partitions plus a DEFAULT partition) otherwise: RDS for PostgreSQL does not offer
-- the timescaledb extension. The same files serve both; the choice is made once, here, and recorded.
--
-- The choice, in order:
--   1. the setting clever_better.timeseries = 'partitioned' forces partitioning
--      (e.g. ALTER DATABASE clever_better SET clever_better.timeseries = 'partitioned');
--   2. timescaledb installed, or create_hypertable() already callable: hypertables;
--   3. the setting is 'timescaledb': CREATE EXTENSION timescaledb (the down migration drops it again);
--   4. timescaledb available and its loader preloaded: CREATE EXTENSION timescaledb, tried in a
--      guarded block that falls back to partitioning on any error (e.g. no right to create it).
--      "Preloaded" is read from timescaledb.disable_load, a setting the loader defines and every
--      user may read: shared_preload_libraries may only be read by superusers and members of
--      pg_read_all_settings, and CREATE EXTENSION without the preload ends the session (FATAL,
--      which no block catches);
--   5. otherwise: native partitioning.

CREATE TABLE cb_schema_settings (
  name text PRIMARY KEY,
  value text NOT NULL
);

-- Every time-series table, so partitions can be maintained for all of them at once.
CREATE TABLE cb_timeseries_tables (
  table_name text PRIMARY KEY,
  time_column text NOT NULL
);

DO $$
DECLARE
  requested text := NULLIF(current_setting('clever_better.timeseries', true), '');
  backend text := 'partitioned';
  created boolean := false;
BEGIN
  IF requested IS NOT NULL AND requested NOT IN ('timescaledb', 'partitioned') THEN
    RAISE EXCEPTION 'clever_better.timeseries = "%" is not a time-series backend', requested
      USING HINT = 'Set it to timescaledb or partitioned, or RESET it to choose automatically.';
  END IF;
  IF requested = 'partitioned' THEN
    backend := 'partitioned';
  ELSIF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
     OR EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'create_hypertable' AND pg_function_is_visible(oid)) THEN
    backend := 'timescaledb';
  ELSIF requested = 'timescaledb' THEN
    CREATE EXTENSION timescaledb;
    backend := 'timescaledb';
    created := true;
  ELSIF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
     AND current_setting('timescaledb.disable_load', true) IS NOT NULL THEN
    BEGIN
      CREATE EXTENSION timescaledb;
      backend := 'timescaledb';
      created := true;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'timescaledb is available but could not be created (%): native partitioning', SQLERRM;
    END;
  END IF;
  INSERT INTO cb_schema_settings (name, value)
  VALUES ('timeseries_backend', backend), ('timescaledb_created_by_migration', created::text);
END
$$;

-- Creates monthly partitions (UTC months) of one partitioned time-series table, from the current
-- month to p_months_ahead months ahead; existing ones are kept. Returns how many it created.
-- Does nothing for hypertables (TimescaleDB creates its chunks itself). Call it at least monthly,
-- e.g. SELECT cb_ensure_all_partitions(); when the bot starts (see docs/migrations.md).
CREATE FUNCTION cb_ensure_partitions(p_table text, p_months_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  month_start timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  last_start timestamp := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => p_months_ahead);
  partition text;
  created integer := 0;
BEGIN
  IF (SELECT value FROM cb_schema_settings WHERE name = 'timeseries_backend') <> 'partitioned' THEN
    RETURN 0;
  END IF;
  WHILE month_start <= last_start LOOP
    partition := format('%s_%s', p_table, to_char(month_start, 'YYYYMM'));
    IF to_regclass(quote_ident(partition)) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        partition, p_table, month_start AT TIME ZONE 'UTC', (month_start + interval '1 month') AT TIME ZONE 'UTC'
      );
      created := created + 1;
    END IF;
    month_start := month_start + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;

-- cb_ensure_partitions for every time-series table.
CREATE FUNCTION cb_ensure_all_partitions(p_months_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE sql
AS $$
  SELECT COALESCE(sum(cb_ensure_partitions(table_name, p_months_ahead)), 0)::integer FROM cb_timeseries_tables;
$$;

-- Creates a time-series table from its column list (which must include a primary key containing
-- p_time_column: both hypertables and partitioned tables require it): a hypertable with chunks of
-- p_chunk, or a table partitioned by month on p_time_column with a DEFAULT partition. Both get the
-- same indexes, the ones the migrations create: create_default_indexes => false keeps TimescaleDB
-- from adding its own time index (a duplicate of the project's, which every chunk then shares).
CREATE FUNCTION cb_create_timeseries_table(p_table text, p_columns text, p_time_column text, p_chunk interval)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF (SELECT value FROM cb_schema_settings WHERE name = 'timeseries_backend') = 'timescaledb' THEN
    EXECUTE format('CREATE TABLE %I (%s)', p_table, p_columns);
    EXECUTE format(
      'SELECT create_hypertable(%L, %L, chunk_time_interval => %L::interval, create_default_indexes => false)',
      p_table, p_time_column, p_chunk
    );
  ELSE
    EXECUTE format('CREATE TABLE %I (%s) PARTITION BY RANGE (%I)', p_table, p_columns, p_time_column);
    -- Rows outside every monthly partition land here rather than failing an insert.
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', p_table || '_default', p_table);
  END IF;
  INSERT INTO cb_timeseries_tables (table_name, time_column) VALUES (p_table, p_time_column);
  PERFORM cb_ensure_partitions(p_table);
END
$$;
