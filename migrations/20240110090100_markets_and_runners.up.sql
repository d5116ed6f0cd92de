-- Betfair horse-racing markets and their runners (selections).

CREATE TABLE markets (
  market_id text PRIMARY KEY, -- Betfair market id, e.g. 1.223344556
  event_id text NOT NULL,
  event_name text NOT NULL,
  venue text,
  country_code char(2),
  market_type text NOT NULL, -- WIN, PLACE, EACH_WAY, …
  market_name text NOT NULL,
  start_time timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('INACTIVE', 'OPEN', 'SUSPENDED', 'CLOSED')),
  in_play boolean NOT NULL DEFAULT false,
  total_matched numeric(14, 2),
  settled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX markets_start_time_idx ON markets (start_time);
CREATE INDEX markets_open_idx ON markets (start_time) WHERE status <> 'CLOSED';

CREATE TABLE runners (
  market_id text NOT NULL REFERENCES markets (market_id),
  selection_id bigint NOT NULL, -- Betfair selection id
  runner_name text NOT NULL,
  sort_priority integer,
  handicap numeric(6, 2) NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'ACTIVE'
    CHECK (status IN ('ACTIVE', 'WINNER', 'LOSER', 'PLACED', 'REMOVED_VACANT', 'REMOVED', 'HIDDEN')),
  adjustment_factor numeric(6, 3),
  removal_date timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}', -- jockey, trainer, form, … as Betfair's runner metadata
  PRIMARY KEY (market_id, selection_id)
);
