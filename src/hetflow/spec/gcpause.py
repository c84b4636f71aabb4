"""The cycle collector paused while a workflow is loaded or analysed (millions of acyclic objects made at once)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector: loading makes millions of acyclic objects, whose only effect on it is slow passes.

    At the end they move to the oldest generation unscanned (freeze, then unfreeze), so the first young collection
    afterwards does not walk them all (a quarter of a second per million); full collections still see them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
