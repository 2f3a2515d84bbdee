"""srlteach: structural reinforcement learning for heterogeneous-agent macroeconomics.

The library behind the book, in layers; a module imports only from its own layer and the
layers below (tests/test_layers.py checks):

- `foundations`: Markov chains and asset grids, Young's lottery and the push-forward of a
  cross-section, utility;
- `solvers`: reference solvers (EGM/VFI, stationary equilibrium); `analysis`: regressions
  on simulated panels;
- `learning`: Monte Carlo evaluation, the training loop, policy gradients and the
  structural policy gradient engine (`learning.spg`), with lagged prices;
- `economies`: one sub-package per economy (`huggett`, `krusell_smith`), each with its
  calibration, reference solutions, SPG plug-in and diagnostics;
- `presentation`: figures and interactive explorers used by the chapters.

srlteach computes in float64 by default (it enables `jax_enable_x64` on import) so that
reference solutions and the numbers printed in the book are accurate to the digits shown.
"""

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
