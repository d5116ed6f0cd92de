-- Predictions of the ML service per runner over time (hypertable or partitioned).

SELECT cb_create_timeseries_table(
  'ml_predictions',
  $columns$
    market_id text NOT NULL,
    selection_id bigint NOT NULL,
    predicted_at timestamptz NOT NULL,
    model_name text NOT NULL,
    model_version text NOT NULL,
    win_probability double precision NOT NULL CHECK (win_probability BETWEEN 0 AND 1),
    place_probability double precision CHECK (place_probability BETWEEN 0 AND 1),
    fair_price numeric(7, 2),
    features jsonb,
    PRIMARY KEY (market_id, selection_id, model_name, model_version, predicted_at),
    FOREIGN KEY (market_id, selection_id) REFERENCES runners (market_id, selection_id)
  $columns$,
  'predicted_at',
  interval '7 days'
);

CREATE INDEX ml_predictions_model_idx ON ml_predictions (model_name, model_version, predicted_at DESC);
