"""Sites, energy and carbon: carbon-intensity series per site (intensity.py), the energy and carbon of a run from its
intervals afterwards (energy.py), and CPU energy meters for real runs (rapl.py). The sites themselves, and the
loader, are spec's (spec/site.py, spec/sites.py).

Policies read intensity.py (data: `Intensity.at`, `.mean`) and nothing else of this package; the names below are
imported on first use (hetflow.lazy), so reading one module loads only it.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hetflow.sites.energy import Footprint, SiteFootprint, account
    from hetflow.sites.intensity import Intensity, default_start, intensities, parse_start
else:
    from hetflow.lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "hetflow.sites.energy": ["Footprint", "SiteFootprint", "account"],
            "hetflow.sites.intensity": ["Intensity", "default_start", "intensities", "parse_start"],
        },
    )

__all__ = ["Footprint", "Intensity", "SiteFootprint", "account", "default_start", "intensities", "parse_start"]
