"""Poisson tail probabilities in log space (no scipy): the count tests of every detector. Pure."""

from __future__ import annotations

import math

LN10 = math.log(10.0)
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 100_000


def _log_prefix(a: float, x: float) -> float:
    """log(x^a e^-x / Gamma(a))."""
    return a * math.log(x) - x - math.lgamma(a)


def _series(a: float, x: float) -> float:
    """log P(a, x), the regularized lower incomplete gamma, by its series (good for x < a + 1)."""
    term = total = 1.0 / a
    n = a
    for _ in range(_MAX_ITER):
        n += 1.0
        term *= x / n
        total += term
        if term < total * _EPS:
            break
    return _log_prefix(a, x) + math.log(total)


def _fraction(a: float, x: float) -> float:
    """log Q(a, x), the regularized upper incomplete gamma, by Lentz's continued fraction (x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return _log_prefix(a, x) + math.log(h)


def _log1mexp(value: float) -> float:
    """log(1 - exp(value)) for value <= 0."""
    if value > -0.6931471805599453:
        return math.log(-math.expm1(value))
    return math.log1p(-math.exp(value))


def log_gamma_p(a: float, x: float) -> float:
    if x <= 0.0:
        return -math.inf
    if x < a + 1.0:
        return _series(a, x)
    return _log1mexp(min(_fraction(a, x), 0.0))


def log_gamma_q(a: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x < a + 1.0:
        return _log1mexp(min(_series(a, x), 0.0))
    return _fraction(a, x)


def log_poisson_cdf(k: float, mu: float) -> float:
    """log P(X <= k) for X ~ Poisson(mu) (k is floored)."""
    k = math.floor(k)
    if k < 0:
        return -math.inf
    if mu <= 0.0:
        return 0.0
    return min(log_gamma_q(k + 1.0, mu), 0.0)


def log_poisson_sf(k: float, mu: float) -> float:
    """log P(X >= k) for X ~ Poisson(mu) (k is rounded up)."""
    k = math.ceil(k)
    if k <= 0:
        return 0.0
    if mu <= 0.0:
        return -math.inf
    return min(log_gamma_p(float(k), mu), 0.0)


def score(log_p: float) -> float:
    """-log10 p, rounded for records (finite: a p-value of 0 is reported as 1e-999)."""
    if log_p == -math.inf:
        return 999.0
    return round(min(-log_p / LN10, 999.0), 2) + 0.0


def log_binomial_cdf(k: float, n: float, p: float) -> float:
    """log P(X <= k) for X ~ Binomial(n, p) (k and n are floored)."""
    k, n = math.floor(k), math.floor(n)
    if k < 0:
        return -math.inf
    if k >= n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return -math.inf
    log_p, log_q = math.log(p), math.log1p(-p)
    whole = math.lgamma(n + 1.0)
    terms = [
        whole - math.lgamma(i + 1.0) - math.lgamma(n - i + 1.0) + i * log_p + (n - i) * log_q
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(top + math.log(sum(math.exp(t - top) for t in terms)), 0.0)
