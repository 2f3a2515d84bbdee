"""One sub-package per economy: calibration, reference solutions, SPG plug-in, diagnostics."""
