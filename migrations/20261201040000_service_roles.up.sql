-- One database role per service, with exactly the rights each uses (docs/database-users.md).
-- The services no longer log in as the RDS master user: a compromised ml-service cannot touch bets,
-- and neither service can change the schema. The roles are created without a password (NOLOGIN);
-- the migration function gives each one LOGIN and the password of its own Secrets Manager secret
-- after every deploy's migration (lambda/db-migrate/service-logins.ts), so this file needs no secret
-- and runs the same from the golang-migrate CLI.
--
-- Roles belong to the whole PostgreSQL server, not to this database: create them only if absent.
-- A new table gets its grants in the migration that creates it (test/db-migrate/service-roles.test.ts
-- fails on a table nobody decided about).

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clever_better_bot') THEN
    CREATE ROLE clever_better_bot NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clever_better_ml') THEN
    CREATE ROLE clever_better_ml NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END
$$;

-- Nobody but the owner (the migration user) creates objects (PostgreSQL 15+ gives PUBLIC no CREATE
-- on schema public) or runs the partition maintenance: those functions create tables.
GRANT USAGE ON SCHEMA public TO clever_better_bot, clever_better_ml;
REVOKE EXECUTE ON FUNCTION cb_create_timeseries_table(text, text, text, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION cb_ensure_partitions(text, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION cb_ensure_all_partitions(integer) FROM PUBLIC;

-- The bot: stores the markets, runners and prices it reads from Betfair, registers its strategy
-- and runs, places bets and records what Betfair reports about them; reads the predictions.
GRANT SELECT, INSERT, UPDATE ON markets, runners TO clever_better_bot;
GRANT SELECT, INSERT ON price_history TO clever_better_bot;
GRANT SELECT, INSERT ON strategies TO clever_better_bot;
GRANT SELECT, INSERT ON strategy_runs TO clever_better_bot;
GRANT UPDATE (ended_at) ON strategy_runs TO clever_better_bot;
GRANT SELECT, INSERT ON strategy_performance TO clever_better_bot;
-- A bet's order (market, selection, side, price, size, live) never changes after it is placed:
-- only what Betfair reports about it does. No DELETE anywhere: bets are the trading record.
GRANT SELECT, INSERT ON bets TO clever_better_bot;
GRANT UPDATE (betfair_bet_id, status, size_matched, average_price_matched, size_cancelled, profit,
              settled_at, updated_at) ON bets TO clever_better_bot;
GRANT SELECT, INSERT ON bet_events TO clever_better_bot;
GRANT SELECT ON ml_predictions TO clever_better_bot;

-- ml-service: reads the market data it predicts from, writes its predictions. No bets, no strategies.
GRANT SELECT ON markets, runners, price_history TO clever_better_ml;
GRANT SELECT, INSERT ON ml_predictions TO clever_better_ml;
