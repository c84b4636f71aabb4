"""Discrete-event simulation of a workflow on a platform."""

from hetflow.sim.simulator import SimResult, run_simulation, simulate

__all__ = ["SimResult", "run_simulation", "simulate"]
