"""The studies: one package per study, named after its notebook.

Each package (``evaltools.studies.<study>``) holds the study's frames, its calls of the
package's estimators, its figures and what it publishes, and its own message catalogue
(``messages.yaml``, merged by :mod:`evaltools.report.i18n` at load), and offers the same verbs
where they apply: ``prepare``, ``headline`` (every number the funder report shows, in one call),
``subgroups``, ``costs`` and ``truth_check``. Tests: ``tests/studies/test_<study>.py``.

- :mod:`evaltools.studies.dropout_prevention`: PUMPURS dropout prevention;
- :mod:`evaltools.studies.alumni_programme`: the Iespējamā misija alumni growth programme;
- :mod:`evaltools.studies.municipal_quality`: the municipal education-quality overview.
- :mod:`evaltools.studies.school_community_support`: Skola-kopienā individual support plans (ESF 4.2.3.1);
- :mod:`evaltools.studies.skolas_soma`: Latvijas skolas soma, coverage and its association with wellbeing;
- :mod:`evaltools.studies.quality_monitoring`: the national monitoring report (ESF 4.2.2.4);
- :mod:`evaltools.studies.evaluation_planner`: the design of an evaluation before a measure starts.
- :mod:`evaltools.studies.teacher_professional_support`: teachers' methodologist support network (ESF 4.2.2.3).

``evaltools new-study NAME`` writes a new one (``docs/new_study.md``). The modules ``dropout``,
``alumni`` and ``municipal`` are the old names, kept for one release.
"""
