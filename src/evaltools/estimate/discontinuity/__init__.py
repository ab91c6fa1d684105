"""Regression discontinuity: ``local_polynomial`` (sharp and fuzzy RD with robust bias
correction, the density test). Import the estimators from :mod:`evaltools.estimate`."""
