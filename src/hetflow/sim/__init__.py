"""Discrete-event simulation of a workflow on a platform."""

from hetflow.sim.simulator import SimRun, run_simulation

__all__ = ["SimRun", "run_simulation"]
