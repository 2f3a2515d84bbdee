"""Figures and interactive explorers used by the chapters."""
