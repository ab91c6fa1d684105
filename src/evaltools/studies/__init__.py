"""Study-specific computations that are too long for a study notebook.

One module per study: the notebook tells the story, the module does the work that is
more than a few lines (preparing the study's frames, quantities derived from the
package's estimators), with unit tests in ``tests/test_study_<name>.py``.

- :mod:`evaltools.studies.alumni`: the Iespējamā misija alumni growth programme
  (``notebooks/alumni_programme.ipynb``);
- :mod:`evaltools.studies.dropout`: PUMPURS dropout prevention
  (``notebooks/dropout_prevention.ipynb``).
"""
