"""The school frame: about 600 general-education schools in 43 municipalities.

School counts follow municipal population (state-city schools larger, many
small rural county schools); a school's type fixes the grades it teaches:
``primary`` 1-6 (*sākumskola*), ``basic`` 1-9 (*pamatskola*), ``secondary``
1-12 (*vidusskola*), ``gymnasium`` 7-12 (*ģimnāzija*); the vocational schools
(*profesionālās izglītības iestādes*, type ``vocational``) are a frame of their own,
:mod:`.vocational`. The frame is always
drawn at national scale from the seed and then subset, so a school keeps its
id, name and attributes at every scale.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..geography import municipalities_frame
from .config import SynthConfig

TYPE_GRADES = {"primary": (1, 6), "basic": (1, 9), "secondary": (1, 12), "gymnasium": (7, 12)}
TYPE_LV = {"primary": "sākumskola", "basic": "pamatskola", "secondary": "vidusskola",
           "gymnasium": "ģimnāzija"}
# Share of schools with a minority-language (bilingual) programme, by kind/region.
_MINORITY_SHARE = {"Rīga": 0.30, "Daugavpils": 0.55, "Rēzekne": 0.40, "Jūrmala": 0.2,
                   "Liepāja": 0.15, "Jelgava": 0.15, "Ventspils": 0.2}


def _stem(name: str) -> str:
    """Genitive-like stem for school names: 'Ogres novads' -> 'Ogres'."""
    if name.endswith(" novads"):
        return name[: -len(" novads")]
    return {"Rīga": "Rīgas", "Liepāja": "Liepājas", "Jelgava": "Jelgavas",
            "Jūrmala": "Jūrmalas", "Rēzekne": "Rēzeknes"}.get(name, name)


def national_frame(rng: np.random.Generator, national_pupils: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Municipalities and all schools, with a size weight per school."""
    mun = municipalities_frame()
    share = mun["population"].to_numpy() / mun["population"].sum()
    pupils_m = share * national_pupils
    city = (mun["kind"] == "state_city").to_numpy()
    n_schools = np.maximum(3, np.round(pupils_m / np.where(city, 600.0, 250.0))).astype(int)

    m_idx = np.repeat(np.arange(len(mun)), n_schools)
    n = len(m_idx)
    is_city = city[m_idx]
    # size weights: lognormal, wider (more small schools) in counties
    w = np.minimum(np.exp(rng.normal(0.0, np.where(is_city, 0.45, 0.75), n)), 3.5)
    # rank within municipality (0 = largest)
    order = np.lexsort((-w, m_idx))
    rank = np.empty(n, dtype=int)
    starts = np.r_[0, np.cumsum(n_schools)[:-1]]
    rank[order] = np.arange(n) - np.repeat(starts, n_schools)
    rel_rank = rank / np.maximum(n_schools[m_idx] - 1, 1)

    u = rng.random(n)
    # bigger schools are more often secondary schools; the largest always is
    p_sec = np.where(is_city, 0.75 - 0.45 * rel_rank, 0.70 - 0.60 * rel_rank)
    p_gym = np.where(is_city, 0.15, 0.04)
    p_primary = np.where(is_city, 0.08, 0.12 + 0.10 * rel_rank)
    kind = np.where(u < p_sec, "secondary",
                    np.where(u < p_sec + p_gym, "gymnasium",
                             np.where(u < p_sec + p_gym + p_primary, "primary", "basic")))
    kind[rank == 0] = "secondary"
    # small schools have smaller weights still (one class per grade or fewer)
    w = w * np.where(kind == "secondary", 1.6, np.where(kind == "gymnasium", 2.5, 0.7))
    urban = is_city | (rel_rank < 0.25)
    w = np.where(urban, w, w * 0.6)

    mun_names = mun["name"].to_numpy()
    minority_p = np.array([_MINORITY_SHARE.get(nm, 0.0) for nm in mun_names])
    minority_p = np.where((mun["region"].to_numpy() == "Latgale") & ~city, 0.10, minority_p)
    language = np.where(rng.random(n) < minority_p[m_idx], "minority", "latvian")
    ses_mean = rng.normal(0.0, 0.25, n) + np.where(urban, 0.20, -0.25) + np.where(
        mun["region"].to_numpy()[m_idx] == "Latgale", -0.25, 0.0)

    school_id = np.array([f"S{i + 1:04d}" for i in range(n)], dtype=object)
    number = rank + 1
    names = [f"{_stem(mun_names[m])} {k}. {TYPE_LV[t]}" for m, k, t in zip(m_idx, number, kind)]
    lo = np.array([TYPE_GRADES[t][0] for t in kind])
    hi = np.array([TYPE_GRADES[t][1] for t in kind])
    schools = pd.DataFrame({
        "school_id": school_id,
        "municipality_id": mun["municipality_id"].to_numpy()[m_idx],
        "name": names,
        "urban": urban,
        "language": language,
        "type": kind,
        "grade_min": lo.astype("int64"),
        "grade_max": hi.astype("int64"),
        "_weight": w,
        "_ses_mean": ses_mean,
        "_rank": rank,
    })
    return mun, schools


def select_schools(schools: pd.DataFrame, mun: pd.DataFrame, cfg: SynthConfig) -> pd.DataFrame:
    """Subset the national frame for the configured scale."""
    if cfg.schools == "all":
        return schools.reset_index(drop=True)
    if cfg.schools == "region":
        known = sorted(mun["region"].unique())
        if cfg.region not in known:
            raise ValueError(f"Unknown planning region {cfg.region!r}; choose one of {known}.")
        ids = mun.loc[mun["region"] == cfg.region, "municipality_id"]
        return schools[schools["municipality_id"].isin(ids)].reset_index(drop=True)
    if cfg.schools == "sample":
        # per municipality: a mid-sized secondary school and the smallest other school
        keep = []
        for _, g in schools.groupby("municipality_id", sort=True):
            sec = g[g["type"] == "secondary"].sort_values("_weight")
            keep.append(sec.index[len(sec) // 4])
            other = g[g["type"].isin(["basic", "primary"])].sort_values("_weight")
            if len(other):
                keep.append(other.index[0])
        return schools.loc[sorted(keep)].reset_index(drop=True)
    raise ValueError(f"Unknown school selection {cfg.schools!r}: use all, region or sample.")


PUMPURS_MUNICIPALITIES_OUT = 2
"""Counties that never took part (PUMPURS worked in 41 of the 43 municipalities)."""
PUMPURS_JOIN_LOGIT = 2.2
"""Intercept of a school's joining logit in a taking-part municipality: about 550 of the 633
general-education schools of the national frame join (the public 599 institutions include the
vocational schools of :mod:`.vocational`, about 44)."""


def pumpurs_out_counties(rng: np.random.Generator) -> np.ndarray:
    """The municipality ids of the counties that never take part: the first draw of the PUMPURS stream
    (:func:`pumpurs_frame` makes it, the vocational schools' participation repeats it on a fresh copy)."""
    mun = municipalities_frame()
    county = mun.loc[mun["kind"] == "county", "municipality_id"].to_numpy()
    return county[np.argsort(rng.random(len(county)), kind="stable")[:PUMPURS_MUNICIPALITIES_OUT]]


def pumpurs_frame(rng: np.random.Generator, schools: pd.DataFrame) -> pd.DataFrame:
    """PUMPURS participation: roll-out year 2017-2020 or none (missing).

    :data:`PUMPURS_MUNICIPALITIES_OUT` counties, drawn from the national frame's (the same at
    every scale), never take part. Elsewhere a school joins with probability
    ``expit(PUMPURS_JOIN_LOGIT + x)``, ``x = -1.5*mean SES + 0.3 rural - 0.2 urban``: schools with
    poorer pupils (lower mean SES, rural) join more often and earlier, so a naive comparison of
    joiners with non-joiners is confounded at school level; the staggered timing is what a DiD
    design uses.
    """
    out = pumpurs_out_counties(rng)
    n = len(schools)
    x = -schools["_ses_mean"].to_numpy() * 1.5 + np.where(schools["urban"], -0.2, 0.3)
    join = ((rng.random(n) < 1.0 / (1.0 + np.exp(-(PUMPURS_JOIN_LOGIT + x))))
            & ~schools["municipality_id"].isin(out).to_numpy())
    early = x + rng.normal(0, 1.0, n)
    # earlier roll-out for more deprived schools: quantiles of `early` among joiners
    cohort = np.full(n, -1)
    if join.any():
        q = np.quantile(early[join], [0.7, 0.4, 0.15])
        cohort[join] = np.where(early[join] >= q[0], 2017,
                                np.where(early[join] >= q[1], 2018,
                                         np.where(early[join] >= q[2], 2019, 2020)))
    rollout = pd.array(np.where(cohort > 0, cohort, 0), dtype="Int64")
    rollout[cohort < 0] = pd.NA
    takeup = np.clip(rng.beta(7, 3, n), 0.2, 0.98)
    return pd.DataFrame({
        "school_id": schools["school_id"].to_numpy(),
        "rollout_year": rollout,
        "_takeup": np.where(cohort > 0, takeup, 0.0),
    })
