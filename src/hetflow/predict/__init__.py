"""Prediction from recorded runs: the overheads a backend adds (calibration.py), fitted from journals."""
