"""Discrete-event simulation of a workflow on a platform."""

from hetflow.sim.simulator import Overheads, SimResult, run_simulation, simulate

__all__ = ["Overheads", "SimResult", "run_simulation", "simulate"]
