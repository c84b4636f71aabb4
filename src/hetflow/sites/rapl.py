"""CPU package energy from Linux's powercap interface (Intel RAPL, and AMD's through the same files), for real runs.

A meter reads each package zone's cumulative counter (`/sys/class/powercap/intel-rapl:N/energy_uj`, zones named
package-*) before and after a run; the difference (wrapped at `max_energy_range_uj`) is the CPU packages' energy over
it. sites/energy.py `account(measured=...)` then scales the model's idle and core power of the run's local site so
that they add up to it (GPUs stay modelled). Where the files are absent or unreadable (containers, kernels since 5.10
make them root-only), `available` is False, `why` says why, and the accounting stays "model".
"""

from __future__ import annotations

import re
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")
_PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")


class RaplMeter:
    """Joules used by this machine's CPU packages between start() and stop()."""

    def __init__(self, root: Path = POWERCAP) -> None:
        self.zones: list[Path] = []
        self.why = ""
        if not root.is_dir():
            self.why = f"no {root} (no RAPL on this machine or in this container)"
            return
        zones = sorted(z for z in root.iterdir() if _PACKAGE_ZONE.match(z.name) and _name(z).startswith("package"))
        if not zones:
            self.why = f"no package zone under {root}"
            return
        try:
            for z in zones:
                int((z / "energy_uj").read_text())
        except (OSError, ValueError) as exc:
            self.why = f"cannot read {z / 'energy_uj'}: {getattr(exc, 'strerror', None) or exc}"
            return
        self.zones = zones
        self._last: list[int] = []
        self.joules = 0.0

    @property
    def available(self) -> bool:
        return bool(self.zones)

    def _read(self) -> list[int]:
        return [int((z / "energy_uj").read_text()) for z in self.zones]

    def start(self) -> None:
        self._last, self.joules = self._read(), 0.0

    def sample(self) -> float:
        """Add what was used since the last reading and return the joules since start(). A counter wraps at
        max_energy_range_uj (some 260 kJ: 20 minutes at 200 W); one wrap between readings is undone, so a long run
        must sample at least that often."""
        now = self._read()
        for z, before, after in zip(self.zones, self._last, now, strict=True):
            if after < before:
                after += int((z / "max_energy_range_uj").read_text())
            self.joules += (after - before) / 1e6
        self._last = now
        return self.joules

    def stop(self) -> float:
        """Joules since start()."""
        return self.sample()


def _name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return ""
