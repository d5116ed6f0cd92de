-- Partition upkeep that heals itself. A row dated beyond the pre-created months lands in the
-- table's DEFAULT partition, and from then on creating the partition for its month fails
-- ("updated partition constraint for default partition ... would be violated"). Now, when a month's
-- partition is created and the DEFAULT partition holds rows of that month, they are moved into it:
-- detach the DEFAULT partition, create the month's partition, move the rows, attach the DEFAULT
-- partition again. The caller's transaction holds all of it (the migration function calls this once
-- per table, each call its own transaction), so a failure leaves the table as it was.

CREATE OR REPLACE FUNCTION cb_ensure_partitions(p_table text, p_months_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  month_start timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  last_start timestamp := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => p_months_ahead);
  partition text;
  lower_bound timestamptz;
  upper_bound timestamptz;
  default_partition text;
  time_column text;
  column_list text;
  stray bigint;
  created integer := 0;
BEGIN
  IF (SELECT value FROM cb_schema_settings WHERE name = 'timeseries_backend') <> 'partitioned' THEN
    RETURN 0;
  END IF;
  SELECT t.time_column INTO time_column FROM cb_timeseries_tables t WHERE t.table_name = p_table;
  SELECT d.relname INTO default_partition
    FROM pg_partitioned_table pt JOIN pg_class d ON d.oid = pt.partdefid
   WHERE pt.partrelid = to_regclass(quote_ident(p_table));
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO column_list
    FROM pg_attribute a
   WHERE a.attrelid = to_regclass(quote_ident(p_table)) AND a.attnum > 0 AND NOT a.attisdropped;
  WHILE month_start <= last_start LOOP
    partition := format('%s_%s', p_table, to_char(month_start, 'YYYYMM'));
    IF to_regclass(quote_ident(partition)) IS NULL THEN
      lower_bound := month_start AT TIME ZONE 'UTC';
      upper_bound := (month_start + interval '1 month') AT TIME ZONE 'UTC';
      stray := 0;
      IF default_partition IS NOT NULL AND time_column IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM %I WHERE %I >= $1 AND %I < $2', default_partition, time_column, time_column)
          INTO stray USING lower_bound, upper_bound;
      END IF;
      IF stray > 0 THEN
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p_table, default_partition);
        EXECUTE format(
          'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', partition, p_table, lower_bound, upper_bound
        );
        EXECUTE format(
          'WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING %s) INSERT INTO %I (%s) SELECT %s FROM moved',
          default_partition, time_column, time_column, column_list, partition, column_list, column_list
        ) USING lower_bound, upper_bound;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I DEFAULT', p_table, default_partition);
        RAISE NOTICE 'moved % row(s) from % into %', stray, default_partition, partition;
      ELSE
        EXECUTE format(
          'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', partition, p_table, lower_bound, upper_bound
        );
      END IF;
      created := created + 1;
    END IF;
    month_start := month_start + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;
