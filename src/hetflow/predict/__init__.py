"""Prediction from history: the history store (SQLite) fed by journals and WfFormat traces, run-time forecasts per
task set (model, history or declared), the ETA of a running workflow, and the overheads a backend adds
(calibration.py, fitted from journals)."""

from hetflow.predict.eta import Eta, eta
from hetflow.predict.history import Attempt, HistoryStore, default_history_dir, set_key
from hetflow.predict.models import DECLARED, HISTORY, MODEL, Forecast, Query, forecast
from hetflow.predict.record import record_journal, record_wfformat, wfformat_keys
from hetflow.predict.sets import set_forecasts

__all__ = [
    "DECLARED",
    "HISTORY",
    "MODEL",
    "Attempt",
    "Eta",
    "Forecast",
    "HistoryStore",
    "Query",
    "default_history_dir",
    "eta",
    "forecast",
    "record_journal",
    "record_wfformat",
    "set_forecasts",
    "set_key",
    "wfformat_keys",
]
