"""The web dashboard of real runs: recorded journals (`hetflow dashboard`) or the one a Session writes, live.

app.py (the Starlette app, its token check, the uvicorn server), data.py (a journal as JSON: summary, progress,
tasks, logs), charts.py (busy cores and GPUs, the Gantt timeline, as Plotly figures), compare.py (simulated vs
real), panels.py (the panel registry), prom.py (/metrics), live.py (a Session's dashboard: this package's server in
a process of its own, so a run never imports the web stack or the simulator, and a crash of one spares the other).
Nothing imports this package but the command line and, through live.py only, the runtime.
"""
