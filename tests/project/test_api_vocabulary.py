"""The API vocabulary of docs/api.md holds for every public estimator and result.

- signatures (``inspect``): role columns first in the documented order, every option
  keyword-only, every parameter name in the glossary of docs/api.md, no retired name;
- ``Literal`` options in any case give the same numbers;
- every result class has ``to_frame``, ``to_dict``, ``summary``, a text repr and
  ``_repr_html_`` (checked on real fits), and ``.estimate`` is the headline Estimate;
- old names still work for one release, with a DeprecationWarning that names the new one.

Functions and classes in files another engineer is still changing are listed in
``PENDING`` and marked ``xfail(strict=True)``: the day they follow the vocabulary the
test fails until they are taken off the list.
"""
from __future__ import annotations

import inspect
import json
import re
import typing
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evaltools.estimate as E
from evaltools.core.result import Estimate, ResultMixin
from evaltools.core.vocabulary import choice, renamed
from tests import ROOT

DOC = ROOT / "docs" / "api.md"
RETIRED = {"treated", "controls", "regressors", "param", "clusters", "alpha", "bootstrap", "reps", "n_sims",
           "estimator", "ref"}
# not yet following the vocabulary: files another engineer is still changing (issue 13)
PENDING: dict[str, str] = {}


def _section(tag: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split(f"<!-- {tag}", 1)[1].split(f"<!-- /{tag} -->", 1)[0]


ROLE_ORDER = re.findall(r"`(\w+)`", _section("role-order").split("-->", 1)[1])
GLOSSARY = {name for line in _section("glossary").splitlines() if line.startswith("| `")
            for name in re.findall(r"`(\w+)`", line.split("|")[1])}
FUNCTIONS = sorted(n for n in E.__all__ if inspect.isfunction(getattr(E, n)))
CLASSES = sorted(n for n in E.__all__ if inspect.isclass(getattr(E, n)))


def _maybe_pending(names: list[str]) -> list:
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=PENDING[n])) if n in PENDING else n
            for n in names]


def test_the_doc_defines_the_vocabulary() -> None:
    assert ROLE_ORDER[:6] == ["data", "values", "formula", "outcome", "treatment", "running"]
    assert {"treatment", "covariates", "cluster", "level", "base_period", "n_boot", "method", "seed"} <= GLOSSARY
    assert not RETIRED & GLOSSARY
    assert len(FUNCTIONS) >= 18 and len(CLASSES) >= 18


@pytest.mark.parametrize("name", _maybe_pending(FUNCTIONS))
def test_signature_follows_the_vocabulary(name: str) -> None:
    params = inspect.signature(getattr(E, name)).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert not [p for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)], name
    unknown = [n for n in positional if n not in ROLE_ORDER]
    assert not unknown, f"{name}: {unknown} are positional but not role columns: make them keyword-only"
    ranks = [ROLE_ORDER.index(n) for n in positional]
    assert ranks == sorted(ranks), f"{name}: roles {positional} are not in the order of docs/api.md"
    assert all(p.default is inspect.Parameter.empty for p in params if p.name in positional), (
        f"{name}: a positional role with a default is an option: make it keyword-only")
    names = {p.name for p in params}
    assert not names & RETIRED, f"{name}: retired names {names & RETIRED}"
    assert names <= GLOSSARY, f"{name}: {sorted(names - GLOSSARY)} are not in the glossary of docs/api.md"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_literal_options_are_normalised(name: str) -> None:
    """Each ``Literal`` option goes through ``choice`` (or ``check_vcov``, which upper-cases, or
    an alias table looked up lower-cased)."""
    func = inspect.unwrap(getattr(E, name))
    hints = typing.get_type_hints(func)
    literal = [p for p, h in hints.items() if typing.get_origin(h) is typing.Literal]
    source = inspect.getsource(func)
    for p in literal:
        # choice(), check_vcov() (upper-cases) or an alias table looked up lower-cased (control_group)
        assert re.search(rf"(choice|check_vcov)\(\s*{p}\b|str\({p}\)\.lower\(\)", source), (
            f"{name}({p}=...) is not case-insensitive")


def test_choice_accepts_any_case_and_names_the_choices() -> None:
    assert choice("att", ("ATT", "ATE"), "estimand") == "ATT"
    assert choice(" SunAb ", ("twfe", "sunab"), "method") == "sunab"
    with pytest.raises(ValueError, match=r"ipw: estimand must be one of 'ATT', 'ATE' \(any case\); got 'ATC'"):
        choice("ATC", ("ATT", "ATE"), "estimand", where="ipw")
    with pytest.raises(ValueError, match="got 3"):
        choice(3, ("a",), "x")


# ------------------------------------------------------------------ small fits of every design
def _cross_section(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * x1 - 0.3 * x2)))).astype(int)
    school = rng.integers(0, 40, n)
    y = 1 + 0.5 * d + x1 + 0.5 * x2 + rng.normal(size=n) + 0.3 * (school % 5)
    return pd.DataFrame({"y": y, "d": d, "x1": x1, "x2": x2, "school": school,
                         "post": rng.integers(0, 2, n)})


def _panel(units: int = 120, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 2016, 2018], size=units)
    rows = []
    for i in range(units):
        a = rng.normal()
        for t in range(2014, 2021):
            treated = cohort[i] > 0 and t >= cohort[i]
            rows.append({"i": i, "t": t, "g": cohort[i], "muni": i % 24, "x": rng.normal(),
                         "d": float(treated), "y": a + 0.1 * (t - 2014) + 1.0 * treated + rng.normal()})
    return pd.DataFrame(rows)


def _rd(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    return pd.DataFrame({"y": 0.5 * x + 0.4 * (x >= 0) + rng.normal(0, 0.3, n), "x": x,
                         "school": rng.integers(0, 50, n)})


def _survival(n: int = 300, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    t = rng.exponential(5 / (1 + 0.5 * arm))
    c = rng.uniform(0, 8, n)
    return pd.DataFrame({"duration": np.ceil(np.minimum(t, c)), "event": (t <= c).astype(int), "arm": arm})


def _pupil_years(pupils: int = 400, seed: int = 5) -> pd.DataFrame:
    """Person-period rows: grades 1..5 at risk, a logit hazard lowered by d, 20 schools."""
    rng = np.random.default_rng(seed)
    d, x = rng.integers(0, 2, pupils), rng.normal(size=pupils)
    rows = []
    for i in range(pupils):
        for grade in range(1, 6):
            left = rng.random() < 1 / (1 + np.exp(-(-2.0 + 0.3 * x[i] - 0.5 * d[i])))
            rows.append({"pupil": i, "grade": grade, "left": int(left), "d": d[i], "x": x[i], "school": i % 20})
            if left:
                break
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    cs, panel, rdd, surv = _cross_section(), _panel(), _rd(), _survival()
    ps = E.propensity_score(cs, "d", ["x1", "x2"])
    tw = E.twfe(panel, "y", "d", "i", "t", cluster="muni")
    att = E.att_gt(panel, "y", "i", "t", "g")
    r = E.rd(rdd, "y", "x", cluster="school")
    km = E.kaplan_meier(surv, "duration", "event", group="arm")
    hazard = E.discrete_time_hazard(_pupil_years(), "pupil", "grade", "left", treatment="d", covariates=["x"],
                                    cluster="school")
    return {
        "HazardResult": hazard,
        "CumulativeIncidence": hazard.cumulative_incidence(),
        "BalanceTable": E.balance_table(cs, "d", ["x1", "x2"], cluster="school",
                                        weights=E.match(cs, "y", "d", ["x1", "x2"], pscore=ps).weights),
        "DiD2x2Result": E.did_2x2(cs, "y", "d", "post", cluster="school"),
        "TWFEResult": tw,
        "EventStudyResult": E.event_study(panel, "y", "i", "t", "g"),
        "ATTgtResult": att,
        "AggregatedATT": att.aggregate("dynamic"),
        "WildBootstrapResult": tw.wild_bootstrap(n_boot=99, seed=1),
        "PropensityScore": ps,
        "MatchResult": E.match(cs, "y", "d", ["x1", "x2"], pscore=ps),
        "MatchDiDResult": E.match_did(panel.assign(g=panel["g"]), "y", "i", "t", "g", ["x"]),
        "OsterResult": E.oster_delta(cs, "y", "d", ["x1"]),
        "MultilevelResult": E.multilevel(cs, "y ~ d + x1", "school"),
        "RDResult": r,
        "DensityTest": r.density_test(),
        "KaplanMeierResult": km,
        "LogRankTest": km.logrank,
        "Estimate": E.ipw(cs, "y", "d", ["x1", "x2"]),
    }


@pytest.mark.parametrize("name", _maybe_pending(CLASSES))
def test_every_result_class_has_the_five_methods(name: str) -> None:
    cls = getattr(E, name)
    assert issubclass(cls, ResultMixin), f"{name} does not use core.result.ResultMixin"
    for method in ("to_frame", "to_dict", "summary", "_repr_html_"):
        assert callable(getattr(cls, method, None)), f"{name}.{method}"
    assert cls.__repr__ is not object.__repr__
    est = inspect.getattr_static(cls, "estimate", None)
    assert not inspect.isfunction(est) or name == "MultilevelResult", f"{name}.estimate is a method"


@pytest.mark.parametrize("name", [n for n in CLASSES if n not in PENDING])
def test_every_result_works_on_a_real_fit(name: str, results: dict[str, object]) -> None:
    from evaltools.report.record import to_jsonable

    res = results[name]
    assert type(res).__name__ == name
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and not frame.empty
    d = res.to_dict()
    assert isinstance(d["type"], str) and d["type"]
    stored = to_jsonable(d, name)
    json.dumps(stored)  # recordable: no data frame of units, no model object
    text = res.summary()
    assert isinstance(text, str) and text.strip()
    assert repr(res) == str(text)
    html = res._repr_html_()
    assert html.startswith("<") and "</" in html
    if name != "Estimate" and hasattr(res, "estimate") and not callable(res.estimate):
        assert isinstance(res.estimate, Estimate), name
        assert stored["estimate"]["estimate"] == res.estimate.estimate, name  # the headline is recorded


def test_estimate_is_the_headline_where_there_is_one(results: dict[str, object]) -> None:
    headline = {"DiD2x2Result", "TWFEResult", "EventStudyResult", "AggregatedATT", "WildBootstrapResult",
                "MatchResult", "MatchDiDResult", "RDResult", "HazardResult", "CumulativeIncidence"}
    for name, res in results.items():
        if name in headline:
            assert isinstance(res.estimate, Estimate), name
        elif name == "Estimate":
            assert isinstance(res.estimate, float)
        else:
            assert not isinstance(getattr(res, "estimate", None), Estimate), name
    assert results["AggregatedATT"].estimate is results["AggregatedATT"].overall
    assert results["EventStudyResult"].estimate is results["EventStudyResult"].att
    assert results["CumulativeIncidence"].estimate is results["CumulativeIncidence"].difference
    assert results["HazardResult"].estimate.estimand == "log odds ratio of the per-period hazard: d"


# ------------------------------------------------------------------ any case, same numbers
def test_options_in_any_case_give_the_same_numbers() -> None:
    cs, panel, rdd, surv = _cross_section(), _panel(), _rd(), _survival()
    same = [
        (E.ipw(cs, "y", "d", ["x1", "x2"], estimand="att"), E.ipw(cs, "y", "d", ["x1", "x2"], estimand="ATT")),
        (E.aipw(cs, "y", "d", ["x1"], estimand="Ate"), E.aipw(cs, "y", "d", ["x1"], estimand="ATE")),
        (E.att_gt(panel, "y", "i", "t", "g", method="IPW", base_period="Universal").aggregate("SIMPLE").overall,
         E.att_gt(panel, "y", "i", "t", "g", method="ipw", base_period="universal").aggregate("simple").overall),
        (E.event_study(panel, "y", "i", "t", "g", method="SunAb").estimate,
         E.event_study(panel, "y", "i", "t", "g", method="sunab").estimate),
        (E.twfe(panel, "y", "d", "i", "t", cluster="muni", vcov="cr2").estimate,
         E.twfe(panel, "y", "d", "i", "t", cluster="muni", vcov="CR2").estimate),
        (E.match(cs, "y", "d", ["x1", "x2"], distance="Mahalanobis", ties="ALL").estimate,
         E.match(cs, "y", "d", ["x1", "x2"], distance="mahalanobis", ties="all").estimate),
        (E.rd(rdd, "y", "x", kernel="Uniform", bandwidth="MSERD").estimate,
         E.rd(rdd, "y", "x", kernel="uniform", bandwidth="mserd").estimate),
        (E.multilevel(cs, "y ~ d", "school", engine="FAST").coefficient("d"),
         E.multilevel(cs, "y ~ d", "school", engine="fast").coefficient("d")),
    ]
    for a, b in same:
        assert (a.estimate, a.se, a.ci_low, a.ci_high) == (b.estimate, b.se, b.ci_low, b.ci_high), a.estimand
    km_a = E.kaplan_meier(surv, "duration", "event", median="MIDPOINT").to_frame()
    km_b = E.kaplan_meier(surv, "duration", "event", median="midpoint").to_frame()
    pd.testing.assert_frame_equal(km_a, km_b)
    with pytest.raises(ValueError, match="estimand must be one of 'ATT', 'ATE'"):
        E.ipw(cs, "y", "d", ["x1"], estimand="ATC")


# ------------------------------------------------------------------ old names, one more release
def _same(a: Estimate, b: Estimate) -> bool:
    return (a.estimate, a.se, a.ci_low, a.ci_high, a.pvalue) == (b.estimate, b.se, b.ci_low, b.ci_high, b.pvalue)


def test_old_keywords_and_positions_still_work_with_a_warning() -> None:
    cs, panel, rdd = _cross_section(), _panel(), _rd()
    with pytest.warns(DeprecationWarning, match=r"did_2x2\(\): treated= is now treatment="):
        old = E.did_2x2(cs, "y", post="post", treated="d", cluster="school")
    assert _same(old.estimate, E.did_2x2(cs, "y", "d", "post", cluster="school").estimate)
    with pytest.warns(DeprecationWarning, match=r"twfe\(\): pass covariates, cluster by keyword"):
        old = E.twfe(panel, "y", "d", "i", "t", None, "muni")
    assert _same(old.estimate, E.twfe(panel, "y", "d", "i", "t", cluster="muni").estimate)
    with pytest.warns(DeprecationWarning, match="estimator= is now method="):
        old = E.event_study(panel, "y", "i", "t", "g", estimator="sunab", base_period=-2)
    with pytest.warns(DeprecationWarning, match="ref= is now base_period="):
        old_ref = E.event_study(panel, "y", "i", "t", "g", method="sunab", ref=-2)
    new = E.event_study(panel, "y", "i", "t", "g", method="sunab", base_period=-2)
    assert old.ref == old_ref.ref == new.ref == -2
    assert _same(old.estimate, new.estimate) and _same(old_ref.estimate, new.estimate)
    with pytest.warns(DeprecationWarning, match="bootstrap= is now n_boot="):
        old = E.att_gt(panel, "y", "i", "t", "g", bootstrap=49, seed=3).aggregate("simple").overall
    assert _same(old, E.att_gt(panel, "y", "i", "t", "g", n_boot=49, seed=3).aggregate("simple").overall)
    with pytest.warns(DeprecationWarning, match=r"rd\(\): pass cutoff by keyword"):
        old = E.rd(rdd, "y", "x", 0.0)
    assert _same(old.estimate, E.rd(rdd, "y", "x", cutoff=0.0).estimate)
    with pytest.warns(DeprecationWarning, match="controls= is now covariates="):
        old = E.oster_delta(cs, "y", "d", controls=["x1"])
    assert old.delta == E.oster_delta(cs, "y", "d", ["x1"]).delta
    with pytest.warns(DeprecationWarning, match="clusters= is now cluster="):
        old = E.cluster_mean(cs["y"], clusters=cs["school"])
    assert _same(old, E.cluster_mean(cs["y"], cs["school"]))
    with pytest.warns(DeprecationWarning, match=r"wild_cluster_bootstrap\(data, outcome, regressors, param"):
        old = E.wild_cluster_bootstrap(cs, "y", ["d", "x1"], "d", "school", reps=99, seed=5)
    new = E.wild_cluster_bootstrap(cs, "y", "d", covariates=["x1"], cluster="school", n_boot=99, seed=5)
    assert _same(old.estimate, new.estimate) and old.n_boot == new.n_boot == 99
    with pytest.warns(DeprecationWarning, match="reps is now .n_boot"):
        assert new.reps == 99
    model = E.multilevel(cs, "y ~ d", "school")
    with pytest.warns(DeprecationWarning, match=r"\.coefficient\(term\)"):
        assert _same(model.estimate("d"), model.coefficient("d"))


def test_renamed_refuses_both_names_and_too_many_positions() -> None:
    @renamed(positional=("b",), old="new")
    def f(a, *, b=1, new=2):
        return a, b, new

    assert inspect.signature(f).parameters.keys() == {"a", "b", "new"}
    with pytest.raises(TypeError, match="got old= .* and new="):
        f(1, old=3, new=4)
    with pytest.raises(TypeError, match="at most 2 positional"):
        f(1, 2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(1, b=5, new=6) == (1, 5, 6)  # the new form warns about nothing
