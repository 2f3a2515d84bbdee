"""The Cobb–Douglas firm of the economies with capital (Krusell–Smith, portfolio choice)."""


def marginal_products(α: float, K, L, z=1.0):
    """(α z (K/L)^(α-1), (1-α) z (K/L)^α): the marginal products of capital and labour of
    Y = z K^α L^(1-α), which a competitive firm pays as the rental rate and the wage."""
    return α * z * (K / L) ** (α - 1), (1 - α) * z * (K / L) ** α
