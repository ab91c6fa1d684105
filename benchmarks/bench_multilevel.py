"""Benchmark: our random-intercept REML fit against statsmodels MixedLM.

Builds one synthetic national pupil table (2.2 M pupil-years, 600 schools in 43
municipalities), writes it once to a temporary Parquet file, then times in a
fresh subprocess each (clean peak memory, ru_maxrss):

- statsmodels ``MixedLM`` (REML, default optimiser; and BFGS to gradient 1e-10)
  on the first 400,000 rows;
- ``evaltools.estimate.multilevel_models.mixed_model`` on the same 400,000 rows;
- ``evaltools.estimate.multilevel_models.mixed_model`` on all 2.2 M rows;

first with schools as groups (600), then with classes of about 25 pupils
(88,000 classes; the first 400,000 rows are a random subset of pupils and touch
87,000 of them): MixedLM loops over groups in Python, so its time grows with the
number of groups; ours pools groups of equal size and barely notices.

Times include building the design matrix from the formula. Prints a table of
wall time, peak memory, the speed ratio, and the largest relative difference of
the estimates between the two engines on identical data.

Second part, three levels (pupils in teachers in schools; ``--nested`` runs it alone): the fast
nested engine (:mod:`evaltools.estimate.multilevel_models.nested`) against statsmodels MixedLM with
the teachers as a variance component (``vc_formula``, REML, the default optimiser and BFGS to gradient
1e-10) on the same first N rows of one national-size table (1.15 M scores, 16,000 teachers in 700
schools, as the teacher study's national data; the first N rows are whole schools), at sizes
where MixedLM still finishes in about a minute, and ours alone at the national size. Prints
seconds (CPU and wall), peak memory and the largest differences between the engines.

Run: ``.venv/bin/python benchmarks/bench_multilevel.py`` (a few minutes, mostly MixedLM);
``.venv/bin/python benchmarks/bench_multilevel.py --nested [--sizes 5000,20000,50000]``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

N_BIG, N_SMALL, SCHOOLS, MUNICIPALITIES = 2_200_000, 400_000, 600, 43

WORKER = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
path, engine, nrows, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
d = pd.read_parquet(path).iloc[:nrows]
import statsmodels.api as sm
from evaltools.estimate import multilevel
t0 = time.perf_counter()
if engine.startswith("mixedlm"):
    # "mixedlm": default optimiser; "mixedlm-tight": BFGS to gradient 1e-10 (the precise optimum).
    kw = {"method": "bfgs", "gtol": 1e-10} if engine == "mixedlm-tight" else {}
    X = sm.add_constant(d[["treated", "prior", "female", "ses"]].astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sm.MixedLM(d["score"].to_numpy(), X.to_numpy(), groups=d[group].to_numpy()).fit(reml=True, **kw)
    out = {"fe": list(map(float, r.fe_params)), "se": list(map(float, r.bse_fe)),
           "tau2": float(r.cov_re[0, 0]), "sigma2": float(r.scale), "llf": float(r.llf)}
else:
    r = multilevel(d, "score ~ treated + prior + female + ses", group)
    out = {"fe": list(map(float, r.params)), "se": list(map(float, r.fixed["se"])),
           "tau2": float(r.variance["estimate"].iloc[0]), "sigma2": float(r.variance["estimate"].iloc[1]),
           "llf": float(r.llf)}
out["seconds"] = time.perf_counter() - t0
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

NESTED_WORKER = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
path, engine, nrows = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = pd.read_parquet(path).iloc[:nrows]
import statsmodels.formula.api as smf
from evaltools.estimate import multilevel
t0, c0 = time.perf_counter(), time.process_time()
if engine.startswith("mixedlm"):
    kw = {"method": ["bfgs"], "gtol": 1e-10, "maxiter": 5000} if engine == "mixedlm-tight" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = smf.mixedlm("score ~ treated + prior", d, groups="school", re_formula="1",
                        vc_formula={"teacher": "0 + C(teacher)"})
        r = m.fit(reml=True, **kw)
    out = {"fe": list(map(float, r.fe_params)), "se": list(map(float, r.bse_fe)),
           "vc": [float(r.cov_re.iloc[0, 0]), float(r.vcomp[0]), float(r.scale)], "llf": float(r.llf)}
else:
    r = multilevel(d, "score ~ treated + prior", "teacher", nested_in="school")
    out = {"fe": list(map(float, r.params)), "se": list(map(float, r.fixed["se"])),
           "vc": list(map(float, r.variance["estimate"])), "llf": float(r.llf)}
out["seconds"] = time.perf_counter() - t0
out["cpu"] = time.process_time() - c0
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["teachers"], out["schools"] = int(d["teacher"].nunique()), int(d["school"].nunique())
print(json.dumps(out))
"""

N_NESTED, SCHOOLS_NESTED, TEACHERS_NESTED = 1_150_000, 700, 16_000


def make_data(seed: int = 2026) -> pd.DataFrame:
    """Pupils in schools in municipalities; true effect of ``treated`` = 0.15 SD."""
    rng = np.random.default_rng(seed)
    school_mun = rng.integers(0, MUNICIPALITIES, SCHOOLS)
    size = rng.gamma(2.0, 1.0, SCHOOLS)
    school = rng.choice(SCHOOLS, N_BIG, p=size / size.sum())
    u_mun = rng.normal(0, 0.15, MUNICIPALITIES)
    u_school = rng.normal(0, 0.35, SCHOOLS)
    # Classes of about 25 pupils within each school (about 88,000 classes in all).
    klass = school * 1000 + (rng.random(N_BIG) * np.bincount(school, minlength=SCHOOLS)[school] / 25).astype(int)
    klass = pd.factorize(klass)[0]
    u_class = rng.normal(0, 0.2, klass.max() + 1)
    ses = rng.normal(0, 1, N_BIG) + 0.5 * rng.normal(0, 1, SCHOOLS)[school]
    prior = 0.5 * ses + rng.normal(0, 1, N_BIG)
    female = rng.integers(0, 2, N_BIG)
    treated = (rng.random(N_BIG) < 0.2 + 0.1 * (ses > 0)).astype(int)
    score = (0.15 * treated + 0.45 * prior + 0.05 * female + 0.2 * ses
             + u_school[school] + u_class[klass] + u_mun[school_mun[school]] + rng.normal(0, 0.8, N_BIG))
    d = pd.DataFrame({"score": score, "treated": treated, "prior": prior, "female": female, "ses": ses,
                      "school": school, "class": klass, "municipality": school_mun[school]})
    return d.sample(frac=1.0, random_state=1).reset_index(drop=True)  # first N rows = random subset


def make_nested(seed: int = 2027) -> pd.DataFrame:
    """Pupils' scores in teachers in schools (national size); true effect of ``treated`` = 1.0."""
    rng = np.random.default_rng(seed)
    school_of = rng.integers(0, SCHOOLS_NESTED, TEACHERS_NESTED)
    size = rng.gamma(2.0, 1.0, TEACHERS_NESTED)
    teacher = rng.choice(TEACHERS_NESTED, N_NESTED, p=size / size.sum())
    school = school_of[teacher]
    u, v = rng.normal(0, 2.6, SCHOOLS_NESTED), rng.normal(0, 2.9, TEACHERS_NESTED)
    prior = rng.normal(0, 1, N_NESTED)
    treated = (rng.random(N_NESTED) < 0.3).astype(int)
    score = 1.0 * treated + 5.0 * prior + u[school] + v[teacher] + rng.normal(0, 17.5, N_NESTED)
    d = pd.DataFrame({"score": score, "treated": treated, "prior": prior, "teacher": teacher, "school": school})
    # schools in random order, pupils in random order within them: the first N rows are whole schools
    # (with all their teachers) but the last, as a smaller data set of the same design
    rank = pd.Series(rng.permutation(SCHOOLS_NESTED))[d["school"]].to_numpy()
    return d.iloc[np.lexsort((rng.random(N_NESTED), rank))].reset_index(drop=True)


def run_nested(path: Path, engine: str, nrows: int) -> dict:
    res = subprocess.run([sys.executable, "-c", NESTED_WORKER, str(path), engine, str(nrows)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main_nested(sizes: list[int]) -> None:
    """The three-level comparison (module docstring, second part)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nested.parquet"
        make_nested().to_parquet(path)
        for n in sizes:
            ours = run_nested(path, "fast", n)
            for engine in ("mixedlm", "mixedlm-tight"):
                ref = run_nested(path, engine, n)
                rows.append({"rows": f"{n:,}", "teachers": ref["teachers"], "schools": ref["schools"],
                             "MixedLM": engine, "MixedLM s": ref["seconds"], "MixedLM CPU-s": ref["cpu"],
                             "ours s": ours["seconds"], "ours CPU-s": ours["cpu"],
                             "speed-up": ref["seconds"] / ours["seconds"],
                             "max rel diff fe": rel(ours["fe"], ref["fe"]), "se": rel(ours["se"], ref["se"]),
                             "vc": rel(ours["vc"], ref["vc"]), "llf ours-ref": ours["llf"] - ref["llf"]})
        big = run_nested(path, "fast", N_NESTED)
    print("Three levels, REML, score ~ treated + prior, (1 | school) + (1 | teacher in school)\n")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\nours at {N_NESTED:,} rows ({big['teachers']:,} teachers, {big['schools']:,} schools): "
          f"{big['seconds']:.2f} s wall, {big['cpu']:.2f} CPU-s, peak {big['peak_mib']:.0f} MiB; "
          f"treated {big['fe'][1]:.3f} (SE {big['se'][1]:.3f}, true 1.0)")


def run(path: Path, engine: str, nrows: int, group: str) -> dict:
    res = subprocess.run([sys.executable, "-c", WORKER, str(path), engine, str(nrows), group],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def rel(a, b) -> float:
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def main() -> None:
    runs = [
        ("MixedLM", "mixedlm", N_SMALL, "school"),
        ("MixedLM (BFGS, gtol 1e-10)", "mixedlm-tight", N_SMALL, "school"),
        ("evaltools", "fast", N_SMALL, "school"),
        ("evaltools", "fast", N_BIG, "school"),
        ("MixedLM", "mixedlm", N_SMALL, "class"),
        ("evaltools", "fast", N_SMALL, "class"),
        ("evaltools", "fast", N_BIG, "class"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pupils.parquet"
        data = make_data()
        n_groups = {g: (data[g].iloc[:N_SMALL].nunique(), data[g].nunique()) for g in ("school", "class")}
        data.to_parquet(path)
        del data
        rows = {(lab, n, g): run(path, eng, n, g) for lab, eng, n, g in runs}
    table = pd.DataFrame(
        [{"engine": k[0], "groups": f"{k[2]} ({n_groups[k[2]][0 if k[1] == N_SMALL else 1]:,})", "rows": f"{k[1]:,}",
          "seconds": v["seconds"], "peak MiB": v["peak_mib"], "treated": v["fe"][1], "se": v["se"][1],
          "tau2": v["tau2"], "sigma2": v["sigma2"]}
         for k, v in rows.items()]
    )
    print("Random-intercept REML, score ~ treated + prior + female + ses (true effect 0.15)\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for g in ("school", "class"):
        ref, ours = rows[("MixedLM", N_SMALL, g)], rows[("evaltools", N_SMALL, g)]
        print(f"\n[{g}] speed-up at {N_SMALL:,} rows: MixedLM / evaltools = {ref['seconds'] / ours['seconds']:.1f}x; "
              f"evaltools at {N_BIG:,} rows: {rows[('evaltools', N_BIG, g)]['seconds']:.2f} s (target <= 10 s)")
        refs = [("MixedLM (default)", ref)]
        if g == "school":
            refs.append(("MixedLM (BFGS, gtol 1e-10)", rows[("MixedLM (BFGS, gtol 1e-10)", N_SMALL, g)]))
        for name, r in refs:
            print(f"  largest relative difference, evaltools vs {name} on identical data: "
                  f"fixed effects {rel(ours['fe'], r['fe']):.1e}, SEs {rel(ours['se'], r['se']):.1e}, "
                  f"tau2 {rel(ours['tau2'], r['tau2']):.1e}, sigma2 {rel(ours['sigma2'], r['sigma2']):.1e}, "
                  f"llf (ours - MixedLM) {ours['llf'] - r['llf']:.2e}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nested", action="store_true", help="only the three-level comparison")
    ap.add_argument("--sizes", default="5000,20000,50000", help="rows for the three-level comparison with MixedLM")
    args = ap.parse_args()
    if not args.nested:
        main()
    main_nested([int(x) for x in args.sizes.split(",")])
