"""Analysis of simulated panels: forecasting regressions (is a price Markov?)."""
