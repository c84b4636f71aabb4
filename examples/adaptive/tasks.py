"""The tasks of the adaptive example: their run times, the uncertainty a DFT task reports, and the functions the real
run calls with each task's index in its set.

Each function diagonalises a small random Hamiltonian (numpy, a few milliseconds: the stand-in for its science) and
then waits out the rest of its modelled run time, scaled to real seconds. Waiting rather than computing keeps the
declared Summit node (42 cores, 6 GPUs) from overloading the few CPUs of the machine that runs it, so the real run
keeps the model's timing. This module imports only numpy, so that worker processes load it quickly.
"""

from __future__ import annotations

import time

import numpy as np

RUNTIME_S = {  # simulated seconds per task
    "dft": 500.0,
    "pretrain": 700.0,
    "aimd": 600.0,
    "md": 400.0,
    "aggregate": 100.0,
    "train": 400.0,
    "select": 100.0,
}
REAL_TIME_SCALE = 1e-3  # real seconds per simulated second
SIGMA = 1.0  # a DFT task's uncertainty: SIGMA x (1 + NOISE x a normal draw seeded by SEED and the task's index)
NOISE = 0.1
SEED = 6


def dft_uncertainty(index: int) -> float:
    """The uncertainty DFT task `index` reports (deterministic: seeded by the index)."""
    draw = float(np.random.default_rng((SEED, index)).standard_normal())
    return SIGMA * max(0.5, 1.0 + NOISE * draw)


def _work(kind: str, index: int) -> float:
    """The numpy kernel, then a wait until the task has lasted its run time; the lowest eigenvalue."""
    start = time.perf_counter()
    rng = np.random.default_rng((sum(map(ord, kind)), index))
    h = rng.standard_normal((96, 96))
    lowest = float(np.linalg.eigvalsh(h + h.T)[0])
    time.sleep(max(0.0, RUNTIME_S[kind] * REAL_TIME_SCALE - (time.perf_counter() - start)))
    return lowest


def dft(index: int) -> float:
    """A DFT calculation; returns the uncertainty of its estimate (the model's, as the simulation has it)."""
    _work("dft", index)
    return dft_uncertainty(index)


def pretrain(index: int) -> float:
    return _work("pretrain", index)


def aimd(index: int) -> float:
    return _work("aimd", index)


def md(index: int) -> float:
    return _work("md", index)


def aggregate(index: int) -> float:
    return _work("aggregate", index)


def train(index: int) -> float:
    return _work("train", index)


def select(index: int) -> float:
    return _work("select", index)
