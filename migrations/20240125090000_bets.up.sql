-- Bets and their lifecycle. `bets` holds each order's current state; `bet_events` is the
-- append-only history of every state change Betfair reported.

CREATE TABLE bets (
  bet_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_ref text NOT NULL UNIQUE CHECK (length(customer_ref) <= 32), -- sent to Betfair; de-duplicates resubmissions
  betfair_bet_id text UNIQUE, -- assigned by Betfair when it accepts the order
  run_id bigint REFERENCES strategy_runs (run_id),
  market_id text NOT NULL,
  selection_id bigint NOT NULL,
  side text NOT NULL CHECK (side IN ('BACK', 'LAY')),
  order_type text NOT NULL DEFAULT 'LIMIT' CHECK (order_type IN ('LIMIT', 'LIMIT_ON_CLOSE', 'MARKET_ON_CLOSE')),
  persistence_type text NOT NULL DEFAULT 'LAPSE' CHECK (persistence_type IN ('LAPSE', 'PERSIST', 'MARKET_ON_CLOSE')),
  live boolean NOT NULL, -- placed with live trading on (false: paper trade)
  requested_price numeric(7, 2) NOT NULL CHECK (requested_price BETWEEN 1.01 AND 1000),
  requested_size numeric(14, 2) NOT NULL CHECK (requested_size > 0),
  status text NOT NULL DEFAULT 'PENDING'
    CHECK (status IN ('PENDING', 'EXECUTABLE', 'EXECUTION_COMPLETE', 'CANCELLED', 'LAPSED', 'VOIDED', 'FAILED', 'SETTLED')),
  size_matched numeric(14, 2) NOT NULL DEFAULT 0,
  average_price_matched numeric(7, 2),
  size_cancelled numeric(14, 2) NOT NULL DEFAULT 0,
  profit numeric(14, 2), -- set at settlement
  placed_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (market_id, selection_id) REFERENCES runners (market_id, selection_id),
  CHECK (size_matched + size_cancelled <= requested_size)
);

-- What the emergency stop and the bot look for: orders that can still be matched.
CREATE INDEX bets_unsettled_idx ON bets (market_id) WHERE status IN ('PENDING', 'EXECUTABLE');
CREATE INDEX bets_run_idx ON bets (run_id, placed_at);

CREATE TABLE bet_events (
  event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bet_id bigint NOT NULL REFERENCES bets (bet_id),
  occurred_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL,
  size_matched numeric(14, 2),
  average_price_matched numeric(7, 2),
  detail jsonb NOT NULL DEFAULT '{}' -- Betfair's report (instruction report, error code, …)
);

CREATE INDEX bet_events_bet_idx ON bet_events (bet_id, occurred_at);
