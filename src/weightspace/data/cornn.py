"""CORNN: 54 classic 2-D optimisation test functions used as regression tasks (Malan & Cleghorn, 2021).

Each task is regenerated exactly as the suite does it: legacy numpy seed 0 per function, 5,000 x values drawn
uniformly over the x-domain, then 5,000 y values over the y-domain; rows 0-3,749 train, the rest test. Inputs are
mapped to [-1, 1] by the known domain, targets to [-1, 1] by the TRAINING min and max (the test targets use the
same map, so they may leave [-1, 1] slightly). The suite's quirks are kept: Styblinski-Tang uses 5**x instead of
5*x, and Ridge is x + |y|.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy import abs, cos, exp, pi, sin, sqrt

from weightspace.data.base import TaskData
from weightspace.errors import WeightspaceError

SAMPLES, TRAIN = 5000, 3750


def _sq(x, y):
    return x**2 + y**2


def _shubert_sum(x, fn, weighted: bool):
    """sum_j c_j fn((j + 1) x + j) for j = 1..5, c_j = j (weighted) or 1 (the suite's Shubert omits the j)."""
    return sum((j if weighted else 1) * fn(x * (j + 1) + j) for j in range(1, 6))


# name -> (f(x, y), x-domain, y-domain); the formulas follow the suite's definitions.
FUNCTIONS: dict[str, tuple[Callable, tuple[float, float], tuple[float, float]]] = {
    "Ackley": (
        lambda x, y: (
            -20 * exp(-0.2 * sqrt(0.5 * _sq(x, y))) - exp(0.5 * (cos(2 * pi * x) + cos(2 * pi * y))) + 20 + exp(1)
        ),
        (-32, 32),
        (-32, 32),
    ),
    "Ackley N.2": (lambda x, y: -200 * exp(-0.2 * sqrt(_sq(x, y))), (-32, 32), (-32, 32)),
    "Ackley N.3": (
        lambda x, y: -200 * exp(-0.2 * sqrt(_sq(x, y))) + 5 * exp(cos(3 * x) + sin(3 * y)),
        (-32, 32),
        (-32, 32),
    ),
    "Ackley N.4": (lambda x, y: exp(-0.2) * sqrt(_sq(x, y)) + 3 * (cos(2 * x) + sin(2 * y)), (-35, 35), (-35, 35)),
    "Adjiman": (lambda x, y: cos(x) * sin(y) - x / (y**2 + 1), (-1, 2), (-1, 1)),
    "Alpine N.1": (lambda x, y: abs(x * sin(x) + 0.1 * x) + abs(y * sin(y) + 0.1 * y), (0, 10), (0, 10)),
    "Alpine N.2": (lambda x, y: sqrt(x) * sin(x) * sqrt(y) * sin(y), (0, 10), (0, 10)),
    "Bartels Conn": (lambda x, y: abs(_sq(x, y) + x * y) + abs(sin(x)) + abs(cos(y)), (-500, 500), (-500, 500)),
    "Beale": (
        lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
        (-4.5, 4.5),
        (-4.5, 4.5),
    ),
    "Bird": (
        lambda x, y: sin(x) * exp((1 - cos(y)) ** 2) + cos(y) * exp((1 - sin(x)) ** 2) + (x - y) ** 2,
        (-2 * pi, 2 * pi),
        (-2 * pi, 2 * pi),
    ),
    "Bohachevsky N.1": (
        lambda x, y: x**2 + 2 * y**2 - 0.3 * cos(3 * pi * x) - 0.4 * cos(4 * pi * y) + 0.7,
        (-100, 100),
        (-100, 100),
    ),
    "Bohachevsky N.2": (
        lambda x, y: x**2 + 2 * y**2 - 0.3 * cos(3 * pi * x) * cos(4 * pi * y) + 0.3,
        (-100, 100),
        (-100, 100),
    ),
    "Booth": (lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2, (-10, 10), (-10, 10)),
    "Brent": (lambda x, y: (x + 10) ** 2 + (y + 10) ** 2 + exp(-(x**2) - y**2), (-20, 0), (-20, 0)),
    "Brown": (lambda x, y: (x**2) ** (y**2 + 1) + (y**2) ** (x**2 + 1), (-1, 1), (-1, 1)),
    "Bukin N.6": (lambda x, y: 100 * sqrt(abs(y - 0.01 * x**2)) + 0.01 * abs(x + 10), (-15, -5), (-3, 3)),
    "Cross-In-Tray": (
        lambda x, y: -0.0001 * (abs(sin(x) * sin(y) * exp(abs(100 - sqrt(_sq(x, y)) / pi))) + 1) ** 0.1,
        (-10, 10),
        (-10, 10),
    ),
    "Deckkers-Aarts": (lambda x, y: 1e5 * _sq(x, y) - _sq(x, y) ** 2 + 1e-5 * _sq(x, y) ** 4, (-20, 20), (-20, 20)),
    "Drop-Wave": (lambda x, y: -(1 + cos(12 * sqrt(_sq(x, y)))) / (0.5 * _sq(x, y) + 2), (-5.2, 5.2), (-5.2, 5.2)),
    "Easom": (lambda x, y: -cos(x) * cos(y) * exp(-((x - pi) ** 2) - (y - pi) ** 2), (-50, 50), (-50, 50)),
    "Egg Crate": (lambda x, y: _sq(x, y) + 25 * (sin(x) ** 2 + sin(y) ** 2), (-5, 5), (-5, 5)),
    "Egg Holder": (
        lambda x, y: -(y + 47) * sin(sqrt(abs(y + x / 2 + 47))) - x * sin(sqrt(abs(x - (y + 47)))),
        (-512, 512),
        (-512, 512),
    ),
    "Exponential": (lambda x, y: -exp(-0.5 * _sq(x, y)), (-1, 1), (-1, 1)),
    "Goldstein-Price": (
        lambda x, y: (
            (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2))
            * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 4 * y - 36 * x * y + 27 * y**2))
        ),
        (-2, 2),
        (-2, 2),
    ),
    "Griewank": (
        lambda x, y: 1 + (x**2 + y**2) / 4000 - cos(x) * cos(y / sqrt(2)),
        (-600, 600),
        (-600, 600),
    ),
    "Himmelblau": (lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (-6, 6), (-6, 6)),
    "Holder-Table": (
        lambda x, y: -abs(sin(x) * cos(y) * exp(abs(1 - sqrt(_sq(x, y)) / pi))),
        (-10, 10),
        (-10, 10),
    ),
    "Keane": (lambda x, y: -(sin(x - y) ** 2 * sin(x + y) ** 2) / sqrt(_sq(x, y)), (0, 10), (0, 10)),
    "Leon": (lambda x, y: 100 * (y - x**3) ** 2 + (1 - x) ** 2, (0, 10), (0, 10)),
    "Levi N.13": (
        lambda x, y: (
            sin(3 * pi * x) ** 2 + (x - 1) ** 2 * (1 + sin(3 * pi * y) ** 2) + (y - 1) ** 2 * (1 + sin(2 * pi * y) ** 2)
        ),
        (-10, 10),
        (-10, 10),
    ),
    "Matyas": (lambda x, y: 0.26 * _sq(x, y) - 0.48 * x * y, (-10, 10), (-10, 10)),
    "McCormick": (lambda x, y: sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1, (-1.5, 4), (-3, 3)),
    "Michalewicz": (
        lambda x, y: -(sin(x) * sin(x**2 / pi) ** 20 + sin(y) * sin(2 * y**2 / pi) ** 20),
        (0, pi),
        (0, pi),
    ),
    "Periodic": (lambda x, y: 1 + sin(x) ** 2 + sin(y) ** 2 - 0.1 * exp(-_sq(x, y)), (-10, 10), (-10, 10)),
    "Qing": (lambda x, y: (x - 1) ** 2 + (y - 2) ** 2, (-500, 500), (-500, 500)),
    "Rastrigin": (
        lambda x, y: 20 + x**2 - 10 * cos(2 * pi * x) + y**2 - 10 * cos(2 * pi * y),
        (-5.12, 5.12),
        (-5.12, 5.12),
    ),
    "Ridge": (lambda x, y: x + abs(y), (-5, 5), (-5, 5)),
    "Rosenbrock": (lambda x, y: 100 * (y - x**2) ** 2 + (1 - x) ** 2, (-5, 10), (-5, 10)),
    "Salomon": (
        lambda x, y: 1 - cos(2 * pi * sqrt(_sq(x, y))) + 0.1 * sqrt(_sq(x, y)),
        (-100, 100),
        (-100, 100),
    ),
    "Schaffer N.2": (
        lambda x, y: 0.5 + (sin(x**2 - y**2) ** 2 - 0.5) / (1 + 0.001 * _sq(x, y)) ** 2,
        (-100, 100),
        (-100, 100),
    ),
    "Schaffer N.3": (
        lambda x, y: 0.5 + (sin(cos(abs(x**2 - y**2))) ** 2 - 0.5) / (1 + 0.001 * _sq(x, y)) ** 2,
        (-100, 100),
        (-100, 100),
    ),
    "Schwefel 2.20": (lambda x, y: abs(x) + abs(y), (-100, 100), (-100, 100)),
    "Schwefel 2.22": (lambda x, y: abs(x) + abs(y) + abs(x) * abs(y), (-100, 100), (-100, 100)),
    "Schwefel 2.23": (lambda x, y: x**10 + y**10, (-10, 10), (-10, 10)),
    "Shubert": (lambda x, y: _shubert_sum(x, cos, False) * _shubert_sum(y, cos, False), (-10, 10), (-10, 10)),
    "Shubert 3": (lambda x, y: _shubert_sum(x, sin, True) + _shubert_sum(y, sin, True), (-10, 10), (-10, 10)),
    "Sphere": (_sq, (-5.12, 5.12), (-5.12, 5.12)),
    "Styblinski-Tang": (lambda x, y: 0.5 * (x**4 - 16 * x**2 + 5**x + y**4 - 16 * y**2 + 5**y), (-5, 5), (-5, 5)),
    "Sum Squares": (lambda x, y: x**2 + 2 * y**2, (-10, 10), (-10, 10)),
    "Three-Hump Camel": (lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2, (-5, 5), (-5, 5)),
    "Xin-She Yang N.2": (
        lambda x, y: (abs(x) + abs(y)) * exp(-(sin(x**2) + sin(y**2))),
        (-2 * pi, 2 * pi),
        (-2 * pi, 2 * pi),
    ),
    "Xin-She Yang N.3": (
        lambda x, y: exp(-((x / 15) ** 10 + (y / 15) ** 10)) - 2 * exp(-_sq(x, y)) * cos(x) ** 2 * cos(y) ** 2,
        (-2 * pi, 2 * pi),
        (-2 * pi, 2 * pi),
    ),
    "Xin-She Yang N.4": (
        lambda x, y: (
            (sin(x) ** 2 + sin(y) ** 2 - exp(-_sq(x, y))) * exp(-(sin(sqrt(abs(x))) ** 2 + sin(sqrt(abs(y))) ** 2))
        ),
        (-10, 10),
        (-10, 10),
    ),
    "Zakharov": (lambda x, y: _sq(x, y) + (0.5 * x + y) ** 2 + (0.5 * x + y) ** 4, (-5, 10), (-5, 10)),
}


def slug(name: str) -> str:
    """The task name used on the command line: 'Ackley N.2' -> 'ackley-n2', 'Schwefel 2.20' -> 'schwefel-220'."""
    return name.lower().replace(".", "").replace(" ", "-")


NAMES: dict[str, str] = {slug(n): n for n in FUNCTIONS}


@dataclass(frozen=True)
class Domain:
    x: tuple[float, float]
    y: tuple[float, float]

    def scale(self, points: np.ndarray) -> np.ndarray:
        """Map raw (x, y) points to [-1, 1]^2."""
        lo = np.array([self.x[0], self.y[0]])
        hi = np.array([self.x[1], self.y[1]])
        return 2 * (points - lo) / (hi - lo) - 1


def raw_samples(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The suite's 5,000 raw points [5000, 2] and function values [5000] for function `name` (display name)."""
    fn, xd, yd = FUNCTIONS[name]
    rng = np.random.RandomState(0)  # the legacy stream np.random.seed(0) gives
    x = rng.uniform(xd[0], xd[1], SAMPLES)
    y = rng.uniform(yd[0], yd[1], SAMPLES)
    return np.stack([x, y], 1), fn(x, y)


def load_cornn(task: str) -> TaskData:
    """One CORNN task by slug ('ackley', 'cornn:ackley' also works): float32 inputs [N, 2] and targets [N, 1]."""
    key = task.removeprefix("cornn:")
    if key not in NAMES:
        raise WeightspaceError(f"unknown CORNN task {task!r}; choose one of: {', '.join(NAMES)}")
    name = NAMES[key]
    points, values = raw_samples(name)
    _, xd, yd = FUNCTIONS[name]
    inputs = Domain(xd, yd).scale(points)
    lo, hi = values[:TRAIN].min(), values[:TRAIN].max()
    targets = 2 * (values - lo) / (hi - lo) - 1

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return TaskData(
        name=f"cornn:{key}",
        x_train=t(inputs[:TRAIN]),
        y_train=t(targets[:TRAIN, None]),
        x_test=t(inputs[TRAIN:]),
        y_test=t(targets[TRAIN:, None]),
        source=f"CORNN {name}, regenerated (numpy seed 0)",
    )


def load_all() -> dict[str, TaskData]:
    """All 54 tasks, keyed by slug, in the suite's alphabetical order."""
    return {key: load_cornn(key) for key in NAMES}
