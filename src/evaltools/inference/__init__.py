"""Inference beyond the estimators: power and minimum detectable effects, multiple
testing, sensitivity analysis, cost-effectiveness, bootstrap inference."""
