"""The fast path for plain platforms (spec/native.py's plain_platform) against the models (spec/models.py): the same
platform from what both accept, never one the models refuse; and a plain trace and platform load without pydantic."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hetflow.errors import SpecError
from hetflow.spec.models import validated_platform
from hetflow.spec.native import plain_platform, platform_from_dict

NAMES = st.sampled_from(["node", "gpu", "é", "with space", "", "[x]", "a\ud800", 3, None])
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["node", "big", "é", "x\n"]),
    "count": st.integers(1, 10**6),
    "cores": st.integers(0, 256),
    "speed": st.one_of(st.integers(1, 10), st.floats(1e-9, 1e9)),
}
BAD: dict[str, st.SearchStrategy[Any]] = {
    "type": NAMES,
    "count": st.sampled_from([0, -1, 1.0, True, "2", None, 10**400]),
    "cores": st.sampled_from([-1, 2.5, True, "4", None]),
    "speed": st.sampled_from([0, -1.0, 0.0, math.nan, math.inf, True, "2", None, 10**400]),
}


@st.composite
def platforms(draw: st.DrawFn) -> dict[str, Any]:
    nodes: list[Any] = []
    for _ in range(draw(st.integers(0, 3))):
        keys = [*draw(st.lists(st.sampled_from(["count", "speed"]), unique=True)), "type", "cores"]
        node = {k: draw(BAD[k] if not draw(st.integers(0, 8)) else GOOD[k]) for k in keys}
        if not draw(st.integers(0, 8)):
            del node[draw(st.sampled_from(["type", "cores"]))]
        if not draw(st.integers(0, 12)):
            node[draw(st.sampled_from(["memory", "gpus", "other"]))] = 1
        nodes.append(node)
    doc: dict[str, Any] = {"nodes": nodes}
    if draw(st.booleans()):
        doc["platform"] = draw(st.one_of(st.just("p"), NAMES))
    if not draw(st.integers(0, 15)):
        doc["extra"] = 1
    return doc


@settings(max_examples=500, deadline=None)
@given(platforms())
@example({"nodes": [{"type": "a", "cores": 1}, {"type": "a", "cores": 2}]})
@example({"nodes": [{"type": "a", "cores": 1, "speed": True}]})
@example({"nodes": [{"type": "a", "cores": 1, "speed": 0}]})
@example({"nodes": [{"type": "a", "cores": 1, "count": 0}]})
@example({"nodes": [{"type": "a", "cores": 1, "memory": "1GiB"}]})
def test_a_plain_platform_is_what_the_models_make_of_it(doc: dict[str, Any]) -> None:
    try:
        models: object = validated_platform(doc, "p.json", "default")
    except SpecError as exc:
        models = exc.line()
    fast = plain_platform(doc, "p.json", "default")
    if fast is not None:
        assert models == fast
    try:
        either: object = platform_from_dict(doc, "p.json", "default")
    except SpecError as exc:
        either = exc.line()
    assert either == models


def test_a_trace_and_its_platform_load_without_pydantic(tmp_path: Path) -> None:
    (tmp_path / "w.json").write_text(
        '{"tasks": [{"name": "a", "cores": 2, "runtime": 3}, {"name": "b", "after": "a"}]}'
    )
    (tmp_path / "p.json").write_text('{"platform": "p", "nodes": [{"type": "n", "count": 2, "cores": 4, "speed": 2}]}')
    code = (
        "import sys; from hetflow.spec.load import load_platform, load_workflow; "
        "wf, pf = load_workflow('w.json'), load_platform('p.json'); "
        "print(len(wf.sets), pf.cores, pf.node_types[0].speed, 'pydantic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["2", "8", "2.0", "False"]
