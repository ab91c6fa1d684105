"""Selection on observables: ``propensity`` (scores, overlap, trimming), ``matching``
(nearest-neighbour matching, matched DiD), ``weighting`` (IPW, AIPW), ``stability``
(Oster's delta). Import the estimators from :mod:`evaltools.estimate`."""
