DROP TABLE price_history;
DELETE FROM cb_timeseries_tables WHERE table_name = 'price_history';
