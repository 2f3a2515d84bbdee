"""Reference solvers: the household problem by EGM and VFI, stationary equilibria. They
know no economy: an economy describes its market to them (`equilibrium.Market`)."""
