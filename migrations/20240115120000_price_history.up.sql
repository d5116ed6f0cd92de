-- Odds and traded volume per runner over time: the main time series (hypertable or partitioned).

SELECT cb_create_timeseries_table(
  'price_history',
  $columns$
    market_id text NOT NULL,
    selection_id bigint NOT NULL,
    observed_at timestamptz NOT NULL,
    back_price numeric(7, 2),
    back_size numeric(14, 2),
    lay_price numeric(7, 2),
    lay_size numeric(14, 2),
    last_traded_price numeric(7, 2),
    total_matched numeric(14, 2),
    PRIMARY KEY (market_id, selection_id, observed_at),
    FOREIGN KEY (market_id, selection_id) REFERENCES runners (market_id, selection_id)
  $columns$,
  'observed_at',
  interval '1 day'
);

CREATE INDEX price_history_observed_idx ON price_history (observed_at DESC);
