-- Undoes 20261201040000_service_roles.up.sql: the grants in this database, then the roles where
-- no other database of the server still grants them something (roles are server-wide).

REVOKE ALL ON markets, runners, price_history, strategies, strategy_runs, strategy_performance, bets,
  bet_events, ml_predictions FROM clever_better_bot, clever_better_ml;
REVOKE ALL ON SCHEMA public FROM clever_better_bot, clever_better_ml;
GRANT EXECUTE ON FUNCTION cb_create_timeseries_table(text, text, text, interval) TO PUBLIC;
GRANT EXECUTE ON FUNCTION cb_ensure_partitions(text, integer) TO PUBLIC;
GRANT EXECUTE ON FUNCTION cb_ensure_all_partitions(integer) TO PUBLIC;

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['clever_better_bot', 'clever_better_ml'] LOOP
    BEGIN
      EXECUTE format('DROP ROLE IF EXISTS %I', r);
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'role % kept: another database of this server still grants it rights', r;
    END;
  END LOOP;
END
$$;
