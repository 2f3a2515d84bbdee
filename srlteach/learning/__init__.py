"""Learning methods: Monte Carlo policy evaluation, the training loop, policy gradients,
and the structural policy gradient engine (`spg`), with the lagged-prices wrapper."""
