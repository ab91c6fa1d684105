"""Pieces several studies share: not a study (no notebook, no params).

- :mod:`.frames`: the pupil-year frame with schools, municipalities, early-leaving flags and test
  scores, built once per data set (:func:`.frames.pupil_base`, :func:`.frames.period`,
  :func:`.frames.school_labels`);
- :mod:`.levels`: indicators by (level, school year) for an area, its planning region and Latvia
  (:class:`.levels.Levels`, :func:`.levels.by_level_year`, :func:`.levels.scores_by_subject`);
- :mod:`.soma`: the Latvijas skolas soma indicator (pupils with an activity in every semester).

Moved from ``evaltools.studies.municipal_quality`` (which re-exports every old name), so that
the other studies import them from here rather than from one study's private names. The
protection of linked tables in groups is :func:`evaltools.report.components.components` and
the funnel plot :func:`evaltools.report.funnels.funnel_figure`.
"""
