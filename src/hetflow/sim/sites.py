"""Simulating a workflow across sites: the sites' nodes as one platform, data moved over their links, and a site
policy with its grid (policies/sited.py). carbon-wait is planned here: a fastest run first, whose intervals say
what each site draws when, then the greenest start that meets the deadline (policies/carbon_wait.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from hetflow.core.engine import Engine
from hetflow.core.policy import Policy
from hetflow.errors import SpecError
from hetflow.policies import SITE_POLICIES, make_policy
from hetflow.policies.carbon_wait import Draw, greenest_start
from hetflow.policies.fastest import Fastest
from hetflow.policies.sited import Grid, Series, task_watts
from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.resources import Resources
from hetflow.spec.site import Sites
from hetflow.spec.workflow import Workflow


def simulate_sites(
    workflow: Workflow,
    sites: Sites,
    policy: str,
    intensity: Mapping[str, Series],
    *,
    mode: str = "task",
    deadline: float | None = None,
    max_slowdown: float = 0.05,
    check: Callable[[Engine], None] | None = None,
    plan: SimResult | None = None,
) -> SimResult:
    """Simulate the workflow on every site's nodes, moving data between sites; intensity: each site's series over
    the run's time (hetflow.sites.intensities(sites, start)); deadline: s after the start (carbon-wait); plan: a
    fastest run of the workflow on these sites, which carbon-wait plans from (simulated when None; fastest reads no
    intensity, so one serves every start time)."""
    chosen = site_policy(
        workflow, sites, policy, intensity, mode=mode, deadline=deadline, max_slowdown=max_slowdown, plan=plan
    )
    return run_simulation(workflow, sites.platform(), mode, chosen, links=sites, check=check)


def site_policy(
    workflow: Workflow,
    sites: Sites,
    policy: str,
    intensity: Mapping[str, Series],
    *,
    mode: str = "task",
    deadline: float | None = None,
    max_slowdown: float = 0.05,
    plan: SimResult | None = None,
) -> Policy:
    """The policy of that name for a run across the sites (carbon-wait: planned from a fastest run, `plan` or one
    simulated now)."""
    if policy not in SITE_POLICIES:
        return make_policy(policy)
    grid = Grid(sites, intensity, max_slowdown, deadline)
    if policy == "carbon-wait":
        if plan is None:
            plan = run_simulation(workflow, sites.platform(), mode, Fastest(grid), links=sites)
        if deadline is not None and plan.makespan_s > deadline:  # it could only run late: say so, never quietly
            raise SpecError(
                f"the workflow takes {plan.makespan_s:g} s at its fastest, more than the deadline of {deadline:g} s",
                place="--deadline",
                fix=f"give at least {plan.makespan_s:g} s, or leave --deadline out",
            )
        grid = replace(grid, hold_until=greenest_start(draws(plan, sites), grid, plan.makespan_s))
    return make_policy(policy, grid)


def draws(result: SimResult, sites: Sites) -> list[Draw]:
    """What each interval of a run draws: (site, start, end, facility watts of its tasks)."""
    nodes = {n.name: n for n in result.platform.nodes()}
    out: list[Draw] = []
    for iv in result.intervals:
        node = nodes[iv.node]
        if node.site is None:
            continue
        site = sites.site(node.site)
        watts = task_watts(node, Resources(iv.cores, iv.gpu_units), site.power, site.pue)
        out.append((node.site, iv.start, iv.end, watts * iv.n))
    return out
