"""Session fixtures: the chapters' economies and their stationary equilibria, built once.

The calibrations are the package's (`srlteach.economies.huggett`, `srlteach.economies.krusell_smith`), exactly
those the chapters use. Equilibria are computed lazily, only when a test asks for them.
"""

import pytest

import srlteach  # noqa: F401  (float64 before any array is created)
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.economies.huggett import create_huggett, create_huggett_stationary
from srlteach.economies.krusell_smith import create_krusell_smith

# The independent reference for stationary equilibria: EGM on a grid five times finer than
# paper scale (same b_max), whose r* agrees with n_b = 2000 to about 2e-6.
FINE_GRID = dict(n_b=1000)


@pytest.fixture(scope="session")
def huggett_book():
    return create_huggett("book")


@pytest.fixture(scope="session")
def huggett_stationary_book():
    return create_huggett_stationary("book")


@pytest.fixture(scope="session")
def huggett_stationary_paper():
    return create_huggett_stationary("paper")


@pytest.fixture(scope="session")
def huggett_equilibrium_book(huggett_stationary_book):
    return stationary_equilibrium(huggett_stationary_book)


@pytest.fixture(scope="session")
def huggett_equilibrium_paper(huggett_stationary_paper):
    return stationary_equilibrium(huggett_stationary_paper)


@pytest.fixture(scope="session")
def huggett_equilibrium_fine():
    return stationary_equilibrium(create_huggett_stationary("paper", **FINE_GRID))


@pytest.fixture(scope="session")
def ks_book():
    return create_krusell_smith("book")


@pytest.fixture(scope="session")
def ks_paper():
    return create_krusell_smith("paper")


@pytest.fixture(scope="session")
def ks_equilibrium_book(ks_book):
    return stationary_equilibrium(ks_book)


@pytest.fixture(scope="session")
def ks_equilibrium_paper(ks_paper):
    return stationary_equilibrium(ks_paper)


@pytest.fixture(scope="session")
def ks_equilibrium_fine():
    return stationary_equilibrium(create_krusell_smith("paper", **FINE_GRID))


@pytest.fixture(scope="session")
def ks1998_book(ks_book):
    """The Krusell–Smith (1998) solution of the book-scale economy (the chapter's benchmark)."""
    from srlteach.economies.krusell_smith.ks1998 import solve_ks1998

    return solve_ks1998(ks_book)
