"""Schema-driven fuzzing of a live endpoint: schemathesis reads the endpoint's own /v1/openapi.json and hypothesis
generates requests from it (valid ones and, in negative mode, ones that break the schema); each is sent with the
token, without one and with a wrong one. No answer is a 5xx, nothing is served (2xx) without the right token, and
the endpoint still serves afterwards. Bounded and deterministic (derandomized, no example database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faas.endpoints import RunningEndpoint, api, running_endpoint

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

EXAMPLES = 60  # per generation mode: about 2 x 60 x 3 requests, seconds on a loaded laptop


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("fuzz"), "--rate-limit", "100000") as running:
        yield running


def without_auth(headers: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzzed_requests_never_crash_it_and_need_the_token(ep: RunningEndpoint, mode: str) -> None:
    status, document = api(ep, "GET", "/v1/openapi.json")
    assert status == 200 and document["paths"]
    schema = schemathesis.openapi.from_dict(document)
    seen: list[tuple[str, int, int, int]] = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: a failure says what it was
    )
    @hypothesis.given(case=schema.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    def check(case: Any) -> None:
        bare = without_auth(case.headers)
        case.headers = bare
        ok = case.call(base_url=ep.url, headers={"Authorization": f"Bearer {ep.token}"}, timeout=30)
        none = case.call(base_url=ep.url, timeout=30)
        wrong = case.call(base_url=ep.url, headers={"Authorization": "Bearer not-the-token"}, timeout=30)
        label = f"{case.method} {case.formatted_path}"
        seen.append((label, ok.status_code, none.status_code, wrong.status_code))
        assert ok.status_code < 500, f"{label}: {ok.status_code} {ok.text[:200]}"
        assert none.status_code == 401, f"{label} without a token: {none.status_code}"
        # negative mode may drop the Authorization header it was given (schemathesis negates security): then 401
        sent = any(k.lower() == "authorization" for k in wrong.request.headers)
        assert wrong.status_code == (403 if sent else 401), f"{label} with a wrong token: {wrong.status_code}"

    check()
    assert len({label.split(" ", 1)[0] for label, *_ in seen}) >= 3  # GET, POST and DELETE were all tried
    # and requests were really served: in positive mode some succeed; negative ones are invalid by design, so the
    # routes' own answers (past the token check) show that they reached them
    served = [ok for _, ok, _, _ in seen if (200 <= ok < 300 if mode == "positive" else ok not in (401, 403))]
    assert served, seen
    with ep.client() as client:  # still serving
        assert client.health()["status"] == "ok"
        assert client.submit(pow, 2, 10).result(timeout=60) == 1024


def test_the_schema_names_the_bearer_token(ep: RunningEndpoint) -> None:
    _, document = api(ep, "GET", "/v1/openapi.json")
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert api(ep, "GET", "/v1/openapi.json", token=None)[0] == 401


def test_a_path_outside_the_schema_is_refused_without_the_token(ep: RunningEndpoint) -> None:
    assert api(ep, "GET", "/v1/nothing-here", token=None)[0] == 401
