-- Trading strategies, their runs (live, paper or backtest) and each run's performance over time.

CREATE TABLE strategies (
  strategy_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  version text NOT NULL,
  description text,
  parameters jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, version)
);

CREATE TABLE strategy_runs (
  run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  strategy_id bigint NOT NULL REFERENCES strategies (strategy_id),
  mode text NOT NULL CHECK (mode IN ('live', 'paper', 'backtest')),
  bot_version text,
  parameters jsonb NOT NULL DEFAULT '{}',
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);

CREATE INDEX strategy_runs_strategy_idx ON strategy_runs (strategy_id, started_at DESC);

SELECT cb_create_timeseries_table(
  'strategy_performance',
  $columns$
    run_id bigint NOT NULL REFERENCES strategy_runs (run_id),
    measured_at timestamptz NOT NULL,
    bets_placed integer NOT NULL DEFAULT 0,
    bets_settled integer NOT NULL DEFAULT 0,
    turnover numeric(14, 2) NOT NULL DEFAULT 0,
    net_profit numeric(14, 2) NOT NULL DEFAULT 0,
    max_drawdown numeric(14, 2),
    PRIMARY KEY (run_id, measured_at)
  $columns$,
  'measured_at',
  interval '7 days'
);
