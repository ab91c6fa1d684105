"""Difference-in-differences: ``classic`` (2x2 and two-way fixed effects), ``event_time``
(event studies: TWFE leads and lags, Sun & Abraham), ``staggered`` with ``_cs_*``
(Callaway & Sant'Anna group-time ATTs), ``wild_bootstrap`` (wild cluster bootstrap with
fixed effects). Import the estimators from :mod:`evaltools.estimate`."""
