"""Foundations: Markov chains and grids, Young's lottery and the push-forward of a
cross-section, utility. Imports nothing else from srlteach."""
