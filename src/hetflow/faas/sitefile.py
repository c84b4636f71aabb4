"""Which endpoints a multi-site run uses: site name -> URL and token, from Session(endpoints=..., token=...) or from
an endpoints file (`hetflow run WF --endpoints sites.yaml`):

    endpoints:
      site-a: {url: http://127.0.0.1:8701, token_file: a.token}   # token_file: relative to this file
      site-b: http://127.0.0.1:8702                               # the file's own token_file
    token_file: shared.token

A token is read from its file once, stripped of surrounding white space; a site without one talks to its endpoint
without a token (which a real endpoint refuses: the run says so at connect).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hetflow.errors import SpecError

if TYPE_CHECKING:
    from hetflow.spec.site import Sites

SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # it becomes part of node names ("SITE/TYPE-i")


@dataclass(frozen=True, slots=True)
class SiteEndpoint:
    """One site of a multi-site run: its name and the endpoint that runs its tasks."""

    name: str
    url: str
    token: str | None = None

    def __repr__(self) -> str:  # never print a token
        return f"SiteEndpoint({self.name!r}, {self.url!r})"


def site_endpoints(
    endpoints: Mapping[str, Any], token: str | Mapping[str, str] | None = None, source: str | None = None
) -> tuple[SiteEndpoint, ...]:
    """The sites of Session(endpoints=..., token=...): each value a URL or {url, token}; token one for every site or
    one per site name (a site's own token wins). SpecError, one line, for anything else."""
    if not isinstance(endpoints, Mapping) or not endpoints:
        raise SpecError(
            "endpoints must map site names to endpoint URLs",
            source=source,
            place="endpoints",
            fix='give e.g. {"site-a": "http://127.0.0.1:8701", "site-b": "http://127.0.0.1:8702"}',
        )
    out = []
    for name, value in endpoints.items():
        place = f"endpoints.{name}"
        if not isinstance(name, str) or not SITE_NAME.match(name):
            raise SpecError(
                f"bad site name {name!r}",
                source=source,
                place="endpoints",
                fix="name sites with letters, digits, '.', '_' and '-' (no '/')",
            )
        own: str | None = None
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"url", "token"})
            if unknown:
                raise SpecError(f"unknown key {unknown[0]!r}", source=source, place=place, fix="use url and token")
            own, value = value.get("token"), value.get("url")
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise SpecError(
                f"the endpoint URL {value!r} is not http(s)",
                source=source,
                place=place,
                fix="give the URL `hetflow endpoint start` printed, e.g. http://127.0.0.1:8701",
            )
        shared = token.get(name) if isinstance(token, Mapping) else token
        out.append(SiteEndpoint(name, value.rstrip("/"), own if own is not None else shared))
    return tuple(out)


def load_endpoints(path: str | os.PathLike[str]) -> tuple[SiteEndpoint, ...]:
    """The sites of an endpoints file (YAML or JSON), tokens read from their files."""
    from hetflow.spec.load import read_document

    source = os.fspath(path)
    data = read_document(source)
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), dict):
        raise SpecError(
            "no `endpoints:` mapping of site names to endpoints",
            source=source,
            fix="write `endpoints: {site-a: {url: ..., token_file: ...}, ...}`",
        )
    unknown = sorted(set(data) - {"endpoints", "token_file"})
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r}", source=source, fix="use endpoints and token_file")
    base = Path(source).parent
    shared = _token(base, data.get("token_file"), source, "token_file")
    given: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    for name, value in data["endpoints"].items():
        if isinstance(value, dict) and "token_file" in value:
            value = dict(value)
            own = _token(base, value.pop("token_file"), source, f"endpoints.{name}.token_file")
            if own is not None:
                tokens[str(name)] = own
        given[name] = value
    for name in given:
        if shared is not None:
            tokens.setdefault(str(name), shared)
    return site_endpoints(given, tokens, source)


def _token(base: Path, file: object, source: str, place: str) -> str | None:
    if file is None:
        return None
    if not isinstance(file, str):
        raise SpecError("a token file must be a path", source=source, place=place, fix="give the file's path")
    path = base / Path(file).expanduser()
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SpecError(
            f"cannot read the token file {str(path)!r}: {exc.strerror}",
            source=source,
            place=place,
            fix="give the file `hetflow endpoint start --token-file` reads",
        ) from None
    if not token:
        raise SpecError(f"the token file {str(path)!r} is empty", source=source, place=place, fix="write the token")
    return token


def endpoints_of_sites(sites: Sites, token_file: str | os.PathLike[str] | None) -> tuple[SiteEndpoint, ...]:
    """The endpoints of a sites file whose sites say where they really run (`endpoint:`), with the token in
    token_file (one for them all); () when none does. SpecError when only some do: a run is on endpoints or not."""
    with_endpoint = [s for s in sites.sites if s.endpoint]
    if not with_endpoint:
        return ()
    if len(with_endpoint) != len(sites.sites):
        missing = next(s.name for s in sites.sites if not s.endpoint)
        raise SpecError(
            f"site {missing!r} has no endpoint, and other sites have one",
            source=sites.source,
            place=f"sites.{missing}",
            fix="give every site an `endpoint:` (a run across endpoints), or none (a run on this machine)",
        )
    token = None
    if token_file is not None:
        token = _token(Path("."), os.fspath(token_file), "", "--token-file")
    return site_endpoints({s.name: s.endpoint for s in with_endpoint}, token, sites.source)
