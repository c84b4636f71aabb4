"""Where the project's shared data lies (../shared beside the clone) and the fixtures shipped with the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
WFINSTANCES = SHARED / "data" / "wfinstances"
FIXTURES = REPO / "tests" / "fixtures"
SEED_WORKFLOW = REPO / "examples" / "seed" / "arbitrary-workflow.yaml"
SEED_PLATFORM = REPO / "examples" / "seed" / "summit-30.yaml"


def wfinstance_files() -> list[Path]:
    """The shared WfFormat instances; none when ../shared is absent."""
    return sorted(WFINSTANCES.glob("*.json")) if WFINSTANCES.is_dir() else []


def wfinstance_params() -> list[object]:
    """One pytest param per shared WfFormat instance, or one skipped param when ../shared is absent."""
    files = wfinstance_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no WfFormat instances in {WFINSTANCES}"))]
    return [pytest.param(f, id=f.name) for f in files]
