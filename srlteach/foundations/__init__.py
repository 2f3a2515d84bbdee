"""Foundations: Markov chains and grids, Young's lottery (one and two assets) and the
push-forward of a cross-section, the budget and the savings-share map, utility and the Euler
equation, clearing a market on a price grid. Imports nothing else from srlteach."""
