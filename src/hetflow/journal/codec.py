"""Task sets and platforms as JSON-ready dicts, losslessly (internal units: GPU units, bytes), for the journal."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hetflow.spec.distribution import parse_distribution
from hetflow.spec.features import features_from_dict, requirement_from_dict
from hetflow.spec.gpu_speed import gpu_speed_from
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import FileRef, TaskSet, Variant


def _resources(r: Resources) -> list[Any]:
    """[cores, GPU units, memory], then GPU memory and GPU models only when given (older journals have three)."""
    out: list[Any] = [r.cores, r.gpu_units, r.memory]
    if r.gpu_memory or r.gpu_models:
        out += [r.gpu_memory, list(r.gpu_models)]
    return out


def _resources_from(r: list[Any]) -> Resources:
    if len(r) == 3:
        return Resources(*r)
    cores, units, memory, gpu_memory, models = r
    return Resources(cores, units, memory, gpu_memory, tuple(models))


def set_to_dict(s: TaskSet) -> dict[str, Any]:
    d: dict[str, Any] = {"name": s.name, "count": s.count, "resources": _resources(s.resources), "runtime": s.runtime}
    if s.after:
        d["after"] = list(s.after)
    if s.retries:
        d["retries"] = s.retries
    for key in ("workload", "command", "function", "partition"):
        value = getattr(s, key)
        if value is not None:
            d[key] = value
    if s.variants:
        d["variants"] = [
            [_resources(v.resources), v.runtime, v.node_type, *([v.requires.as_dict()] if v.requires else [])]
            for v in s.variants
        ]
    if s.image is not None or s.cold_start or any(v.image is not None or v.cold_start for v in s.variants):
        # the image and cold start (core/deploy.py) of the set, then of each variant
        d["deploy"] = [[v.image, v.cold_start] for v in s.all_variants]
    if s.files:
        d["files"] = [[f.name, f.size, f.link] for f in s.files]
    if s.runtime_dist is not None:  # the law a re-simulation draws from (runtime is its median)
        d["runtime_dist"] = s.runtime_dist.as_dict()
    if s.gpu_speed is not None:  # the GPU-sharing model a re-simulation applies
        d["gpu_speed"] = s.gpu_speed.as_dict()
    if s.requires is not None:
        d["requires"] = s.requires.as_dict()
    if s.inputs or s.outputs:  # the data it moves between sites (spec/data.py)
        d["inputs"], d["outputs"] = [list(p) for p in s.inputs], s.outputs
    return d


def set_from_dict(d: dict[str, Any]) -> TaskSet:
    s = TaskSet(
        name=d["name"],
        count=d["count"],
        resources=_resources_from(d["resources"]),
        runtime=d["runtime"],
        after=tuple(d.get("after", ())),
        workload=d.get("workload"),
        command=d.get("command"),
        function=d.get("function"),
        variants=tuple(
            Variant(_resources_from(r), rt, nt, requirement_from_dict(req[0]) if req else None)
            for r, rt, nt, *req in d.get("variants", ())
        ),
        files=tuple(FileRef(n, size, link) for n, size, link in d.get("files", ())),
        retries=d.get("retries", 0),
        partition=d.get("partition"),
        runtime_dist=parse_distribution(d["runtime_dist"]) if "runtime_dist" in d else None,
        gpu_speed=gpu_speed_from(d["gpu_speed"]) if "gpu_speed" in d else None,
        requires=requirement_from_dict(d["requires"]) if "requires" in d else None,
        inputs=tuple((p, size) for p, size in d.get("inputs", ())),
        outputs=d.get("outputs", 0),
    )
    return _deployed(s, d["deploy"]) if "deploy" in d else s


def _deployed(s: TaskSet, deploy: list[list[Any]]) -> TaskSet:
    """The set with the images and cold starts the journal keeps for it and its variants."""
    (image, cold), *ways = deploy
    variants = tuple(replace(v, image=i, cold_start=c) for v, (i, c) in zip(s.variants, ways, strict=True))
    return replace(s, image=image, cold_start=cold, variants=variants)


def platform_to_dict(p: Platform) -> dict[str, Any]:
    return (
        {
            "name": p.name,
            "node_types": [
                [t.type, t.count, t.cores, t.gpu_units, t.memory, t.speed, t.speed_jitter]
                + (
                    [t.gpu_model, t.gpu_sharing]
                    if t.gpu_model is not None or t.gpu_sharing != "mps" or t.features is not None
                    else []
                )
                + ([t.features.as_dict()] if t.features is not None else [])
                for t in p.node_types
            ],
        }
        | _deploy(p)
        | _sites(p)
    )


def _deploy(p: Platform) -> dict[str, Any]:
    """Node types' cold start and keep_warm (core/deploy.py), by type, when some declares them."""
    got = {t.type: [t.cold_start, t.keep_warm] for t in p.node_types if t.cold_start or t.keep_warm is not None}
    return {"deploy": got} if got else {}


def _sites(p: Platform) -> dict[str, Any]:
    """Node types' sites (spec/site.py), by type, when some has one."""
    got = {t.type: t.site for t in p.node_types if t.site is not None}
    return {"sites": got} if got else {}


def platform_from_dict(d: dict[str, Any]) -> Platform:
    """Journals written before speed_jitter have six fields per node type (no jitter); before GPU models, seven
    (no model, mps); before features, nine. Cold starts and sites, where some node type has them, are mappings by
    type."""
    deploy, sites = d.get("deploy", {}), d.get("sites", {})
    types = (
        replace(NodeType(*t[:9]), features=features_from_dict(t[9])) if len(t) > 9 else NodeType(*t)
        for t in d["node_types"]
    )
    types = (
        replace(t, cold_start=deploy[t.type][0], keep_warm=deploy[t.type][1]) if t.type in deploy else t for t in types
    )
    return Platform(d["name"], tuple(replace(t, site=sites[t.type]) if t.type in sites else t for t in types))
