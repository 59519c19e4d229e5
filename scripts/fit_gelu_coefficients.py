#!/usr/bin/env python3
"""Prints the polynomial coefficients of CVectorMath's exact GELU (`vector_gelu` in
Sources/CVectorMath/vector_math.c), so the constants there can be reproduced.

The pass writes GELU(x) = 0.5 x erfc(-x/sqrt2) through the scaled complementary error function

    R(x) = erfc(|x|/sqrt2) * exp(x^2/2),    erfc(|x|/sqrt2) = exp(-x^2/2) * R(x),

which falls smoothly from 1 at x = 0 to about sqrt(2/pi)/|x|. With the change of variable
t = 1 / (1 + |x|/4), which maps |x| in [0, 15] onto t in [0.21, 1], R is close to a polynomial in t;
this script fits Q(t) = sum c_k t^k of degree 11 to R, minimising the largest relative error
(iteratively reweighted least squares, Lawson's algorithm), with R evaluated by mpmath at 40
digits on Chebyshev nodes in t. The range ends at |x| = 15: GELU(x) rounds to 0 below about
x = -14.4 and the pass returns -0 below -15, and x above 10. The pass evaluates Q in double
precision, so the coefficients are printed in full (17 significant digits).

It prints the C array pasted into vector_math.c, after a comment with the largest relative error
of the fit on four times as many points as the nodes (about 3.2e-10, under a hundredth of a float's
unit in the last place).

Requires numpy and mpmath. Run from the repository root:
    python3 scripts/fit_gelu_coefficients.py
(the constants in vector_math.c were printed by exactly this command, numpy 2.4, mpmath 1.3).
"""
import mpmath
import numpy

mpmath.mp.dps = 40

DEGREE = 11
SCALE = 0.25  # t = 1 / (1 + SCALE |x|): a power of two, so SCALE |x| is exact
RANGE = 15.0  # |x| from 0 to RANGE
NODES = 3000
ITERATIONS = 300


def scaled_erfc(x):
    """R(x) = erfc(|x|/sqrt2) * exp(x^2/2) at 40 digits."""
    x = mpmath.mpf(x)
    return mpmath.erfc(x / mpmath.sqrt(2)) * mpmath.exp(x * x / 2)


def nodes(count):
    """Chebyshev points of the first kind on [t_min, 1] and the |x| they stand for."""
    t_min = 1 / (1 + SCALE * RANGE)
    k = numpy.arange(count)
    t = (t_min + 1) / 2 + (1 - t_min) / 2 * numpy.cos(numpy.pi * (k + 0.5) / count)
    return t, (1 / t - 1) / SCALE


def fit():
    """Coefficients c_0 ... c_DEGREE minimising max |Q(t) - R| / R over the nodes."""
    t, x = nodes(NODES)
    values = numpy.array([float(scaled_erfc(v)) for v in x])
    powers = numpy.vander(t, DEGREE + 1, increasing=True)
    relative = 1 / values
    weights = numpy.full(NODES, 1.0 / NODES)
    for _ in range(ITERATIONS):
        root = numpy.sqrt(weights) * relative
        coefficients = numpy.linalg.lstsq(powers * root[:, None], values * root, rcond=None)[0]
        error = numpy.abs(powers @ coefficients - values) * relative
        weights = weights * error
        weights /= weights.sum()
    return coefficients


def main():
    coefficients = fit()
    t, x = nodes(4 * NODES + 1)
    values = numpy.array([float(scaled_erfc(v)) for v in x])
    approximation = numpy.polynomial.polynomial.polyval(t, coefficients)
    worst = numpy.max(numpy.abs(approximation - values) / values)
    print(f"// R(x) = erfc(|x|/√2) e^(x²/2) as a degree-{DEGREE} polynomial in t = 1 / (1 + |x|/4), "
          f"|x| in [0, {RANGE:g}]:")
    print(f"// largest relative error {worst:.2e} (scripts/fit_gelu_coefficients.py)")
    print(f"static const double gelu_scaled_erfc[{DEGREE + 1}] = {{")
    for index in range(0, DEGREE + 1, 3):
        row = ", ".join(f"{value:.17g}" for value in coefficients[index:index + 3])
        print(f"    {row},")
    print("};")

if __name__ == "__main__":
    main()
