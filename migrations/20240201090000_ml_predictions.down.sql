DROP TABLE ml_predictions;
DELETE FROM cb_timeseries_tables WHERE table_name = 'ml_predictions';
