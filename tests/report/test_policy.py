"""The project's disclosure policy: the floor under every study's min_cell (evaltools.report.policy)."""

import pytest

from evaltools.report.policy import DEFAULT_FLOOR, DisclosurePolicy, PolicyError, load_policy
from tests import ROOT


def test_without_a_file_the_floor_is_five(tmp_path):
    policy = load_policy(tmp_path)
    assert policy.min_cell_floor == DEFAULT_FLOOR == 5 and "default" in policy.source


def test_the_shipped_project_uses_the_default_floor():
    # decision: no disclosure.yaml is shipped; the data controller adds one to raise the floor
    root = ROOT
    assert not (root / "disclosure.yaml").exists()
    assert load_policy(root).min_cell_floor == 5


def test_a_data_controller_raises_the_floor(tmp_path):
    (tmp_path / "disclosure.yaml").write_text("# set by the data controller\nmin_cell_floor: 11\n")
    policy = load_policy(tmp_path)
    assert policy.min_cell_floor == 11 and policy.source == str(tmp_path / "disclosure.yaml")
    policy.check_threshold(11)
    with pytest.raises(PolicyError, match="min_cell = 10 is below the disclosure floor 11"):
        policy.check_threshold(10)


def test_an_empty_file_keeps_the_default_floor(tmp_path):
    (tmp_path / "disclosure.yaml").write_text("# nothing yet\n")
    assert load_policy(tmp_path).min_cell_floor == 5


def test_the_floor_is_found_from_the_environment_or_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "disclosure.yaml").write_text("min_cell_floor: 7\n")
    monkeypatch.delenv("EVALTOOLS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")  # where the kernel runs
    assert load_policy().min_cell_floor == 7
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("EVALTOOLS_ROOT", str(other))
    assert load_policy().min_cell_floor == 5


@pytest.mark.parametrize(
    "content, message",
    [
        (b"min_cell_floor: 4\n", "line 1: min_cell_floor must be a whole number >= 5"),
        (b"min_cell_floor: 0\n", "got 0"),
        (b"min_cell_floor: 7.5\n", "got 7.5"),
        (b"min_cell_floor: true\n", "got True"),
        (b"min_cell_floor: '10'\n", "got '10'"),
        (b"min_cell_floor: 8\nmin_cell_floor: 9\n", "appears twice, on lines 1 and 2"),
        (b"floor: 8\n", "unknown key 'floor'"),
        (b"- 8\n", "expected a mapping"),
        (b"min_cell_floor: &a 8\n", "anchor"),
        (b"min_cell_floor: [8\n", "not valid YAML"),
        (b"min_cell_floor: 8 # \xe9\n", "not UTF-8"),
        (b"\x00\x01", "binary"),
        (b"min_cell_floor: " + b"9" * 200 + b"\n", "too long"),
    ],
)
def test_a_broken_file_is_refused_naming_it(tmp_path, content, message):
    (tmp_path / "disclosure.yaml").write_bytes(content)
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    text = str(info.value)
    assert message in text and str(tmp_path / "disclosure.yaml") in text
    assert len(text) < 400 and "9" * 50 not in text


def test_a_folder_or_dangling_link_is_refused(tmp_path):
    (tmp_path / "disclosure.yaml").mkdir()
    with pytest.raises(PolicyError, match="is a folder"):
        load_policy(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "disclosure.yaml").symlink_to(other / "missing.yaml")
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(other)


@pytest.mark.parametrize("value", [4, 0, -1, True, 5.0, "5", None, -(10**500)],
                         ids=["4", "0", "-1", "True", "5.0", "text", "None", "huge-negative"])
def test_check_threshold_refuses_anything_but_a_whole_number_at_the_floor(value):
    with pytest.raises(PolicyError) as info:
        DisclosurePolicy().check_threshold(value, "min_cell")
    assert "min_cell" in str(info.value) and "floor 5" in str(info.value) and len(str(info.value)) < 400
