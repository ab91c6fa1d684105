"""Survival: ``curves`` (Kaplan-Meier curves, the log-rank test) and ``hazard_models``
(discrete-time hazard models on person-period rows, cumulative incidence). Import the
estimators from :mod:`evaltools.estimate`."""
