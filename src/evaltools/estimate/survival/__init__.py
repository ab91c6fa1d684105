"""Survival: ``curves`` (Kaplan-Meier curves, the log-rank test). The discrete-time hazard
is in :mod:`evaltools.estimate.hazard`. Import the estimators from :mod:`evaltools.estimate`."""
