DROP TABLE runners;
DROP TABLE markets;
