DROP TABLE strategy_performance;
DELETE FROM cb_timeseries_tables WHERE table_name = 'strategy_performance';
DROP TABLE strategy_runs;
DROP TABLE strategies;
