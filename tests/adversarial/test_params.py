"""Adversarial params: hostile or careless params files, --set values and disclosure.yaml.

Every case runs `evaltools run STUDY --check` (in process, no kernel) on a throw-away
copy of the project and asserts: the exit code (2: refused, nothing runs), that the
message names the file / key / line / floor it is about, that it holds no traceback or
bare exception repr, that it is short and quotes at most a few dozen characters of
the value given, that it finishes quickly (an alias bomb must not hang), and that no
run folder was written. A few cases go through a real subprocess to prove the exit
code and that a non-UTF-8 argument cannot crash the printing of the message.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import evaltools
from evaltools.cli import main

SOURCE = Path(evaltools.__file__).resolve().parents[2]  # the checkout whose notebooks are tested
STUDIES = ("municipal_quality", "dropout_prevention")
MAX_LINE = 420  # characters per message line
MAX_MESSAGE = 2500


@dataclass(frozen=True)
class Case:
    id: str
    file: str | bytes | None = None  # params file content (written to params/case.yaml)
    sets: tuple[str, ...] = ()  # --set items
    study: str = "municipal_quality"
    policy: str | bytes | None = None  # disclosure.yaml content
    expect: tuple[str, ...] = ()  # substrings of the message (stderr, or stdout when accepted)
    code: int = 2
    payload: str = ""  # a long value that must not be echoed beyond a few dozen characters
    seconds: float = 2.0


def _bomb() -> str:
    lines = ["study: municipal_quality", "parameters:", '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    lines.append("  municipality: *l9")
    return "\n".join(lines) + "\n"


HEAD = "study: municipal_quality\nparameters:\n"
DHEAD = "study: dropout_prevention\nparameters:\n"
LONG = "x" * 100_000
DIGITS = "9" * 5000

CASES = [
    # ---- the params file as a whole
    Case("alias-bomb", _bomb(), expect=("case.yaml", "line 3", "anchor")),
    Case("alias-undefined", HEAD + "  municipality: *nowhere\n", expect=("case.yaml", "line 3", "alias")),
    Case("alias-only-at-use", HEAD + "  municipality: &m Valmieras novads\n  language: *m\n",
         expect=("case.yaml", "line 3", "anchor")),
    Case("merge-key", HEAD + "  <<: {language: en}\n", expect=("case.yaml", "line 3", "merge")),
    Case("duplicate-parameter", HEAD + "  first_year: 2020\n  language: en\n  first_year: 2021\n",
         expect=("case.yaml", "'first_year'", "lines 3 and 5")),
    Case("duplicate-top-level", "study: municipal_quality\nstudy: dropout_prevention\n",
         expect=("case.yaml", "'study'", "lines 1 and 2")),
    Case("duplicate-quoted", HEAD + "  language: en\n  \"language\": lv\n", expect=("case.yaml", "lines 3 and 4")),
    Case("latin-1", (HEAD + "  municipality: R").encode() + b"\xe9zekne\n",
         expect=("case.yaml", "line 3", "not UTF-8", "0xE9", f"offset {len(HEAD) + len('  municipality: R')}")),
    Case("utf-16", ("\ufeff" + HEAD + "  language: en\n").encode("utf-16"), expect=("case.yaml", "UTF-16")),
    Case("binary", bytes(range(256)) * 4, expect=("case.yaml", "binary", "NUL")),
    Case("nul-in-text", (HEAD + "  language: e").encode() + b"\x00n\n", expect=("case.yaml", "line 3", "NUL")),
    Case("not-a-mapping-list", "- study\n- municipal_quality\n", expect=("case.yaml", "mapping", "list")),
    Case("not-a-mapping-scalar", "municipal_quality\n", expect=("case.yaml", "mapping")),
    Case("empty-file", "", expect=("case.yaml", "empty file")),
    Case("huge-file", HEAD + "  municipality: all\n" + "# padding\n" * 30_000,
         expect=("case.yaml", "bytes", "at most")),
    Case("tab-indentation", HEAD + "\tlanguage: en\n", expect=("case.yaml", "line 3", "tab")),
    Case("control-character", HEAD + "  municipality: Valmiera\x07\n", expect=("case.yaml", "line 3", "U+0007")),
    Case("escape-sequence", HEAD + "  municipality: \"\x1b[2J\"\n", expect=("case.yaml", "line 3", "U+001B")),
    Case("deep-nesting", HEAD + "  municipality: " + "[" * 5000 + "]" * 5000 + "\n",
         expect=("case.yaml", "line 3", "nested")),
    Case("int-5000-digits", HEAD + f"  first_year: {DIGITS}\n", expect=("case.yaml", "line 3", "5000 digits"),
         payload=DIGITS),
    Case("python-tag", HEAD + "  municipality: !!python/object/apply:os.system [\"echo hi\"]\n",
         expect=("case.yaml", "line 3", "not valid YAML")),
    Case("unknown-top-level-key", "study: municipal_quality\nparameter:\n  language: en\n",
         expect=("case.yaml", "line 2", "'parameter'", "parameters:")),
    Case("parameters-not-mapping", "study: municipal_quality\nparameters: [language, en]\n",
         expect=("case.yaml", "line 2", "'parameters' must be a mapping")),
    Case("study-missing", "parameters:\n  language: en\n", expect=("case.yaml", "'study' must name")),
    Case("study-path-traversal", "study: ../../etc/passwd\nparameters: {}\n",
         expect=("case.yaml", "line 1", "'study' must name")),
    Case("study-mismatch", DHEAD + "  language: en\n", expect=("case.yaml", "dropout_prevention", "not 'municipal_quality'")),
    Case("numeric-parameter-key", HEAD + "  2020: first\n", expect=("case.yaml", "line 3", "2020", "not a name")),
    Case("description-mapping", "study: municipal_quality\ndescription: {a: 1}\nparameters: {}\n",
         expect=("case.yaml", "line 2", "'description' must be a text")),
    Case("huge-string-value", HEAD + f"  municipality: {LONG}\n",
         expect=("case.yaml", "'municipality'", "at most 200 characters", "100,000"), payload=LONG),
    # ---- values in the params file
    Case("nan-for-float", DHEAD + "  pass_mark: .nan\n", study="dropout_prevention",
         expect=("case.yaml", "'pass_mark'", "NaN")),
    Case("inf-for-float", DHEAD + "  threshold: .inf\n", study="dropout_prevention",
         expect=("case.yaml", "'threshold'", "infinity")),
    Case("minus-inf-pass-mark", DHEAD + "  pass_mark: -.inf\n", study="dropout_prevention",
         expect=("case.yaml", "'pass_mark'", "-infinity", "from 0 to 100")),
    Case("nan-for-int", HEAD + "  first_year: .nan\n", expect=("case.yaml", "'first_year'", "nan")),
    Case("float-for-int", HEAD + "  last_year: 2023.0\n", expect=("case.yaml", "'last_year'", "whole number 2023")),
    Case("bool-for-int", HEAD + "  min_cell: true\n", expect=("case.yaml", "'min_cell'", "True", "not a number")),
    Case("bool-for-float", DHEAD + "  pass_mark: yes\n", study="dropout_prevention",
         expect=("case.yaml", "'pass_mark'", "True")),
    Case("text-for-int", HEAD + "  first_year: \"2020\"\n", expect=("case.yaml", "'first_year'", "'2020'")),
    Case("date-for-int", HEAD + "  first_year: 2020-09-01\n", expect=("case.yaml", "'first_year'", "date")),
    Case("list-for-int", HEAD + "  first_year: [" + ", ".join(["2020"] * 5000) + "]\n",
         expect=("case.yaml", "'first_year'", "an integer")),
    Case("number-for-text", HEAD + "  municipality: 12\n", expect=("case.yaml", "'municipality'", "quote it")),
    Case("unknown-key-suggestion", HEAD + "  languag: en\n", expect=("case.yaml", "'languag'", "Did you mean 'language'")),
    Case("min-cell-below-floor-in-file", HEAD + "  min_cell: 3\n",
         expect=("case.yaml", "min_cell", "floor 5", "default")),
    Case("reps-negative-in-file", DHEAD + "  bootstrap_reps: -5\n", study="dropout_prevention",
         expect=("case.yaml", "'bootstrap_reps'", "from 99")),
    # ---- --set
    Case("set-min-cell-1", sets=("min_cell=1",), expect=("--set", "min_cell", "floor 5", "disclosure.yaml")),
    Case("set-min-cell-0", sets=("min_cell=0",), expect=("--set", "min_cell", "floor 5")),
    Case("set-min-cell-negative", sets=("min_cell=-3",), expect=("min_cell", "floor 5")),
    Case("set-min-cell-fraction", sets=("min_cell=4.9",), expect=("min_cell", "at least 5")),
    Case("set-min-cell-true", sets=("min_cell=true",), expect=("min_cell", "not a number")),
    Case("set-min-cell-huge-int", sets=(f"min_cell={DIGITS}",), expect=("min_cell",), payload=DIGITS),
    Case("set-bootstrap-reps-negative", sets=("bootstrap_reps=-5",), study="dropout_prevention",
         expect=("--set", "'bootstrap_reps'", "from 99 to 100000", "-5")),
    Case("set-bootstrap-reps-zero", sets=("bootstrap_reps=0",), study="dropout_prevention",
         expect=("'bootstrap_reps'", "from 99")),
    Case("set-wild-reps-too-many", sets=("wild_reps=10000000",), study="dropout_prevention",
         expect=("'wild_reps'", "to 100000")),
    Case("set-pass-mark-minus-inf", sets=("pass_mark=-.inf",), study="dropout_prevention",
         expect=("'pass_mark'", "-infinity")),
    Case("set-pass-mark-nan", sets=("pass_mark=nan",), study="dropout_prevention", expect=("'pass_mark'", "NaN")),
    Case("set-pass-mark-above-100", sets=("pass_mark=101",), study="dropout_prevention",
         expect=("'pass_mark'", "from 0 to 100", "101")),
    Case("set-threshold-overflow", sets=("threshold=1e400",), study="dropout_prevention",
         expect=("'threshold'", "infinity")),
    Case("set-seed-negative", sets=("seed=-1",), study="dropout_prevention", expect=("'seed'", "from 0")),
    Case("set-anticipation-too-large", sets=("anticipation=99",), study="dropout_prevention",
         expect=("'anticipation'", "from 0 to 5")),
    Case("set-first-year-out-of-range", sets=("first_year=1999",), expect=("'first_year'", "from 2000 to 2040")),
    Case("set-float-for-int", sets=("first_year=2020.5",), expect=("'first_year'", "2020.5")),
    Case("set-non-utf8-value", sets=("municipality=R\udce9zekne",), expect=("'municipality'", "not UTF-8", "U+DCE9")),
    Case("set-non-utf8-key", sets=("\udcff=1",), expect=("--set", "\\udcff")),
    Case("set-escape-sequence", sets=("municipality=\x1b[31mred",), expect=("'municipality'", "U+001B")),
    Case("set-bidi-override", sets=("municipality=abc\u202edef",), expect=("'municipality'", "U+202E")),
    Case("set-nul", sets=("municipality=a\x00b",), expect=("'municipality'", "U+0000")),
    Case("set-huge-value", sets=(f"municipality={LONG}",), expect=("'municipality'", "100,000 characters"), payload=LONG),
    Case("set-huge-path", sets=("data_dir=" + "a/" * 5000,), expect=("'data_dir'", "at most 4096"), payload="a/" * 5000),
    Case("set-unknown-key-suggestion", sets=("min_cel=12",), expect=("--set", "'min_cel'", "Did you mean 'min_cell'")),
    Case("set-without-equals", sets=("min_cell",), expect=("--set", "key=value")),
    Case("set-markup-for-choice", sets=("language=<svg onload=alert(1)>",), expect=("'language'", "'lv', 'en'")),
    # ---- the project's disclosure.yaml (data controller)
    Case("policy-floor-raised-refuses-12", sets=("min_cell=12",), policy="min_cell_floor: 20\n",
         expect=("min_cell", "floor 20", "disclosure.yaml")),
    Case("policy-floor-raised-refuses-default", policy="min_cell_floor: 20\n",
         expect=("notebook default", "min_cell", "floor 20")),
    Case("policy-floor-below-5", policy="min_cell_floor: 3\n", expect=("disclosure.yaml", "line 1", ">= 5")),
    Case("policy-broken-yaml", policy="min_cell_floor: [1\n", expect=("disclosure.yaml", "not valid YAML")),
    Case("policy-alias", policy="min_cell_floor: &f 10\n", expect=("disclosure.yaml", "anchor")),
    Case("policy-unknown-key", policy="floor: 7\n", expect=("disclosure.yaml", "'floor'", "min_cell_floor")),
    Case("policy-floor-text", policy="min_cell_floor: \"10\"\n", expect=("disclosure.yaml", "'10'")),
    Case("policy-duplicate", policy="min_cell_floor: 8\nmin_cell_floor: 9\n",
         expect=("disclosure.yaml", "lines 1 and 2")),
    Case("policy-non-utf8", policy=b"min_cell_floor: 10 # \xff\n", expect=("disclosure.yaml", "not UTF-8")),
    # ---- accepted on purpose
    Case("accepted-utf8-bom", b"\xef\xbb\xbf" + (HEAD + "  language: en\n").encode(), code=0,
         expect=("language = 'en'",)),
    Case("accepted-int-for-float", DHEAD + "  threshold: 60\n", study="dropout_prevention", code=0,
         expect=("threshold = 60.0",)),
    Case("accepted-floor-raised", sets=("min_cell=25",), policy="min_cell_floor: 20\n", code=0,
         expect=("min_cell = 25",)),
    Case("accepted-min-cell-at-floor", sets=("min_cell=5",), code=0, expect=("min_cell = 5",)),
]


def _project(root: Path, policy: str | bytes | None = None) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "params").mkdir()
    for study in STUDIES:
        shutil.copy(SOURCE / "notebooks" / f"{study}.ipynb", root / "notebooks")
    (root / "data").symlink_to(SOURCE / "data")
    if policy is not None:
        path = root / "disclosure.yaml"
        path.write_bytes(policy if isinstance(policy, bytes) else policy.encode())
    return root


def _check_message(text: str, case: Case) -> None:
    assert "Traceback" not in text
    assert not re.search(r"\b\w+(Error|Exception)\(", text), "a bare exception repr reached the user"
    assert len(text) <= MAX_MESSAGE, f"message of {len(text)} characters"
    for line in text.splitlines():
        assert len(line) <= MAX_LINE, f"line of {len(line)} characters: {line[:80]}…"
    if case.payload:
        assert case.payload[:50] not in text, "more than a few dozen characters of the value were echoed"
    for want in case.expect:
        assert want in text, f"{want!r} not in message:\n{text}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_params_are_refused_cleanly(case: Case, tmp_path, capsys, monkeypatch):
    root = _project(tmp_path / "project", case.policy)
    monkeypatch.chdir(root)
    args = ["--root", str(root), "run", case.study, "--check"]
    if case.file is not None:
        path = root / "params" / "case.yaml"
        path.write_bytes(case.file if isinstance(case.file, bytes) else case.file.encode())
        args += ["-p", str(path)]
    for item in case.sets:
        args += ["--set", item]
    started = time.perf_counter()
    code = main(args)
    seconds = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == case.code, f"exit {code}:\n{out}{err}"
    _check_message(err if case.code else out, case)
    if case.code:
        assert "Nothing was run." in err and not out
    assert seconds < case.seconds, f"took {seconds:.2f} s"
    assert not (root / "reports").exists() and not (root / "private").exists()


def test_enough_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


# ------------------------------------------------------------ through the real CLI


def _cli(root: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SOURCE / "src")}
    return subprocess.run([sys.executable, "-m", "evaltools.cli", "--root", str(root), *args],
                          capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize(
    "args, expect",
    [
        (["run", "municipal_quality", "--check", "--set", "min_cell=1"], [b"min_cell", b"floor 5"]),
        (["run", "municipal_quality", "--check", "--set", b"municipality=R\xe9zekne"], [b"U+DCE9", b"municipality"]),
        (["run", "municipal_quality", "--check", "-p", "params/bomb.yaml"], [b"bomb.yaml", b"anchor"]),
        (["run", "municipal_quality", "--set", "min_cell=0"], [b"min_cell", b"floor 5"]),  # a real run refuses too
    ],
    ids=["cli-min-cell-1", "cli-non-utf8-argv", "cli-alias-bomb", "cli-run-min-cell-0"],
)
def test_cli_exit_code_2_and_a_clean_message(args, expect, tmp_path):
    root = _project(tmp_path / "project")
    (root / "params" / "bomb.yaml").write_text(_bomb())
    started = time.perf_counter()
    result = _cli(root, *args)
    assert result.returncode == 2, result.stderr.decode(errors="replace")
    assert time.perf_counter() - started < 30
    err = result.stderr.decode("utf-8")  # printable: never a lone surrogate or raw control character
    assert "Traceback" not in err and "Nothing was run." in err
    for want in expect:
        assert want.decode() in err
    assert not (root / "reports").exists()
