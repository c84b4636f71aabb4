"""`hetflow endpoint start`: its token file, and bad input as one line with exit status 2."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

import hetflow as hf
from tests.faas.endpoints import CLI, REPO, running_endpoint


def test_a_token_is_made_private_and_its_path_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    token_file = tmp_path / ".hetflow" / "endpoint.token"  # the default place, where a client looks without a token
    with running_endpoint(tmp_path, token_file=token_file) as ep:
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        assert len(ep.token) >= 32
        assert f"token: written to {token_file}" in ep.stderr()
        with hf.Endpoint(ep.url) as client:
            assert client.submit(pow, 2, 10).result(timeout=60) == 1024
    with running_endpoint(tmp_path / "again", token_file=token_file) as ep:  # an existing file is read, not replaced
        assert f"token: read from {token_file}" in ep.stderr() and ep.token == token_file.read_text().strip()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--max-payload", "lots"], "--max-payload"),
        (["--max-payload", "0"], "payload limit"),
        (["--certfile", "pyproject.toml"], "both --certfile and --keyfile"),
        (["--keep-warm", "-1"], "negative"),
        (["--keep-warm", "nan"], "infinite"),
        (["--result-ttl", "inf"], "infinite"),
        (["--journal", "no-such-folder/j.db"], "--journal"),
        (["--platform", "no-such-platform.yaml"], "no-such-platform.yaml"),
        (["--certfile", "pyproject.toml", "--keyfile", "pyproject.toml"], "--certfile/--keyfile: cannot load"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    done = subprocess.run(
        [*CLI, "endpoint", "start", "--token-file", str(tmp_path / "t"), *args],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.strip().splitlines() if not line.startswith("token: ")]
    assert len(errors) == 1 and errors[0].startswith("error:") and says in errors[0], done.stderr


@pytest.mark.parametrize("option", ["--port", "--channel-port"])
def test_a_busy_port_is_blamed_on_the_option_that_chose_it(tmp_path: Path, option: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*CLI, "endpoint", "start", "--token-file", str(tmp_path / "t"), option, str(port)],
            capture_output=True, text=True, timeout=120, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.strip().splitlines() if not line.startswith("token: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {option}: cannot listen on 127.0.0.1:{port}"), errors
