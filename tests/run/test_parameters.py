"""Reading a notebook's parameter declarations and validating values against them."""

import pytest

from evaltools.run.parameters import ParameterError, parse_parameters, validate
from tests import ROOT

CELL = '''
from evaltools.params import InputDir, InputFile, Literal
n: int = 3                              # how many rows
scale: float = 1.5                      # multiplier
language: Literal["lv", "en"] = "lv"    # report language
flag: bool = False                      # a switch
years: list[int] = [2019, 2020]         # school years
region: str | None = None               # one planning region, or all
data: InputDir = "data"                 # folder with the data
untyped = "x"
'''


@pytest.fixture
def specs():
    return {s.name: s for s in parse_parameters(CELL)}


def test_declarations_are_read_with_types_defaults_and_help(specs):
    assert list(specs) == ["n", "scale", "language", "flag", "years", "region", "data", "untyped"]
    assert specs["n"].kind == "int" and specs["n"].default == 3 and specs["n"].help == "how many rows"
    assert specs["language"].kind == "choice" and specs["language"].choices == ("lv", "en")
    assert specs["years"].kind == "list" and specs["years"].item.kind == "int"
    assert specs["region"].optional and specs["region"].kind == "str"
    assert specs["data"].kind == "InputDir"
    assert specs["untyped"].kind == "str"  # inferred from the default


def _validate(specs, given, tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    return validate(list(specs.values()), given, root=tmp_path, notebook_dir=tmp_path)


def test_defaults_fill_in_and_paths_become_absolute(specs, tmp_path):
    out = _validate(specs, {}, tmp_path)
    assert out.values["n"] == 3
    assert out.values["data"] == str((tmp_path / "data").resolve())
    assert out.inputs["data"] == (tmp_path / "data").resolve()
    assert out.origins["n"] == "notebook default"


def test_set_values_are_converted_to_the_declared_type(specs, tmp_path):
    given = {"n": ("5", "--set"), "scale": ("2", "--set"), "flag": ("true", "--set"),
             "years": ("[2021, 2022]", "--set"), "region": ("null", "--set")}
    out = _validate(specs, given, tmp_path)
    assert out.values["n"] == 5 and out.values["scale"] == 2.0 and out.values["flag"] is True
    assert out.values["years"] == [2021, 2022] and out.values["region"] is None


def test_every_problem_is_reported_at_once_naming_key_origin_and_expectation(specs, tmp_path):
    given = {
        "languge": ("en", "params/x.yaml"),
        "n": ("abc", "--set"),
        "scale": ("fast", "params/x.yaml"),
        "language": ("de", "params/x.yaml"),
        "years": ([2020, "next"], "params/x.yaml"),
        "data": ("no/such/folder", "params/x.yaml"),
    }
    with pytest.raises(ParameterError) as info:
        _validate(specs, given, tmp_path)
    msg = str(info.value)
    assert len(info.value.problems) == 6
    assert "unknown parameter 'languge'" in msg and "Did you mean 'language'?" in msg
    assert "--set: parameter 'n': expected an integer, got 'abc'" in msg
    assert "parameter 'scale': expected a number, got 'fast'" in msg
    assert "parameter 'language': expected one of 'lv', 'en', got 'de'" in msg
    assert "parameter 'years': expected an integer, got 'next'" in msg
    assert "parameter 'data': expected an existing input folder" in msg and "does not exist" in msg


def test_yaml_numbers_are_not_silently_taken_as_text(tmp_path):
    specs = {s.name: s for s in parse_parameters('label: str = "a"  # a label')}
    with pytest.raises(ParameterError, match="quote it in YAML"):
        _validate(specs, {"label": (2020, "params/x.yaml")}, tmp_path)


def test_bool_is_not_an_integer(tmp_path):
    specs = {s.name: s for s in parse_parameters("n: int = 1")}
    with pytest.raises(ParameterError, match="expected an integer, got True"):
        _validate(specs, {"n": (True, "params/x.yaml")}, tmp_path)


def test_a_file_where_a_folder_is_expected_is_refused(specs, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ParameterError, match="it is a file"):
        _validate(specs, {"data": ("afile", "params/x.yaml")}, tmp_path)


@pytest.mark.parametrize(
    "cell, message",
    [
        ("x: int", "needs a default value"),
        ("x: int = len('ab')", "must be a literal"),
        ("x: dict = {}", "unsupported annotation"),
        ("x, y = 1, 2", "only `name: type = value` declarations"),
        ("x: int = (", "not valid Python"),
    ],
)
def test_bad_declarations_are_explained(cell, message):
    with pytest.raises(ParameterError, match=message):
        parse_parameters(cell)


def test_shipped_notebooks_declare_typed_parameters_with_help():
    from evaltools.run.parameters import read_parameters

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no study notebooks found"
    for nb in notebooks:
        for spec in read_parameters(nb):
            assert spec.annotation and spec.help, f"{nb.name}: parameter {spec.name} needs a type and a help comment"


# ------------------------------------------------------------------ ranges and the floor

import json  # noqa: E402
import math  # noqa: E402

from evaltools.run.parameters import Origin, parse_overrides  # noqa: E402

RANGED = '''
from evaltools.params import Float, Int, MinCell, inf, nan
reps: Int[99, None] = 999            # draws (at least 99)
year: Int[2000, 2040] = 2020         # a school year
share: Float[0, 1] = 0.5             # a share
cap: Float[0, inf] = 10.0            # a cap, infinity for none
weight: Float[0, 1, nan] = 0.5       # a weight, NaN when unknown
offset: Float[-1.5, 2.5] = 0.0       # fractional and negative bounds work too
scale: float = 1.0                   # any finite number
min_cell: MinCell = 10               # disclosure threshold
'''


@pytest.fixture
def ranged():
    return {s.name: s for s in parse_parameters(RANGED)}


def test_ranges_are_read_from_the_annotation(ranged):
    assert (ranged["reps"].kind, ranged["reps"].low, ranged["reps"].high) == ("int", 99, None)
    assert (ranged["share"].kind, ranged["share"].low, ranged["share"].high) == ("float", 0, 1)
    assert ranged["cap"].high == math.inf and not ranged["cap"].allow_nan
    assert ranged["weight"].allow_nan
    assert (ranged["offset"].low, ranged["offset"].high) == (-1.5, 2.5)
    assert ranged["min_cell"].kind == "MinCell"
    assert ranged["year"].describe() == "an integer from 2000 to 2040"
    assert ranged["reps"].describe() == "an integer of at least 99"


@pytest.mark.parametrize(
    "name, value, ok",
    [
        ("reps", 99, True), ("reps", 98, False), ("reps", 10**9, True),
        ("year", 2000, True), ("year", 2040, True), ("year", 2041, False), ("year", 1999, False),
        ("share", 0, True), ("share", 1.0, True), ("share", 1.0001, False), ("share", -0.0001, False),
        ("share", float("nan"), False), ("share", float("inf"), False),
        ("cap", float("inf"), True), ("cap", float("-inf"), False),
        ("weight", float("nan"), True), ("weight", float("inf"), False),
        ("scale", float("nan"), False), ("scale", float("-inf"), False), ("scale", -1e300, True),
        ("scale", 10**400, False), ("offset", -1.5, True), ("offset", -1.6, False),
    ],
)
def test_values_are_checked_against_the_declared_range(ranged, tmp_path, name, value, ok):
    given = {name: (value, "params/x.yaml")}
    if ok:
        out = validate(list(ranged.values()), given, root=tmp_path, notebook_dir=tmp_path)
        assert out.values[name] == value or (math.isnan(value) and math.isnan(out.values[name]))
    else:
        with pytest.raises(ParameterError, match=f"parameter '{name}'") as info:
            validate(list(ranged.values()), given, root=tmp_path, notebook_dir=tmp_path)
        assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    "text, expected",
    [("1e3", 1000.0), ("-.inf", None), ("inf", 1e999), (".5", 0.5), ("nan", None)],
)
def test_set_text_is_read_as_a_number_and_still_range_checked(ranged, tmp_path, text, expected):
    given = {"cap": (text, "--set")}
    if expected is None:
        with pytest.raises(ParameterError, match="parameter 'cap'"):
            validate(list(ranged.values()), given, root=tmp_path, notebook_dir=tmp_path)
    else:
        assert validate(list(ranged.values()), given, root=tmp_path, notebook_dir=tmp_path).values["cap"] == expected


@pytest.mark.parametrize(
    "cell, message",
    [
        ("x: Int[1.5, 2] = 2", "whole numbers for Int"),
        ("x: Int[5, 1] = 2", "lower bound above its upper bound"),
        ("x: Int[1] = 2", "Int\\[low, high\\]"),
        ("x: Float[0, 1, 2] = 0.5", "Float\\[low, high, nan\\]"),
        ("x: Int[y, 1] = 0", "numbers or None"),
        ("x: Int[0, inf] = 0", "numbers or None"),
        ("x: Float[nan, 1] = 0.5", "numbers or None"),
    ],
)
def test_bad_range_declarations_are_explained(cell, message):
    with pytest.raises(ParameterError, match=message):
        parse_parameters(cell)


def test_min_cell_never_below_the_floor_of_the_project(ranged, tmp_path):
    specs = list(ranged.values())
    assert validate(specs, {"min_cell": ("5", "--set")}, root=tmp_path, notebook_dir=tmp_path).values["min_cell"] == 5
    with pytest.raises(ParameterError) as info:
        validate(specs, {"min_cell": ("4", "--set")}, root=tmp_path, notebook_dir=tmp_path)
    assert "--set: parameter 'min_cell': min_cell = 4 is below the disclosure floor 5" in str(info.value)
    (tmp_path / "disclosure.yaml").write_text("min_cell_floor: 12\n")
    with pytest.raises(ParameterError) as info:  # the notebook default (10) is now too low
        validate(specs, {}, root=tmp_path, notebook_dir=tmp_path)
    assert "notebook default: parameter 'min_cell'" in str(info.value) and "floor 12" in str(info.value)
    assert str(tmp_path / "disclosure.yaml") in str(info.value)
    assert validate(specs, {"min_cell": (12, "p.yaml")}, root=tmp_path, notebook_dir=tmp_path).values["min_cell"] == 12


def test_min_cell_is_found_by_its_type_not_its_name(tmp_path):
    specs = parse_parameters("from evaltools.params import MinCell\nsmallest: MinCell = 10  # threshold")
    with pytest.raises(ParameterError, match="parameter 'smallest': smallest = 3 is below the disclosure floor 5"):
        validate(specs, {"smallest": (3, "p.yaml")}, root=tmp_path, notebook_dir=tmp_path)


def test_a_params_file_value_error_names_the_line(tmp_path):
    from evaltools.run.project import read_params_file

    path = tmp_path / "x.yaml"
    path.write_text("study: s\ndescription: d\nparameters:\n  share: 2\n  year: 2020\n")
    pf = read_params_file(path, "params/x.yaml")
    specs = parse_parameters(RANGED)
    with pytest.raises(ParameterError, match=r"params/x.yaml, line 4: parameter 'share': expected a number from 0 to 1"):
        validate(specs, pf.given("params/x.yaml"), root=tmp_path, notebook_dir=tmp_path)
    out = validate(specs, {"year": pf.given("params/x.yaml")["year"]}, root=tmp_path, notebook_dir=tmp_path)
    assert json.dumps(out.origins["year"]) == '"params/x.yaml"'  # the manifest records the plain file


def test_overrides_are_parsed_once_each():
    assert parse_overrides(["n=5", "label=a=b"]) == {"n": ("5", "--set"), "label": ("a=b", "--set")}
    assert isinstance(parse_overrides(["n=5"])["n"][1], Origin)
    with pytest.raises(ParameterError, match="--set n: given twice"):
        parse_overrides(["n=5", "n=6"])
    with pytest.raises(ParameterError, match="expected key=value"):
        parse_overrides(["n"])
    with pytest.raises(ParameterError, match="is not a parameter name"):
        parse_overrides(["a b=1"])


def test_problems_are_capped_and_values_cut_short(tmp_path):
    specs = parse_parameters("n: int = 1  # a number")
    given = {f"unknown_{i}": ("x" * 10_000, "p.yaml") for i in range(100)}
    with pytest.raises(ParameterError) as info:
        validate(specs, given, root=tmp_path, notebook_dir=tmp_path)
    assert len(info.value.problems) == 100 and "… and 80 more problems" in str(info.value)
    assert "x" * 50 not in str(info.value) and len(str(info.value)) < 5000


STUDIES = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", STUDIES, ids=[p.stem for p in STUDIES])
def test_study_parameters_declare_a_threshold_and_numeric_ranges(notebook):
    from evaltools.run.parameters import read_parameters

    specs = read_parameters(notebook)
    assert [s.name for s in specs if s.kind == "MinCell"] == ["min_cell"]
    for spec in specs:
        if spec.kind in {"int", "float"}:
            assert spec.low is not None, f"{notebook.name}: {spec.name} declares no range"
    root = notebook.parents[1]
    validate(specs, {}, root=root, notebook_dir=notebook.parent)  # every default is within its range


@pytest.mark.parametrize("notebook", STUDIES, ids=[p.stem for p in STUDIES])
def test_papermill_still_reads_every_numeric_parameter(notebook):
    import nbformat
    from papermill.translators import PythonTranslator

    from evaltools.run.parameters import parameters_cell, read_parameters

    nb = nbformat.read(notebook, as_version=4)
    seen = {p.name: p for p in PythonTranslator.inspect({"source": parameters_cell(nb, notebook)})}
    for spec in read_parameters(notebook):
        if spec.kind in {"int", "float", "MinCell"}:
            # papermill reads "Float[0.01, 2]" only through an alias (EffectSize = Float[0.01, 2])
            assert spec.name in seen and seen[spec.name].inferred_type_name == (spec.alias or spec.annotation)


def test_set_yaml_for_a_list_refuses_aliases_quickly(tmp_path):
    import time

    specs = parse_parameters("years: list[int] = [2020]  # school years")
    bomb = "&a [1, 2, 3]"  # any anchor or alias is refused before it can expand
    started = time.perf_counter()
    with pytest.raises(ParameterError, match="parameter 'years': an anchor"):
        _validate({s.name: s for s in specs}, {"years": (bomb, "--set")}, tmp_path)
    assert time.perf_counter() - started < 1
    out = _validate({s.name: s for s in specs}, {"years": ("[2021, 2022]", "--set")}, tmp_path)
    assert out.values["years"] == [2021, 2022]
