"""Two neural global methods that a student meets next to structural RL, in generic pieces.

- `deepham`: generalised moments (1/N) Σ_i Q(s_i) of a cross-section, the distribution
  summary of DeepHAM (Han, Yang and E 2021, arXiv:2112.14377);
- `deqn`: the Fischer–Burmeister function and the squared-residual objective of deep
  equilibrium nets (Azinovic, Gaegauf and Scheidegger 2022, International Economic Review
  63(4));
- `panel`: a finite population of agents drawn from a distribution on the individual grid.

Both methods use the book's multilayer perceptron (`srlteach.learning.policy_gradient.mlp`)
and its one training loop (`srlteach.learning.training.train`). Their Krusell–Smith
versions are in `srlteach.economies.krusell_smith.neural`.
"""

from srlteach.learning.global_methods.deepham import generalised_moments
from srlteach.learning.global_methods.deqn import fischer_burmeister, residual_objective
from srlteach.learning.global_methods.panel import draw_panel
