"""The identifiers of a run's inputs are read once per process while the files stay the same
(run-all's workers run many reports on one data set), and again when a file changes."""
import os

import pandas as pd

from evaltools.run import execute


def test_identifiers_are_read_once_for_unchanged_inputs_and_again_after_a_change(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"pupil_id": ["Pab12cd34ef", "Pff00ee11dd"], "grade": [5, 6]}).to_csv(data / "pupils.csv", index=False)
    calls = []
    from evaltools.report import privacy

    original = privacy.identifier_values

    def counting(inputs, *args, **kwargs):
        calls.append(list(inputs))
        return original(inputs, *args, **kwargs)

    monkeypatch.setattr(privacy, "identifier_values", counting)
    execute._IDENTIFIERS.clear()
    first = execute.input_identifiers([data])
    again = execute.input_identifiers([data])
    assert "pab12cd34ef" in {v.casefold() for v in first} and again is first and len(calls) == 1
    pd.DataFrame({"pupil_id": ["Pab12cd34ef", "P9999aaaa77"], "grade": [5, 6]}).to_csv(data / "pupils.csv", index=False)
    st = (data / "pupils.csv").stat()
    os.utime(data / "pupils.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later modification time
    changed = execute.input_identifiers([data])
    assert len(calls) == 2 and "p9999aaaa77" in {v.casefold() for v in changed}
    assert "pff00ee11dd" not in {v.casefold() for v in changed}
    execute._IDENTIFIERS.clear()
