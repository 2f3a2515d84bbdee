"""Learning methods: Monte Carlo policy evaluation, the training loop, policy gradients,
the structural policy gradient engine (`spg`) with the lagged-prices wrapper, SPG written
from scratch in a page of plain JAX (`spg_from_scratch`, read by the partial-equilibrium
chapter), and the neural global methods the book compares with SRL (`global_methods`:
DeepHAM-style generalised moments, DEQN-style Euler residuals)."""
