DROP TABLE bet_events;
DROP TABLE bets;
