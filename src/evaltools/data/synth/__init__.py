"""Seeded synthetic Latvian education data with known true effects.

>>> from evaltools.data.synth import generate
>>> ds = generate("sample", seed=20240901)      # doctest: +SKIP
>>> ds.tables["pupil_years"].head()            # doctest: +SKIP
>>> ds.truth["effects"][0]["true_value"]       # doctest: +SKIP

The same scale, seed and options give identical tables (and, with
:func:`write`, byte-identical Parquet files); :func:`simulate` returns them with
the hidden columns (potential outcomes) the truths are computed from. Scales: ``sample`` (a few
schools in each of the 43 municipalities; shipped in ``data/sample``),
``region`` (every school of one planning region) and ``national`` (about 600
schools, 220,000 pupils a year, and 44 vocational schools whose students are in
``vocational_years``, :mod:`.vocational`). Tables, columns and calibration are
documented in ``docs/codebook.md``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..layout import write_parquet
from .assessments import assign_subject_teachers, simulate_assessments, teacher_effects
from .config import SCALES, YEARS, SynthConfig, TrueParameters, config_for
from .community import community_and_wellbeing, preschool_table
from .programmes import plan_risk_types, pumpurs_tables, soma_table, teacher_practices, teacher_wellbeing
from .pupils import expected_pupils, simulate_pupils
from .schools import national_frame, pumpurs_frame, pumpurs_out_counties, select_schools
from .teacher_support import methodologist_rollout, school_start_years, simulate_teacher_support
from .teachers import simulate_teachers
from .tps_truth import teacher_support_effects
from .truth import build_truth, effects_frame
from .voc_truth import vocational_effect
from .vocational import simulate_vocational, vocational_rng

__all__ = ["SCALES", "YEARS", "SynthConfig", "SynthData", "TrueParameters", "generate", "simulate", "write",
           "TABLE_ORDER", "effects_frame"]

TABLE_ORDER = (
    "municipalities", "schools", "pupils", "pupil_years", "assessments", "teachers",
    "teacher_years", "pumpurs_schools", "risk_scores", "support_plans", "support_measures",
    "community_support", "skolas_soma", "wellbeing_pupils", "wellbeing_teachers", "teacher_practices",
    "preschool_assessments", "plan_risk_types", "methodologist_support", "teacher_development",
    "lesson_observations", "vocational_years",
)

# independent random streams per part, so adding a column to one part
# does not change the draws of another
_STREAMS = {"frame": 1, "pumpurs": 2, "pupils": 3, "teachers": 4, "links": 5,
            "assessments": 6, "programmes": 7, "soma": 8, "wellbeing": 9, "twb": 10, "practices": 11,
            "teacher_effects": 12, "preschool": 13, "risk_types": 14, "tps_rollout": 15, "tps": 16}
# 17: the vocational part (synth/vocational.py), its sub-streams spawned from [seed, 17, part]


@dataclass
class SynthData:
    """Generated tables (public columns only) and the true-effects sidecar."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    config: SynthConfig

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={len(v):,}" for k, v in self.tables.items())
        return f"SynthData(scale={self.config.scale!r}, seed={self.config.seed}; {rows})"


def _rng(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), _STREAMS[part]])


def _public(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if not c.startswith("_")]].reset_index(drop=True)


def generate(scale: str = "sample", seed: int = 20240901, **overrides: Any) -> SynthData:
    """Generate every table of one scale (see module docstring).

    ``overrides`` replace :class:`SynthConfig` fields, e.g. ``alumni_factor=20``
    or ``true=TrueParameters(tau0=-1.0)``.
    """
    data = simulate(scale, seed, **overrides)
    return SynthData(tables={k: _public(v) for k, v in data.tables.items()}, truth=data.truth, config=data.config)


def simulate(scale: str = "sample", seed: int = 20240901, **overrides: Any) -> SynthData:
    """The tables of :func:`generate` with their hidden columns (names starting with ``_``).

    The hidden columns hold the simulation's potential outcomes and indices, from which the
    truths are computed; tests use them to recompute a truth. Never write or publish them.
    """
    cfg = config_for(scale, seed, **overrides)
    mun, frame = national_frame(_rng(cfg.seed, "frame"), cfg.national_pupils)
    national_weight = np.array([
        frame.loc[(frame["grade_min"] <= g) & (frame["grade_max"] >= g), "_weight"].sum() if g else 1.0
        for g in range(13)])
    schools = select_schools(frame, mun, cfg)
    pumpurs = pumpurs_frame(_rng(cfg.seed, "pumpurs"), schools)
    sim = simulate_pupils(_rng(cfg.seed, "pupils"), schools, pumpurs, national_weight, cfg)
    py = sim.pupil_years
    rollout = methodologist_rollout(_rng(cfg.seed, "tps_rollout"), mun)
    tsim = simulate_teachers(_rng(cfg.seed, "teachers"), schools, expected_pupils(schools, national_weight, cfg), cfg,
                             school_start_years(schools, rollout))
    # adds the hidden practice gain `_tps_gain` to tsim.teacher_years (read by simulate_assessments)
    tps = simulate_teacher_support(_rng(cfg.seed, "tps"), tsim.teacher_years, tsim.teachers, schools, rollout, cfg)
    links = assign_subject_teachers(_rng(cfg.seed, "links"), py, tsim.teacher_years)
    assessments = simulate_assessments(_rng(cfg.seed, "assessments"), py, sim.theta,
                                       tsim.teacher_years, tsim.teachers, links, cfg,
                                       teacher_effects(_rng(cfg.seed, "teacher_effects"),
                                                       tsim.teachers["teacher_id"].to_numpy()))
    preschool = preschool_table(_rng(cfg.seed, "preschool"), py, schools, sim.theta)
    # changes the absences of counselled pupils and the scores of literacy/subject support in place
    comm = community_and_wellbeing(_rng(cfg.seed, "wellbeing"), py, sim.pupils, schools, assessments,
                                   preschool, cfg)
    ptabs = pumpurs_tables(_rng(cfg.seed, "programmes"), py)
    practices = teacher_practices(_rng(cfg.seed, "practices"), tsim.teacher_years, tsim.teachers,
                                  pd.Series(tsim.culture, index=schools["school_id"].to_numpy()), cfg)
    truth = build_truth(cfg, py, tsim.teacher_years, assessments, ptabs["support_measures"],
                        pumpurs.set_index("school_id")["rollout_year"].dropna(), practices, comm)
    truth["effects"].extend(teacher_support_effects(cfg, tsim.teacher_years, tps, assessments, rollout,
                                                    schools))

    general_plans = ptabs["support_plans"]
    # vocational schools and students: own streams, appended after the general rows (which do not change)
    voc = simulate_vocational(cfg.seed, sim.vocational, mun, cfg, pumpurs_out_counties(_rng(cfg.seed, "pumpurs")))
    vtabs = pumpurs_tables(vocational_rng(cfg.seed, "programmes"), voc.years,
                           first_plan=len(ptabs["support_plans"]) + 1)
    vtypes = plan_risk_types(vocational_rng(cfg.seed, "risk_types"), vtabs["support_plans"], sim.pupils)
    truth["effects"].append(vocational_effect(cfg, voc.years, vtabs["support_plans"], vtabs["support_measures"]))

    mun_out = mun[mun["municipality_id"].isin(schools["municipality_id"])]
    size = py[py["year"] == YEARS[-1]].groupby("school_id").size()
    vsize = voc.years[voc.years["year"] == YEARS[-1]].groupby("school_id").size()
    schools_out = pd.concat([
        schools.assign(pupils_2023=schools["school_id"].map(size).fillna(0).astype("int64")),
        voc.schools.assign(pupils_2023=voc.schools["school_id"].map(vsize).fillna(0).astype("int64"))],
        ignore_index=True)
    ptabs = {k: pd.concat([v, vtabs[k]], ignore_index=True) for k, v in ptabs.items()}
    tables = {
        "municipalities": mun_out.drop(columns="population"),
        "schools": schools_out,
        "pupils": sim.pupils,
        "pupil_years": py,
        "assessments": assessments,
        "teachers": tsim.teachers,
        "teacher_years": tsim.teacher_years,
        "pumpurs_schools": pd.concat([pumpurs, voc.pumpurs], ignore_index=True),
        **ptabs,
        "community_support": comm.community_support,
        "skolas_soma": soma_table(_rng(cfg.seed, "soma"), py, schools),
        "wellbeing_pupils": comm.wellbeing_pupils,
        "wellbeing_teachers": teacher_wellbeing(_rng(cfg.seed, "twb"), tsim.teacher_years, tsim.teachers),
        "teacher_practices": practices,
        "preschool_assessments": preschool,
        "plan_risk_types": pd.concat([plan_risk_types(_rng(cfg.seed, "risk_types"), general_plans, sim.pupils),
                                      vtypes], ignore_index=True),
        "methodologist_support": rollout[rollout["municipality_id"].isin(schools["municipality_id"])],
        "teacher_development": tps.teacher_development,
        "lesson_observations": tps.lesson_observations,
        "vocational_years": voc.years,
    }
    return SynthData(tables={k: tables[k].reset_index(drop=True) for k in TABLE_ORDER}, truth=truth, config=cfg)


def write(data: SynthData, out: str | Path, fmt: str = "parquet") -> Path:
    """Write every table (``<table>.parquet`` or ``.csv``) and ``true_effects.json``.

    Parquet files are written without timestamps, so the same data give the
    same bytes, in the area layout of :func:`evaltools.data.layout.write_parquet`.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"Unknown format {fmt!r}: use 'parquet' or 'csv'.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in data.tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":  # sorted by area with small row groups, so one municipality reads fast
            write_parquet(df, path, name, data.tables)
        else:
            df.to_csv(path, index=False)
    (out / "true_effects.json").write_text(
        json.dumps(data.truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
