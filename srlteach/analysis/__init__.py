"""Analysis of simulated panels: forecasting regressions (is a price Markov?), with the
aggregate shock on nodes (`forecasting`) or continuous (`continuous_shocks`), and generalised
impulse responses of any SRL economy (`impulse_responses`)."""
