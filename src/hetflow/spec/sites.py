"""The sites file (YAML or JSON, or a mapping from Python): sites, links and origin, validated once into spec/site.py's
dataclasses (re-exported here, so `from hetflow.spec.sites import Sites, load_sites` is the one import).

    sites:
      - name: oregon
        platform: {nodes: [{type: cpu, count: 8, cores: 48}]}   # inline, or a platform file relative to this one
        carbon: ../carbon/BPAT_hourly_2022.csv                  # an hourly CSV (timestamp, avg_CI) or gCO2eq/kWh
        pue: 1.2                                                # default 1.0
        power: {idle_w: 100, core_w: 5, gpu_w: 300}             # per node, watts; these are the defaults
        endpoint: http://127.0.0.1:8701                         # optional: where its tasks really run
    links:
      - {from: oregon, to: texas, latency: 40ms, bandwidth: 1GB/s}   # both ways, unless the other way is given too
    default_link: {latency: 50ms, bandwidth: 100MB/s}                # optional: for pairs no link names
    origin: oregon                                                   # default: the first site

Every problem is one SpecError naming the file, the place and the fix (CLI: one line, exit 2).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PlainValidator, ValidationError

from hetflow.errors import SpecError
from hetflow.spec.load import load_platform, read_document
from hetflow.spec.native import platform_from_dict
from hetflow.spec.platform import Platform
from hetflow.spec.schema import Name, Strict, fail, parsed_by, to_spec_error
from hetflow.spec.site import CORE_W, GPU_W, IDLE_W, Link, PowerModel, Site, Sites

_LABELS = ("name", "from")
_FIX = "see the sites format in DESIGN.md, section Sites"
_NUMBER = r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*"
_LATENCY = re.compile(rf"^{_NUMBER}(ns|us|µs|ms|s|min|h)?\s*$")
_BANDWIDTH = re.compile(rf"^{_NUMBER}([kKMGT]i?[Bb]|[Bb])?(?:/s|ps)?\s*$")
_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
_PREFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY = {"k": 2**10, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
LATENCY_IS = 'a time such as "40ms", "0.2s" or a number of seconds >= 0'
BANDWIDTH_IS = 'a rate > 0 such as "1GB/s", "100MB/s", "10Gb/s" (bits) or a number of bytes per second'


def parse_latency(value: object) -> float:
    """Seconds from a number of seconds or a string such as "40ms"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _LATENCY.match(value)):
        seconds = float(m.group(1)) * _TIME_UNITS[m.group(2) or "s"]
    else:
        raise SpecError(f"latency must be a time, not {value!r}", fix=f"write {LATENCY_IS}")
    if seconds < 0 or not math.isfinite(seconds):
        raise SpecError(f"latency must be >= 0 and finite, not {value!r}", fix=f"write {LATENCY_IS}")
    return seconds


def parse_bandwidth(value: object) -> float:
    """Bytes per second from a number or a string such as "1GB/s", "1GiB/s" or "10Gb/s" (a lower-case b is bits)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value)
    elif isinstance(value, str) and (m := _BANDWIDTH.match(value)):
        unit = m.group(2) or "B"
        prefix, binary, bits = unit[:1] if len(unit) > 1 else "", "i" in unit, unit.endswith("b")
        scale = (_BINARY if binary else _PREFIX)[prefix]
        rate = float(m.group(1)) * scale / (8 if bits else 1)
    else:
        raise SpecError(f"bandwidth must be a rate, not {value!r}", fix=f"write {BANDWIDTH_IS}")
    if rate <= 0 or not math.isfinite(rate):
        raise SpecError(f"bandwidth must be > 0 and finite, not {value!r}", fix=f"write {BANDWIDTH_IS}")
    return rate


def _carbon(value: object) -> float | str:
    """A constant intensity (a number >= 0) or a CSV path (checked once the sites file's folder is known)."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    raise fail(f"carbon must be {CARBON_IS}, not {value!r}", f"write {CARBON_IS}")


CARBON_IS = "a carbon intensity in gCO2eq/kWh >= 0 or the path of an hourly CSV with a timestamp and avg_CI"
Carbon = Annotated[float | str, PlainValidator(_carbon, json_schema_input_type=float | str)]
Latency = Annotated[float, PlainValidator(parsed_by(parse_latency), json_schema_input_type=float | str)]
Bandwidth = Annotated[float, PlainValidator(parsed_by(parse_bandwidth), json_schema_input_type=float | str)]
Watts = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PowerDoc(Strict):
    """A node's power model, watts."""

    idle_w: Watts = Field(IDLE_W, description="a power in watts >= 0 drawn by a powered node")
    core_w: Watts = Field(CORE_W, description="a power in watts >= 0 per busy core")
    gpu_w: Watts = Field(GPU_W, description="a power in watts >= 0 per busy GPU")


class SiteDoc(Strict):
    """One site."""

    name: Name = Field(description="a non-empty site name without brackets or /")
    platform: dict[str, Any] | str = Field(description="a platform mapping ({nodes: [...]}) or a platform file path")
    carbon: Carbon = Field(description=CARBON_IS)
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)] = Field(
        1.0, description="a power usage effectiveness >= 1 (facility power / IT power)"
    )
    power: PowerDoc | None = Field(None, description="a mapping {idle_w, core_w, gpu_w} in watts")
    endpoint: str | None = Field(None, description="the URL of the site's function endpoint")


class LinkDoc(Strict):
    """A link between two sites; both ways unless the other way is given too."""

    src: Name = Field(alias="from", description="a site name")
    dst: Name = Field(alias="to", description="a site name")
    latency: Latency = Field(0.0, description=LATENCY_IS)
    bandwidth: Bandwidth = Field(description=BANDWIDTH_IS)


class DefaultLinkDoc(Strict):
    """The link of pairs no link names."""

    latency: Latency = Field(0.0, description=LATENCY_IS)
    bandwidth: Bandwidth = Field(description=BANDWIDTH_IS)


class SitesDoc(Strict):
    """A sites document."""

    sites: list[SiteDoc] = Field(min_length=1, description="a list of at least one site")
    links: list[LinkDoc] = Field([], description="a list of links {from, to, latency, bandwidth}")
    default_link: DefaultLinkDoc | None = Field(None, description="a link {latency, bandwidth} for pairs not named")
    origin: Name | None = Field(None, description="the name of a site")


def load_sites(source: str | os.PathLike[str] | Mapping[str, Any] | Sites) -> Sites:
    """Sites from a file, a parsed mapping (paths in it relative to the working directory) or Sites (as is)."""
    if isinstance(source, Sites):
        return source
    if isinstance(source, Mapping):
        return sites_from_dict(dict(source), None, Path.cwd())
    path = os.fspath(source)
    return sites_from_dict(read_document(path), path, Path(path).parent)


def sites_from_dict(data: object, source: str | None, base: Path) -> Sites:
    """Sites from the mapping of a sites document; relative paths are taken from base, source names the file."""
    if not isinstance(data, dict):
        raise SpecError(
            f"expected a sites mapping, found {type(data).__name__}", source=source, fix="start it with `sites:`"
        )
    try:
        doc = SitesDoc.model_validate(data)
    except ValidationError as exc:
        raise to_spec_error(exc, SitesDoc, data, source=source, labels=_LABELS, fix=_FIX) from None
    names: list[str] = []
    for i, s in enumerate(doc.sites):
        if s.name in names:
            raise SpecError(
                f"site {s.name!r} is declared twice",
                source=source,
                place=f"sites[{i}] ({s.name})",
                fix=f"rename one of sites[{names.index(s.name)}] and sites[{i}]",
            )
        names.append(s.name)
    sites = tuple(_site(i, s, source, base) for i, s in enumerate(doc.sites))
    links = _links(doc, names, source)
    default = Link("*", "*", doc.default_link.latency, doc.default_link.bandwidth) if doc.default_link else None
    if default is None:
        pairs = {(k.src, k.dst) for k in links}
        missing = next(((a, b) for a in names for b in names if a != b and (a, b) not in pairs), None)
        if missing:
            raise SpecError(
                f"no link from {missing[0]} to {missing[1]}",
                source=source,
                place="links",
                fix="add a link between them, or a default_link: {latency: 50ms, bandwidth: 100MB/s}",
            )
    origin = doc.origin if doc.origin is not None else names[0]
    if origin not in names:
        raise SpecError(f"origin {origin!r} is not a site", source=source, place="origin", fix=_one_of(names))
    return Sites(sites, links, origin, source, default)


def _one_of(names: list[str]) -> str:
    return "use one of " + ", ".join(names)


def _site(i: int, doc: SiteDoc, source: str | None, base: Path) -> Site:
    place = f"sites[{i}] ({doc.name})"
    if "/" in doc.name:
        raise SpecError(f"site name {doc.name!r} has a /", source=source, place=place, fix="rename it without /")
    found = _platform(doc, place, source, base)
    platform = replace(found, node_types=tuple(replace(t, site=doc.name) for t in found.node_types))
    carbon: float | str = doc.carbon
    if isinstance(carbon, str):
        carbon = check_carbon_csv(Path(os.path.abspath(base / carbon)), source, place + ".carbon")
    power = PowerModel(doc.power.idle_w, doc.power.core_w, doc.power.gpu_w) if doc.power else PowerModel()
    return Site(doc.name, platform, carbon, doc.pue, power, doc.endpoint)


def _platform(doc: SiteDoc, place: str, source: str | None, base: Path) -> Platform:
    if isinstance(doc.platform, str):
        return load_platform(base / doc.platform)
    try:
        return platform_from_dict(doc.platform, source, default_name=doc.name)
    except SpecError as exc:
        exc.place = f"{place}.platform" + (f".{exc.place}" if exc.place else "")
        exc.args = (exc.line(),)
        raise


def check_carbon_csv(path: Path, source: str | None, place: str) -> str:
    """The CSV's path, once its header shows a timestamp and an avg_CI column; its rows are read by sites/."""
    where = os.fspath(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except FileNotFoundError:
        raise SpecError(
            f"carbon file {where} does not exist",
            source=source,
            place=place,
            fix="check the path (relative to the sites file) or give a constant intensity in gCO2eq/kWh",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            f"carbon file {where} cannot be read: {exc}", source=source, place=place, fix="check it"
        ) from None
    columns = [c.strip() for c in header]
    for column in ("timestamp", "avg_CI"):
        if column not in columns:
            raise SpecError(
                f"carbon file {where} has no {column} column (columns: {', '.join(columns) or 'none'})",
                source=source,
                place=place,
                fix="give an hourly CSV with a timestamp and an avg_CI (gCO2eq/kWh) column",
            )
    return where


def _links(doc: SitesDoc, names: list[str], source: str | None) -> tuple[Link, ...]:
    """Declared links, each also the other way unless that way is declared too."""
    seen: dict[tuple[str, str], int] = {}
    for i, k in enumerate(doc.links):
        place = f"links[{i}] ({k.src})"
        for end in (k.src, k.dst):
            if end not in names:
                raise SpecError(f"unknown site {end!r} in a link", source=source, place=place, fix=_one_of(names))
        if k.src == k.dst:
            raise SpecError(
                f"a link from {k.src} to itself", source=source, place=place, fix="remove it: within a site is free"
            )
        if (k.src, k.dst) in seen:
            raise SpecError(
                f"the link from {k.src} to {k.dst} is given twice",
                source=source,
                place=place,
                fix=f"keep one of links[{seen[(k.src, k.dst)]}] and links[{i}]",
            )
        seen[(k.src, k.dst)] = i
    out = [Link(k.src, k.dst, k.latency, k.bandwidth) for k in doc.links]
    out += [Link(k.dst, k.src, k.latency, k.bandwidth) for k in doc.links if (k.dst, k.src) not in seen]
    return tuple(out)


__all__ = ["Link", "PowerModel", "Site", "Sites", "load_sites", "parse_bandwidth", "parse_latency", "sites_from_dict"]
