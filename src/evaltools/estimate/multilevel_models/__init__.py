"""Multilevel models: ``mixed_model`` (linear mixed models: random intercepts and slopes,
ICC, value added). Import the estimators from :mod:`evaltools.estimate`."""
