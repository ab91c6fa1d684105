"""Selection on observables: ``propensity`` (scores, overlap, trimming), ``matching``
(nearest-neighbour matching, matched DiD), ``weighting`` (IPW, AIPW), ``stability``
(Oster's delta), ``balance_checks`` (balance tables before and after weighting). Import the
estimators from :mod:`evaltools.estimate`."""
