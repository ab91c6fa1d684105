"""Evidence standards: effect sizes (Hedges' g, Cox index), improvement index, months
of progress, attrition and baseline-equivalence rules, evidence ratings (WWC, EEF)."""
