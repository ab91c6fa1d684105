"""Reading a notebook's parameter declarations and validating values against them."""
from pathlib import Path

import pytest

from evaltools.run.parameters import ParameterError, parse_parameters, validate

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

    notebooks = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
    assert notebooks, "no study notebooks found"
    for nb in notebooks:
        for spec in read_parameters(nb):
            assert spec.annotation and spec.help, f"{nb.name}: parameter {spec.name} needs a type and a help comment"
