"""Reference solvers: the household problem by EGM and VFI (CRRA, and Epstein–Zin by VFI in
`epstein_zin`), stationary equilibria, and the sequence-space (linearised and
perfect-foresight) solution of Krusell–Smith and Huggett (`sequence_space`). They know no
economy: an economy describes its market to them (`equilibrium.Market`)."""
