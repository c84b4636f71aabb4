"""The command line. Commands join the group `main` (`@main.command()`, one module per command); the group's error
handling covers them all.

Each command imports what it needs when it runs (rich, the loaders, the simulator, the runtime, the report), so
`hetflow --help` and `hetflow validate` print before numpy, matplotlib or the runtime are loaded.

Any HetflowError ends the command with one line on stderr, `error: <file>: <place>: <problem> (fix: ...)`, and exit
status 2; the global `--debug` shows the traceback instead. Ctrl-C ends any command with exit status 130 (`run` first
stops its tasks and keeps its journal). The global `-v`, `-q` and `--log-file` set what the `hetflow` logger prints
(group.py), and long work prints progress lines on stderr (progress.py).
"""

from hetflow.cli import (  # noqa: F401  (each registers its command)
    bench,
    calibrate,
    compare,
    dashboard,
    discover,
    endpoint,
    pack,
    predict,
    report,
    run,
    simulate,
    specialize,
    validate,
)
from hetflow.cli.group import main

__all__ = ["main"]
