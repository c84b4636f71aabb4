"""The Session: where a program submits real work. It owns an engine, an executor and the driver thread.

    with hetflow.Session() as s:          # the local machine, discovered; or platform=..., journal=..., backend=...
        a = prepare()                     # a @hetflow.task call returns a TaskFuture at once
        m = train(a)                      # a future passed as an argument is a dependency
        r = s.run("workflow.yaml")        # a declarative workflow (command or function per task set)

Leaving the `with` block waits for every task (new ones may still come from callbacks); an exception in the block
cancels what has not ended.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from hetflow.core.engine import Engine
from hetflow.core.partitions import Share, parse_shares, repartitioned
from hetflow.core.triggers import Actions, Observed, Trigger
from hetflow.core.view import Links
from hetflow.errors import ExecutionError, SpecError
from hetflow.executors import Executor
from hetflow.journal.read import JournalView, read_journal
from hetflow.journal.store import Journal
from hetflow.policies import make_policy
from hetflow.runtime.actions import SessionPort
from hetflow.runtime.active import innermost, pop_session, push_session
from hetflow.runtime.admission import Admission
from hetflow.runtime.clock import Clock, WallClock
from hetflow.runtime.collector import session_closed, session_opened
from hetflow.runtime.configure import connected, executor_for, history_for, kept_tasks, run_shape
from hetflow.runtime.driver import Driver
from hetflow.runtime.events import Observer
from hetflow.runtime.futures import TaskFuture
from hetflow.runtime.journaling import JournalObserver
from hetflow.runtime.messages import ArmTrigger, CancelTasks, Close, ResizePartitions, SubmitSets
from hetflow.runtime.observers import FuturesObserver, IntervalRecorder
from hetflow.runtime.runs import Group, Progress, WorkflowRun
from hetflow.runtime.sets import SetInfo
from hetflow.runtime.submitting import Calls, Pending, call, mapped, shell, watched, when_done
from hetflow.runtime.task import TaskOptions
from hetflow.spec.data import Transfer, staged_inputs
from hetflow.spec.load import load_platform, load_workflow
from hetflow.spec.platform import Platform
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import Workflow

if TYPE_CHECKING:
    from hetflow.dashboard.live import LiveDashboard
    from hetflow.metrics.result import RunResult

log = logging.getLogger("hetflow")
PlatformLike = Platform | str | os.PathLike[str] | Mapping[str, Any]
WorkflowLike = Workflow | str | os.PathLike[str] | Mapping[str, Any]


class Session:
    """A real run in progress. backend: an executor by name ("local"); platform: a path, dict or Platform (default:
    this machine, discovered; on resume, the journal's); mode and policy as in simulation; journal: a SQLite file
    recording everything; resume: go on with that journal's run (its done tasks are not run again); retry_backoff:
    the first pause before a retry, doubled at each one; partitions: named shares of every node that task sets may
    target, e.g. {"uq": {"cores": 0.5}, "ddmd": {"cores": 0.5, "gpus": 1}} (resize() changes them while tasks run).
    Other keyword options go to the executor (local: workers, log_dir, pin, gpu_sharing="mps": an MPS daemon for
    the run; dask and ray: address, log_dir).
    executor: an Executor made elsewhere instead (e.g. hetflow.executors.fake.FakeExecutor), with clock: the Clock
    the run is timed by (default: the machine's; a FakeExecutor's FakeClock for a run in virtual time).

    backend="dask" or "ray": with address=, the cluster there, whose workers (nodes) become the platform; without,
    a local cluster started shaped like the platform (one worker or node per platform node, its cores and GPUs
    declared as resources), which is how one machine stands for a heterogeneous cluster.

    dashboard=True (port 8787, else any free one), or a port (0: any free one): serve the live web dashboard of the
    run while the session is open, its URL (with its access token) printed on stderr and in `dashboard_url`; without
    a journal, the session writes a temporary one (removed on close).

    history: a folder whose history store (history.db) gets every task the session ran to done when it closes, for
    `hetflow predict`; without a journal, the session keeps a temporary one for it.

    links: for a platform of sites (spec.site.Sites.platform()), the Sites: data moves between sites over their
    links, and a set's tasks start at a site only once its inputs are there (core/staging.py)."""

    def __init__(
        self,
        backend: str = "local",
        *,
        platform: PlatformLike | None = None,
        mode: str | None = None,
        policy: str | None = None,
        journal: str | os.PathLike[str] | None = None,
        resume: bool = False,
        retry_backoff: float = 0.1,
        partitions: Mapping[str, Any] | None = None,
        executor: Executor | None = None,
        clock: Clock | None = None,
        dashboard: bool | int = False,
        history: str | os.PathLike[str] | None = None,
        links: Links | None = None,
        **executor_options: Any,
    ) -> None:
        if executor is not None and executor_options:
            raise SpecError(
                f"executor options ({', '.join(executor_options)}) given with an executor",
                place="Session",
                fix="give those options to the executor itself",
            )
        self._clock: Clock = clock if clock is not None else WallClock()
        self._links = links
        self._shares: dict[str, Share] = parse_shares(partitions or {})
        if resume and journal is None:
            raise SpecError("resume needs a journal", place="resume", fix="pass journal=FILE (--journal FILE)")
        self._dashboard: LiveDashboard | None = None
        self.dashboard_url: str | None = None
        temporary = dashboard is not False and journal is None
        if temporary:  # the live dashboard reads the journal the session writes
            from hetflow.dashboard.live import temporary_journal

            journal = temporary_journal()
        self._history, self._history_tmp = history_for(history, journal)
        journal = journal if self._history_tmp is None else self._history_tmp / "run.db"
        self._journal = Journal(journal, resume=resume) if journal is not None else None
        try:
            self._setup(backend, platform, mode, policy, journal, resume, retry_backoff, executor, executor_options)
            if dashboard is not False and self._journal is not None:
                from hetflow.dashboard.live import LiveDashboard, port_of

                self._dashboard = LiveDashboard(self._journal.path, self.log_dir, port_of(dashboard), temporary)
                self.dashboard_url = self._dashboard.url
                print(f"dashboard: {self.dashboard_url}", file=sys.stderr, flush=True)
        except BaseException:
            if self._journal is not None:
                self._journal.close()
            if temporary and journal is not None:
                shutil.rmtree(Path(journal).parent, ignore_errors=True)
            if self._history_tmp is not None:
                shutil.rmtree(self._history_tmp, ignore_errors=True)
            raise

    def _setup(
        self,
        backend: str,
        platform: PlatformLike | None,
        mode: str | None,
        policy: str | None,
        journal: str | os.PathLike[str] | None,
        resume: bool,
        retry_backoff: float,
        executor: Executor | None,
        executor_options: dict[str, Any],
    ) -> None:
        self._resumed: JournalView | None = read_journal(journal) if resume and journal is not None else None
        recorded: dict[str, str] = self._journal.meta() if self._journal is not None and resume else {}
        given = load_platform(platform) if platform is not None else None
        self.platform, self.mode, self.policy = run_shape(  # endpoints, like an address, bring their own nodes
            given, mode, policy, recorded, executor_options.get("address") or executor_options.get("endpoints")
        )
        self.log_dir: Path | None = None
        if executor is not None:
            self.backend, self._executor = executor.name, executor
            self.platform = connected(executor, self.platform)
        else:
            self.backend = backend
            made = executor_for(backend, journal, executor_options, self.platform)
            self._executor, self.log_dir, self.platform = made
        self._backoff = retry_backoff
        self._recorder = IntervalRecorder()
        self._driver: Driver | None = None
        self._admit = Admission(self.platform, self._shares, self)
        # a set marked posted reaches the driver before any other: a child another thread submits once it sees the
        # parent posted must not reach the (forgetting) engine first, where an unknown parent counts as met
        self._posting = threading.Lock()
        self._on_cancel = self._cancel_future  # one bound method for every future (Admission.after tells whose)
        self._calls = Calls(self._admit, self._on_cancel)
        self._closed = False
        self._origin = self._clock.time()

    @property
    def executor(self) -> Executor:
        """Where the tasks run (for tools and tests: the Dask client, the worker processes)."""
        return self._executor

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal is not None else None

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> Session:
        """Start the workers and the driver (entering the `with` block does it); the session becomes the active one."""
        if self._driver is not None:
            return self
        if self._closed:
            raise ExecutionError("the session is closed")
        engine = Engine(
            self.platform.nodes(),
            self.mode,
            make_policy(self.policy),
            partitions=self._shares or None,
            retry_backoff=self._backoff,
            links=self._links,
            forget=True,  # a long-lived session keeps what it held at its start, however many sets ended
            releases=self._journal is not None,  # the journal records releases; nothing else reads them
        )
        observers: list[Observer] = [self._recorder]
        buffer = None
        if self._journal is not None:
            self._journal.begin(self.platform, self.mode, self.policy, None, log_dir=self.log_dir)
            buffer = JournalObserver(self._journal)
            observers.append(buffer)
        observers.append(FuturesObserver())
        self._origin = self._clock.time()
        nodes = self.platform.nodes()
        self._driver = Driver(engine, self._executor, nodes, self._clock, observers, buffer, self._act)
        log.info(
            "session: %s backend, platform %s, mode %s, policy %s, journal %s",
            self.backend, self.platform.name, self.mode, self.policy, self.journal_path,
        )  # fmt: skip
        self._driver.start()
        push_session(self)
        session_opened()  # a larger young generation while it is open (runtime/collector.py)
        atexit.register(self._at_exit)
        return self

    def _at_exit(self) -> None:
        """A session still open when the interpreter exits: stop its tasks, keep its journal whole."""
        with contextlib.suppress(Exception):
            self.close(cancel=True)

    def close(self, wait: bool = True, cancel: bool = False) -> None:
        """End the session: wait for every task (cancel=True: stop them), then stop the workers."""
        driver = self._driver
        if driver is None or self._closed:
            self._closed = True
            if driver is None:
                self._executor.close()  # never started: a cluster it started goes now
                if self._journal is not None:
                    self._journal.close()
                if self._dashboard is not None:
                    self._dashboard.stop()
            return
        self._closed = True
        pop_session(self)
        session_closed()
        atexit.unregister(self._at_exit)
        with contextlib.suppress(ExecutionError):  # it stopped already
            driver.post(Close(cancel))
        if wait:
            try:
                while driver.alive:
                    driver.join(0.2)
                self._record_history()
            except KeyboardInterrupt:
                driver.post(Close(True))
                driver.join()
                raise
            finally:
                if self._dashboard is not None:
                    self._dashboard.stop(remove=not driver.alive)
        if driver.error is not None:
            raise ExecutionError(f"the runtime stopped: {driver.error}") from driver.error

    def interrupt(self) -> None:
        """Stop the run now, as Ctrl-C does: cancel every task that has not ended (running ones are killed), wait
        until the executor has stopped its processes, and record the run as interrupted (journal). A
        KeyboardInterrupt while it waits reaches the caller, who may then give up on a clean stop."""
        driver = self._driver
        if driver is None:
            self.close()
            return
        log.info("interrupted: cancelling what has not ended")
        driver.interrupted = True
        self.close(wait=False)
        with contextlib.suppress(ExecutionError):  # it stopped already
            driver.post(Close(True))
        while driver.alive:
            driver.join(0.2)

    def __enter__(self) -> Session:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(cancel=kind is not None)

    # ---- submitting -----------------------------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> TaskFuture:
        """Run fn(*args, **kwargs) as a task (with the options of @hetflow.task when fn has them)."""
        made = self._calls.make(fn, args, kwargs)
        options: TaskOptions | None
        if made is None:
            pending = call(self._admit, fn, args, kwargs, self._on_cancel)
            if pending.wait:
                return self._enqueue(pending, "call")[0]
            info, options = pending.info, pending.options
        else:
            info, options = made
        # the hot path of a program calling a task once per item: straight to the driver, its name never unposted
        d = self._require()
        if self._closed and not d.alive:
            raise ExecutionError("the session is closed")
        t = self._clock.time()
        with self._posting:
            self._admit.posted_call(info.spec, options)
            d.post_sets([info], "call", [t])
        assert info.future is not None  # a call's set holds one task
        return info.future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[TaskFuture]:
        """One task per item, fn(*item), as one task set (cheaper than one call each); their futures in order."""
        items = list(zip(*iterables, strict=False))
        return self._enqueue(mapped(self._admit, fn, items, self._on_cancel), "map") if items else []

    def shell(
        self,
        command: str,
        *,
        cores: int = 1,
        gpus: float = 0,
        memory: int | str = 0,
        retries: int = 0,
        timeout: float | None = None,
        runtime: float = 0.0,
        name: str | None = None,
        after: Sequence[TaskFuture] = (),
        partition: str | None = None,
    ) -> TaskFuture:
        """Run a shell command as a task; its future's result is a CommandResult (exit status, output files)."""
        opts = TaskOptions.of(cores, gpus, memory, retries, timeout, runtime, name, partition)
        return self._enqueue(shell(self._admit, command, opts, after, self._on_cancel), "shell")[0]

    def _enqueue(self, pending: Pending, kind: str) -> list[TaskFuture]:
        """Hand a task set to the driver now, or once the single tasks it waits for are done."""
        info = pending.info
        futures = info.all_futures()
        if pending.wait:
            when_done(pending.wait, futures, lambda: self._post([info], kind, options=pending.options))
        else:
            self._post([info], kind, options=pending.options)
        return futures

    def check_workflow(self, workflow: WorkflowLike) -> Workflow:
        """The workflow, loaded and checked for a real run here (SpecError when it cannot run): every task fits on the
        platform and has a command or a function; on resume, its task sets are those the journal records."""
        return self._checked(workflow)[0]

    def _checked(self, workflow: WorkflowLike) -> tuple[Workflow, dict[str, dict[int, Interval]]]:
        """check_workflow's work; also the tasks an earlier run of the journal did (resume)."""
        wf = load_workflow(workflow)
        self._admit.check_workflow(wf)
        return wf, kept_tasks(self._resumed, wf)

    def submit_workflow(self, workflow: WorkflowLike) -> WorkflowRun:
        """Start a declarative workflow: every task runs its command ({index} expanded) or function (called with its
        index when it takes a parameter). Returns at once."""
        wf, kept = self._checked(workflow)
        submitted = self._clock.time()
        # a resumed run's result spans every run of its journal: it starts when the first one did
        origin = self._resumed.origin if kept and self._resumed is not None else submitted
        group = Group([s.name for s in wf.sets])
        by_name = {s.name: s for s in wf.sets}
        infos = [
            SetInfo(s, fn=s.function, command=s.command, group=group, kept=kept.get(s.name),
                    reads=staged_inputs(s, [by_name[p] for p in s.after if p in by_name]))
            for s in wf.sets
        ]  # fmt: skip
        self._admit.claim(wf)
        self._post(infos, "workflow", wf.name, submitted)
        return WorkflowRun(wf, group, origin, (self.platform, self.mode, self.policy), self._marks)

    def run(self, workflow: WorkflowLike, wait: bool = True) -> WorkflowRun:
        """Run a declarative workflow (path, dict or Workflow); with wait, return once every task has ended."""
        r = self.submit_workflow(workflow)
        if wait:
            r.wait()
        return r

    # ---- adapting -------------------------------------------------------------------------------------------------
    @property
    def partitions(self) -> dict[str, Share]:
        """The partitions' shares of every node, as last set."""
        with self._admit.lock:
            return dict(self._shares)

    def resize(
        self,
        partition: str,
        *,
        cores: float | str | None = None,
        gpus: float | str | None = None,
        preempt: bool = False,
    ) -> Share:
        """Give a partition new shares of every node's cores and GPUs (None keeps one; a new name adds a partition).
        Running tasks go on unless preempt, which stops the newest ones over the new quota and queues them again."""
        change = {k: v for k, v in (("cores", cores), ("gpus", gpus)) if v is not None}
        return self.repartition({partition: change}, preempt=preempt)[partition]

    def repartition(self, changes: Mapping[str, Any], *, preempt: bool = False) -> dict[str, Share]:
        """Resize several partitions at once, e.g. {"uq": {"cores": 0.25}, "ddmd": {"cores": 0.75}}; their new
        shares."""
        with self._admit.lock:
            new = repartitioned(self._shares, changes)
            self._shares.update(new)
        self._require().post(ResizePartitions(new, preempt))
        return new

    def when(
        self,
        watch: Any,
        then: Callable[[Any], None],
        *,
        count: int | None = None,
        fraction: float | None = None,
        predicate: Callable[[Observed], bool] | None = None,
        name: str = "",
    ) -> Trigger:
        """Run then(ctx) once, in the driver thread, when count (or a fraction) of the watched tasks are done or
        predicate(observed) holds. watch: task set names, futures, WorkflowRuns, or a list of them. ctx
        (core/triggers.py Actions) can submit, cancel, resize and add triggers; the Session's own methods work too."""
        trigger = Trigger(watched(watch), then, count, fraction, predicate, name)
        self.arm(trigger)
        return trigger

    def arm(self, trigger: Trigger) -> None:
        """Add a trigger made elsewhere (the same Trigger objects work in run_simulation)."""
        unknown = self._admit.unknown(trigger.watch)
        if unknown:
            raise SpecError(
                f"trigger {trigger.name!r} watches unknown task set {unknown[0]!r}",
                place=trigger.name,
                fix="submit the tasks before the trigger that watches them",
            )
        self._require().post(ArmTrigger(trigger))

    def cancel(self, set_name: str, index: int | None = None) -> None:
        """Cancel the tasks of a set (one of them with index) that have not ended; their dependents are skipped."""
        self._require().post(CancelTasks(set_name, index))

    def elapsed(self) -> float:
        """Seconds since the session started: the engine's time (a trigger's ctx.now), on the session's clock."""
        return self._require().elapsed()

    def _marks(self) -> list[Mark]:
        return list(self._recorder.marks)

    def _act(self, trigger: Trigger, seen: Observed) -> list[str]:
        """Run a trigger's action (in the driver thread, with this session active: @task calls submit here)."""
        ctx = Actions(SessionPort(self), seen, load_workflow)
        push_session(self)
        try:
            trigger.then(ctx)
        finally:
            pop_session(self)
        return ctx.did

    # ---- looking at it --------------------------------------------------------------------------------------------
    def progress(self) -> Progress:
        d = self._require()
        counts = d.engine.state_counts()
        return Progress.of(counts, len(d.inflight), d.cores_busy, d.gpu_units_busy / GPU_UNIT, self.platform)

    def capacity(self) -> list[dict[str, Any]]:
        """Each live node's capacity and what is free of it now, as the engine's ledger has it (a snapshot any thread
        may take: a reading between two steps of the driver). gpus_free: the free share of each of its GPUs;
        memory 0: not tracked (free_memory None)."""
        ledger = self._require().engine.ledger
        return [
            {
                "name": n.name,
                "type": n.type,
                "cores": n.cores,
                "gpus": n.gpu_units / GPU_UNIT,
                "memory": n.memory,
                "free_cores": ledger.free_cores[i],
                "free_gpus": ledger.free_gpu_total[i] / GPU_UNIT,
                "gpus_free": [u / GPU_UNIT for u in ledger.free_gpu[i]],
                "free_memory": ledger.free_memory[i] if n.memory else None,
                "speed": n.speed,
                "gpu_model": n.gpu_model,
                "gpu_sharing": n.gpu_sharing,
                "features": None if n.features is None else n.features.as_dict(),
            }
            for i, n in enumerate(list(ledger.nodes))
            if ledger.alive[i]
        ]

    @property
    def transfers(self) -> list[Transfer]:
        """The files its executor really moved between sites (a multi-site run's declared files, faas/stager.py)."""
        return list(getattr(self._executor, "transfers", ()))

    def result(self) -> RunResult:
        """Everything this session ran so far, as one RunResult."""
        self._require()
        wf = Workflow("session", tuple(self._admit.specs))
        return self._recorder.result(wf, self.platform, self.mode, self.policy, self._origin)

    # ---- internals ------------------------------------------------------------------------------------------------
    def _record_history(self) -> None:
        """Feed the history store the journal's done tasks (history=), then drop a journal kept only for it."""
        if self._history is None or self._journal is None:
            return
        from hetflow.predict import record_journal

        record_journal(self._history, self._journal.path)
        if self._history_tmp is not None:
            shutil.rmtree(self._history_tmp, ignore_errors=True)

    def _require(self) -> Driver:
        if self._driver is None:
            raise ExecutionError("the session has not started: use `with Session() as s:` or s.start()")
        return self._driver

    def _post(
        self,
        infos: list[SetInfo],
        kind: str,
        workflow: str | None = None,
        at: float | None = None,
        options: object = None,
    ) -> None:
        d = self._require()
        if self._closed and not d.alive:
            raise ExecutionError("the session is closed")
        times = [self._clock.time() if at is None else at] * len(infos)
        with self._posting:
            self._admit.posted(infos, options)
            d.post(SubmitSets(infos, kind, workflow, times))

    def _cancel_future(self, fut: TaskFuture) -> None:
        d = self._driver
        if d is not None and not d.finished.is_set():
            with contextlib.suppress(ExecutionError):
                d.post(CancelTasks(fut.set, fut.index))


def current_session() -> Session | None:
    """The innermost active Session of the process (where a @task call submits), or None."""
    s = innermost()
    return s if isinstance(s, Session) else None
