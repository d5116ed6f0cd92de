-- Back to the upkeep of 20240110090000_timeseries_support, which does not move DEFAULT-partition rows.

CREATE OR REPLACE FUNCTION cb_ensure_partitions(p_table text, p_months_ahead integer DEFAULT 3)
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
