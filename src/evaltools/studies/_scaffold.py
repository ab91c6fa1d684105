"""``evaltools new-study NAME``: the files of a new study, ready to run and to fill in.

A new study touches only its own folders (``docs/new_study.md``)::

    notebooks/NAME.ipynb              the story: parameters, a first cell, a funder section
    params/NAME.yaml                  its default run
    src/evaltools/studies/NAME/       its package: __init__.py (the verbs) and messages.yaml
    tests/studies/test_NAME.py        its tests
    docs/NAME.md                      its documentation

The package's verbs (``prepare``, ``headline``, ``subgroups``, ``costs``, ``truth_check``) are
stubs that say what to write (:class:`StudyNotWritten`), except ``prepare``, which returns the
loaded data set so that the scaffold runs end to end (``evaltools run NAME``) before any code
is written. Nothing that exists is overwritten.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from evaltools.core.errors import EvaltoolsError, InputError

__all__ = ["ScaffoldError", "StudyNotWritten", "new_study", "planned_files"]

NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
#: names taken by the package itself (modules of evaltools.studies, old names kept for one release)
RESERVED = {"dropout", "alumni", "municipal", "scaffold", "studies", "report", "estimate", "test", "tests"}


class ScaffoldError(InputError, ValueError):
    """A study name that cannot be used, or a project the scaffold cannot write into."""


class StudyNotWritten(EvaltoolsError, NotImplementedError):
    """A verb of a new study that has not been written yet (raised by the scaffold's stubs)."""


@dataclass(frozen=True)
class _Files:
    notebook: Path
    params: Path
    package: Path
    test: Path
    doc: Path


def planned_files(root: Path, name: str) -> _Files:
    """Where the scaffold of ``name`` goes in the project at ``root``."""
    return _Files(notebook=root / "notebooks" / f"{name}.ipynb", params=root / "params" / f"{name}.yaml",
                  package=root / "src" / "evaltools" / "studies" / name, test=root / "tests" / "studies" / f"test_{name}.py",
                  doc=root / "docs" / f"{name}.md")


def _check(root: Path, name: str) -> _Files:
    if not NAME.fullmatch(name or "") or keyword.iskeyword(name) or name.endswith("_"):
        raise ScaffoldError(
            f"A study name is 2-40 lower-case letters, digits and '_', starting with a letter (it names the "
            f"notebook, the params file, the package and the message keys), e.g. 'teacher_mentoring'; got {name!r}.")
    if name in RESERVED:
        raise ScaffoldError(f"The name {name!r} is taken by the package itself; choose another, e.g. '{name}_study'.")
    files = planned_files(root, name)
    if not (root / "src" / "evaltools" / "studies").is_dir():
        raise ScaffoldError(f"{root} has no src/evaltools/studies/ folder: run new-study in the evaltools project "
                            "(or pass --root).")
    taken = [p for p in (files.notebook, files.params, files.package, files.test, files.doc) if p.exists()]
    if taken:
        raise ScaffoldError(f"Study {name!r} exists already ({', '.join(str(p.relative_to(root)) for p in taken)}); "
                            "nothing was written. Choose another name or edit those files.")
    return files


def new_study(root: str | Path, name: str, title: str | None = None) -> list[Path]:
    """Write the scaffold of study ``name`` into the project at ``root``; returns the files written."""
    root = Path(root).resolve()
    files = _check(root, name)
    title = title or name.replace("_", " ").capitalize()
    files.package.mkdir(parents=True)
    written = []
    for path, text in ((files.package / "__init__.py", _PACKAGE.format(name=name, title=title)),
                       (files.package / "messages.yaml", _MESSAGES.format(name=name, title=title)),
                       (files.params, _PARAMS.format(name=name, title=title)),
                       (files.test, _TEST.format(name=name, title=title)),
                       (files.doc, _DOC.format(name=name, title=title))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    files.notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_notebook(name, title), files.notebook)
    written.insert(0, files.notebook)
    return written


def _cell(kind: str, cid: str, source: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.id = cid
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _notebook(name: str, title: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "evaltools", "language": "python", "name": "evaltools"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        _cell("markdown", f"{name}-00", f"# {title}\n\nThe question, the design and its assumptions (see "
              f"`docs/{name}.md`). Cells tagged `researcher` (like this one) are left out of the funder report; "
              f"every number the funder sees is computed in a visible cell through one call of "
              f"`evaltools.studies.{name}`. Run it with `evaltools run {name} -p params/{name}.yaml`.",
              ("researcher",)),
        _cell("code", f"{name}-01", "from IPython.display import Markdown, display\n\n"
              "import evaltools.report as report\n"
              "from evaltools.data import load_dataset\n"
              "from evaltools.params import InputDir, Literal, MinCell, check_injected\n"
              "from evaltools.report import disclosure, i18n\n"
              "from evaltools.report.i18n import t\n"
              f"from evaltools.studies import {name} as study\n\n"
              "# Types of the parameters below, named so that `papermill --help-notebook` reads them too\n"
              'Language = Literal["lv", "en"]'),
        _cell("code", f"{name}-02", 'data_dir: InputDir = "../data/sample"   # folder with the data set (one file per table)\n'
              'language: Language = "lv"               # language of the report\n'
              "min_cell: MinCell = 10                  # smallest count shown in a published table (never below "
              "the floor, 5)", ("parameters",)),
        _cell("code", f"{name}-02-guard", "check_injected(globals())  # stops `papermill -f params/<file>.yaml` "
              "(not papermill's format): use `evaltools run`", ("remove-cell",)),
        _cell("code", f"{name}-03", "i18n.set_language(language)\n"
              "disclosure.set_defaults(threshold=min_cell)\n"
              "data = load_dataset(data_dir)\n"
              "frames = study.prepare(data)  # the study's frames (evaltools.studies." + name + ".prepare)"),
        _cell("code", f"{name}-04", "frames  # the tables and their rows, for researchers (not published)",
              ("researcher",)),
        _cell("code", f"{name}-05", f'display(Markdown("## " + t("{name}.h.headline")))\n'
              f'display(Markdown(t("{name}.intro")))\n'
              f"# next: results = study.headline(frames, ...); then the headline card and tables through the\n"
              f"# report layer (report.headline_card, report.publish_table), see docs/new_study.md"),
    ]
    return nb


_PACKAGE = '''"""{title} (``notebooks/{name}.ipynb``): the study's package.

The verbs every study offers (``docs/new_study.md``): :func:`prepare` the frames from a loaded
data set; :func:`headline` every number the funder report shows, in one call; :func:`subgroups`
("for whom"); :func:`costs`; :func:`truth_check` against the effects stored with synthetic
data. Its report texts are in ``messages.yaml`` beside this file (keys ``{name}.*``).

Written by ``evaltools new-study {name}``: the verbs other than ``prepare`` are stubs that say
what to write. Split the package into modules by job as it grows (frames, effects, designs,
publish, truth: see ``evaltools.studies.dropout_prevention``).
"""
from __future__ import annotations

from typing import Any

from evaltools.studies._scaffold import StudyNotWritten

__all__ = ["prepare", "headline", "subgroups", "costs", "truth_check"]


def _todo(verb: str, what: str) -> StudyNotWritten:
    return StudyNotWritten(f"evaltools.studies.{name}.{{verb}}() is not written yet: {{what}} "
                           f"(src/evaltools/studies/{name}/__init__.py; see docs/new_study.md).")


def prepare(data: Any, **options: Any) -> Any:
    """The study's frames from a loaded data set (``evaltools.data.load_dataset``). The scaffold
    returns the data set itself; replace it with the frames the study analyses."""
    return data


def headline(frames: Any, **options: Any) -> Any:
    """Every number the funder report shows, from the package's estimators (one call)."""
    raise _todo("headline", "fit the design with evaltools.estimate and return its results")


def subgroups(frames: Any, by: str, **options: Any) -> Any:
    """The effect within each group of ``by``."""
    raise _todo("subgroups", "estimate the effect by group, or remove the verb if it does not apply")


def costs(frames: Any, **options: Any) -> Any:
    """The programme's costs (evaltools.inference.cost_per_pupil / cost_per_outcome)."""
    raise _todo("costs", "compute the costs, or remove the verb if it does not apply")


def truth_check(truth: Any, estimates: Any) -> Any:
    """Each estimate next to the true effect stored with synthetic data."""
    raise _todo("truth_check", "compare the estimates with the data's true_effects.json")
'''

_MESSAGES = '''# Messages of the {name} study (keys {name}.*), merged with evaltools/report/messages.yaml by
# evaltools.report.i18n.catalogue(); every key in both languages, a key defined twice is an error.
{name}.h.headline:
  lv: "Galvenais rezultāts"
  en: "Headline"
{name}.intro:
  lv: "Pētījums „{title}”: jautājums, dati un novērtējuma plāns. Rezultāti vēl nav aprēķināti."
  en: "The study “{title}”: the question, the data and the evaluation plan. No results have been computed yet."
'''

_PARAMS = '''study: {name}
description: {title} (latviski)
parameters:
  data_dir: data/sample
  language: lv
'''

_TEST = '''"""The {name} study (evaltools.studies.{name}, notebooks/{name}.ipynb): written by
``evaltools new-study {name}``; replace the stub checks by truth checks as the study grows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltools.report import i18n
from evaltools.studies import {name} as study
from evaltools.studies._scaffold import StudyNotWritten

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "{name}.ipynb"


def test_the_study_offers_the_verbs():
    for verb in ("prepare", "headline", "subgroups", "costs", "truth_check"):
        assert callable(getattr(study, verb)), verb
    assert study.prepare({{"tables": 1}}) == {{"tables": 1}}


def test_unwritten_verbs_say_what_to_write():
    with pytest.raises(StudyNotWritten, match="{name}.headline\\\\(\\\\) is not written yet"):
        study.headline(None)


def test_every_message_key_the_notebook_uses_exists_in_both_languages():
    text = "\\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    keys = {{k for k in i18n.catalogue() if k.startswith("{name}.")}}
    assert keys and all(k in text for k in keys)
    for key in keys:
        assert set(i18n.catalogue()[key]) == {{"lv", "en"}}
'''

_DOC = '''# {title}

Notebook `notebooks/{name}.ipynb`, package `src/evaltools/studies/{name}/`, params
`params/{name}.yaml`, tests `tests/studies/test_{name}.py`.

## Question

What the funder asks, in one sentence.

## Data

The tables the study reads (`docs/codebook.md`) and the population it analyses.

## Design and assumptions

The estimand, the estimator (`evaltools.estimate`), the assumptions and how each is checked.

## Running

    evaltools run {name} -p params/{name}.yaml

## Truth check

Which stored effect of the synthetic data each estimate is compared with (`truth_check`).
'''
