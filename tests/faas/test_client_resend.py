"""After a reconnection the client sends again only the invocations still wanted: one cancelled while the endpoint
was away is not run by the endpoint that came back."""

from __future__ import annotations

from pathlib import Path

from tests.faas import functions
from tests.faas import multisite_tasks as tasks
from tests.faas.endpoints import running_endpoint, start_endpoint


def test_a_future_cancelled_while_the_endpoint_is_down_is_not_sent_again(tmp_path: Path) -> None:
    folder = tmp_path / "starts"
    folder.mkdir()
    with running_endpoint(tmp_path / "a") as ep, ep.client(patience=60) as client:
        blocker = client.submit(functions.sleepy, 2.0, cores=4)  # all the node's cores
        dropped = client.submit(tasks.slow_square, 1, str(folder), 0.0)  # waits behind it
        ep.kill()
        assert blocker.cancel() and dropped.cancel()
        again = start_endpoint(tmp_path / "b", port=ep.port, token_file=ep.token_file)  # no journal: it knew none
        try:
            after = client.submit(tasks.slow_square, 2, str(folder), 0.0, cores=4)  # after anything sent before
            assert after.result(timeout=60) == 4
            assert sorted(f.name.split(".")[0] for f in folder.iterdir()) == ["2"]
        finally:
            again.kill()
