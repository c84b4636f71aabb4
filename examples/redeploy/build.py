"""What a function's first call in a process loads (examples/redeploy/tasks.py): a module really imported and run,
standing for a container's start and a build's imports; numpy and a small kernel, so it costs what an import does."""

from __future__ import annotations

import numpy as np

KERNEL = np.linalg.eigvalsh(np.eye(32))
