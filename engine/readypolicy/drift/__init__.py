"""Drift detection: what runs, was built or was decided, compared with what was approved."""
