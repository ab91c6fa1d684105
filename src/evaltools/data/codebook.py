"""Render the codebook (``docs/codebook.md``) from the column specifications.

    python -m evaltools.data.codebook > docs/codebook.md

A test checks that the committed file equals :func:`render`, so the codebook
and the schemas cannot drift apart.
"""
from __future__ import annotations

from .schemas import TABLES, Col
from .synth.calibration import TARGETS
from .synth.config import CE9_PASS_MARK, TrueParameters
from .synth.teacher_support import HEAD_SHARE

INTRO = """\
# Codebook: evaltools data tables

Generated from `src/evaltools/data/schemas.py` by `python -m evaltools.data.codebook`;
do not edit by hand. Every table is one file (`<table>.parquet`, `.csv` or `.xlsx`) in a
data-set directory; `evaltools.data.load_dataset(directory)` reads and checks them all
(it returns a `Dataset`: `ds["pupils"]`, `ds.truth`), `evaltools data check DIR` does the
same from the command line, `load(file)` reads one table and `validate(df, table)` checks a
table already in memory.

- **year** is always the calendar year in which the school year starts (2014 = 2014/15).
- **Files**: Parquet, Excel (first sheet) or CSV in UTF-8; a CSV whose header has more
  semicolons than commas is read as a European export (`;` separator, decimal comma).
- **Types**: `str` text; `int` whole number; `Int64` whole number that may be missing;
  `float` number; `bool` true/false (CSV/Excel may use true/false, 1/0, yes/no, jā/nē).
- **Source** says where the column would come from in a real extract (VIIS = the State
  Education Information System; VISC = the National Centre for Education, which holds
  exam and diagnostic-test results; IKVD = the State Education Quality Service, which ran
  the PUMPURS database). Sources marked *assumption* are our best guess, to be confirmed
  with the data holder.
- Keys (one row per key) are checked; so are the cross-table rules listed below.
- An *optional column* may be absent from an extract (e.g. no SES proxy): it is then added,
  empty; analyses that need it say so.
- **Identifier columns** (marked *identifier* below: `pupil_id`, `teacher_id`, `plan_id`,
  and `personal_code` wherever an extract still has one) identify a person. No error
  message quotes their values (it gives the number of rows and the row numbers), and the
  privacy gate searches every published file for every one of their values, under the
  names the column mapping gives them, as whole tokens of any length. Ids shorter than 6
  characters or without a letter look like a report's own numbers: `evaltools data check`
  warns, a run that shows such a number fails, so replace them with keyed pseudonyms first
  (`evaltools data pseudonymise DIR --out NEW_DIR`, see *Pseudonymisation*).
"""

SCALES = """\
## The synthetic data

`evaltools data synth --scale sample|region|national --seed N --out DIR [--region NAME]`
(or `write(generate(scale, seed), out)` from `evaltools.data.synth`) writes every table plus
`true_effects.json`; `effects_frame(truth)` shows the true effects as a table. The same
scale and seed give byte-identical Parquet files.

| scale | schools | pupils a year | use |
|---|---|---|---|
| `sample` | 85: in each of the 43 municipalities a smaller secondary school and the smallest other school; 6 vocational schools (one per planning region, two in the Rīga region) | about 19,000 (and about 2,000 vocational students) | shipped in `data/sample` (seed 20240901); tests and demos |
| `region` | every school of one planning region (default Latgale), its vocational schools too | about 30,000 | realistic regional studies |
| `national` | about 630 general-education schools and 44 vocational schools in 43 municipalities | about 220,000 (and about 24,000 vocational students) | benchmarks, national studies |

Pupils are simulated from 2004 (a stock in every grade, grade-1 entrants every year after) and
only 2014-2023 are written: the ten burn-in years put the 2014 pupil stock in steady state (its
at-risk pupils have met the same early-leaving hazards as later cohorts, its repeaters and last
year's absences are simulated, not assumed), so school early-leaving rates have no trend of
their own before PUMPURS. `entry_year` is the first year in the data (2014 for the stock).
Failing the grade-9 mathematics exam (below {ce9_pass:g} %, an assumption) makes repeating
grade 9 likely. Teacher posts follow each school's expected size, so the teacher tables do
not change when the pupil model does.

**Vocational students.** About 40 % of grade-9 completers go on to a vocational school
(*profesionālās izglītības iestāde*, `schools.type` `vocational`: 25 in the state cities, one
in each of the 19 most populous counties; programmes of 3 or 4 years after grade 9). Their
years are the table `vocational_years` (course 1-4), never rows of `pupil_years`, whose grades
are general education's: no statistic of `pupil_years`, `assessments` or the surveys can count
them (the codebook's cross-table rules check it), and `pupils` keeps the general-education
career (`exit_status` `transferred` in the grade-9 year). A study that wants them reads
`vocational_years`; their PUMPURS risk scores, plans, measures and risk types are in the
PUMPURS tables beside the general schools' (`school_id` of a vocational school). Only the
grade-9 completers of 2014/15 on are followed (the burn-in's are in no table), so the
vocational stock is complete from 2018/19 (course 4 of 2017/18 is missing). Their early leaving
is much higher than in general secondary grades (an *assumption*, no public figure at hand:
about 10 % of first-course students leave in the year, 3-6 % later). Everything vocational is
drawn from random streams of its own (`synth/vocational.py`): the general-education rows of
every table are the same with or without it.

The school frame is always drawn at national scale and then subset, so a school keeps
its id, name and attributes at every scale; pupils are simulated for the chosen schools.
The `sample` over-represents small schools (two per municipality), so school-size figures
are calibrated on `national` only. It also has 30 times the national rate of Iespējamā misija
alumni (about 250 alumni, 90 of them in the growth programme), so that the growth-programme
study has something to estimate; `region` and `national` use the realistic rate
(`alumni_factor` option of `generate`).

Test scores carry a persistent teacher effect (SD 0.15 test SDs, `TEACHER_SD` in
`synth/assessments.py`, independent of everything else), so the scores of one teacher's
pupils are correlated (teacher ICC about 0.03 in `sample`) and a model of pupils' results
must allow for it (random intercept or SEs clustered by teacher). There is no separate
school effect: the school ICC of scores is small (about 0.01, from the schools' SES mix).

### Calibration

| figure | target range | what it is calibrated to |
|---|---|---|
{calibration}

Sources and caveats (figures approximate, to be checked before quoting):

- Early leaving: Eurostat indicator *early leavers from education and training*, age
  18-24 (edat_lfse_14), Latvia about 7-10 % in 2015-2023. Our proxy is the share of the
  2014 grade-5 cohort that leaves general education early; it ignores leavers from
  vocational schools and is a calibration target, not the same statistic.
- PUMPURS (ESF 8.3.4.0/16/I/001): 41 of the 43 municipalities take part (two counties never
  do); about 550 of the 633 general-education schools and the vocational schools outside those
  two counties join in 2017-2020; plans from the roll-out to semester 1 of 2023/24 (the project
  ran to the end of 2023), grades 5-12, from 2021/22 grades 1-4, and every course of the
  vocational schools. National scale (seed 20240901), against the public figures of about
  93,500 plans for about 50,000 pupils in 599 institutions of 41 municipalities:

  | | plans | taken up | pupils with a plan | institutions | municipalities |
  |---|---|---|---|---|---|
  | general-education schools | 71,898 | 51,180 | 37,520 | 554 | 41 |
  | vocational schools | 22,234 | 15,383 | 13,975 | 43 | 25 |
  | all | 94,132 | 66,563 | 48,437 | 597 | 41 |

  Details: `evaltools.data.synth.programmes` and `evaltools.data.synth.vocational`.
- Pupil numbers: about 220,000 pupils in grades 1-12 of general schools a year
  (Ministry of Education and Science / CSB school statistics); cohort sizes follow live
  births (CSB) 1996-2016; about 40 % of grade-9 completers move to vocational schools.
- Exam means: VISC yearly reports on centralised exams (grade 12 mathematics in the
  mid-30s %, Latvian about 50 %, English about 60 %; grade 9 exams in the 50s-60s %).
  Grade 9 exams were not held in spring 2020 and 2021 (school years 2019 and 2020) because
  of COVID-19 (*assumption to verify*); the data have no `ce9` rows for those years.
- School sizes: many small rural schools (about a third under 100 pupils), large
  state-city schools; a pupil-teacher ratio of about 8-9 (OECD *Education at a Glance*
  puts Latvia among the lowest ratios).
- The 43 municipalities and their planning regions follow the 2021 reform; populations
  are approximate and only weight the pupils (see `evaltools/data/geography.py`).
- The Iespējamā misija growth programme is assumed to start in November 2016 (the source
  text mentions the launch of the competence-based curriculum project, Skola2030), with
  alumni joining in 2016-2019; about 35 alumni teach in 2014 and about 7 new alumni start
  each year nationally (105 alumni, about half in schools, per the programme text).

### Known true effects (`true_effects.json`)

Each entry gives the programme, outcome, tables, the true value and its scale, realised
averages over the generated units (e.g. the ATT on the probability scale computed from
the simulated potential outcomes), the built-in confounding, **the direction of the
naive bias** and **how to recover the truth**. In short:

| effect | truth (scale) | confounding | naive bias | recover with |
|---|---|---|---|---|
| PUMPURS support on early leaving | log OR {tp.tau0:+g} at the threshold, {tp.tau_score:+g} per 10 risk points above it, {tp.tau_years:+g} per year since roll-out | support goes to pupils whose risk score is at or above {tp.risk_threshold:g} | upward (support looks harmful) | logit with the risk score (support is as good as random given it), fuzzy RD at {tp.risk_threshold:g}, staggered DiD (ITT) |
| PUMPURS support on vocational students' early leaving (`pumpurs_support_dropout_vocational`) | log OR {tp.vocational_tau0:+g} at the threshold, otherwise as above | same | upward | logit with the risk score among vocational students' years (`vocational_years`) |
| PUMPURS support on absences | log rate ratio {tp.support_absences_log_rr:+g} | same | upward | Poisson with risk-score bins |
| PUMPURS support on exam scores | 0 points | higher-risk pupils have lower ability | downward | OLS with risk-score bins, first sittings |
| PUMPURS support on repetition | log OR {tp.support_repeat_log_or:+g} | same | upward | logit with the risk score |
| Growth programme on leaving teaching | log OR {tp.gp_leave_log_or:+g} | more engaged alumni join and stay | away from zero | logit with engagement among alumni |
| Growth programme on moving into leadership | log OR {tp.gp_promotion_log_or:+g} | engagement | upward | logit with engagement and service |
| Growth programme on pupils' scores | {tp.gp_pupil_score_pp:+g} points | engagement raises scores | upward | OLS with teacher engagement, test-subject-year cells, SE by teacher |
| Growth programme spill-over on colleagues' collaboration | {tp.gp_spillover_points:+g} points | alumni work in schools with a collaborative culture | upward | two-way FE (school, year) on non-participant teacher-years |
| Skola-kopienā counselling/mentoring on wellbeing (`community_support_wellbeing`) | {tp.community_wellbeing_per_10h:+g} points per 10 hours | support and hours go to pupils with low prior wellbeing and many absences | downward | OLS on hours with prior wellbeing and SES |
| Skola-kopienā counselling/mentoring on absences (`community_support_absences`) | {tp.community_absences_per_10h:+g} lessons per 10 hours | same | upward (support looks harmful) | regression on hours with last year's absences and wellbeing |
| Skola-kopienā literacy support (grades 1-3) on the grade-3 Latvian diagnostic (`community_support_literacy`) | {tp.community_literacy_points_per_10h:+g} points per 10 hours | support goes to pupils with low pre-school literacy | downward | OLS on hours with the pre-school scores |
| Skola-kopienā subject support on passing the retaken grade-9 exams (`community_support_exam_retake`) | {tp.community_retake_points_per_10h:+g} exam points per 10 hours; truth on the pass probability (pass mark {ce9_pass:g} %) | support goes to the retakers with the lowest scores | downward | pass on support with last year's ce9 scores, among failed repeaters |
| Latvijas skolas soma on wellbeing | {tp.soma_wellbeing_points_per_activity:g} | urban, higher-SES schools offer more | upward | school fixed effects, activities per semester enrolled |
| Methodologist support on head-observed lesson scores (`teacher_support_observation`) | ATT in rubric points (1-4), about 0.16: {tp.tps_direct0:+g} at the start year, {tp.tps_direct_growth:+g} a year for three years, {tp.tps_early_career_extra:+g} under 5 years of service, plus the dose of the extra hours | served first where lessons were weaker | downward | staggered DiD (Callaway-Sant'Anna) on head observations, 43 municipality clusters |
| 10 more hours of professional development on lesson scores (`teacher_support_observation_per_10_hours`) | {tp.tps_effect_per_10_hours:+g} rubric points | engaged teachers take more hours and teach better | upward | teacher fixed effects and municipality-by-year effects |
| Methodologist support on leaving teaching (`teacher_support_retention`) | percentage points (log OR {tp.tps_leave_log_or:+g}) | none built in | none built in | staggered DiD on leaving rates, or logit with municipality and year effects |
| Methodologist support on pupils' test scores (`teacher_support_pupil_results`) | points: {tp.tps_pupil_points_per_rubric_point:g} per rubric point of the linked teacher's gain (about 1 point) | teacher engagement, year shocks | none built in | DiD or multilevel model within test, subject and year |

The `true_value` of a Skola-kopienā entry is the effect at the supported pupils' hours on the
outcome's scale (points, lessons, or the probability of passing); `parameters.effect_per_10_hours`
is the dose slope. Support runs in 2022-2023 (the programme's first years) in a random 60 % of
schools, one measure per pupil and year.

Teacher professional support (ESF 4.2.2.3, `synth/teacher_support.py`): the methodologist network
reaches the 43 municipalities in 2017-2021 (8, 9, 9, 7 and 5 municipalities; 5 never within the
data), weaker municipalities first; the same start years at every scale. Professional-development
hours are selected on teacher engagement and rise after the start (supply shift); the head
observes a random {head_share:.0%} of teachers every year everywhere (the outcome that is consistent
over time), methodologists only after the start. The support also lowers the yearly hazard of
leaving teaching and, through the practice gain of the linked subject teacher, raises pupils'
diag6, ce9 and ce12 scores. Every true value is computed from the simulated potential outcomes
(the same lesson, hazard or pupil score with and without the roll-out).

With the shipped seed the within-school soma estimate lies about half a standard error
below zero; across seeds its interval covers zero as it should (`tests/data/test_synth.py`).
"""

MAPPING = """\
## Column mapping

A real extract names its columns its own way. Pass a mapping (a dict or a YAML file) to
`load`, `load_dataset` or `evaltools data check --mapping FILE`:

```yaml
files:                        # optional: table -> file name in the directory
  pupil_years: skolenu_gadi.csv
pupil_years:                  # table -> {extract column: our column}
  personas_kods_hash: pupil_id
  macibu_gads: year
  klase: grade
  kavejumi: absences
```

A flat `{extract column: our column}` dict applies to the one table of `load` and to every
table of `load_dataset`. Mapping to a column that is not in the table is an error.
Codes are recoded with a `values` entry, applied after renaming (codes not listed are kept):

```yaml
values:
  pupils:
    sex: {V: M, S: F}          # vīrietis / sieviete
  pupil_years:
    status: {mācās: enrolled, atskaitīts: left_early}
```
"""

PSEUDO = """\
## Pseudonymisation

Personal codes never enter the workbench. Replace them on the evaluator's machine with
`evaltools.data.pseudonymise(codes, key)`: `P` + the first 16 hex digits of
HMAC-SHA256(key, code without spaces and hyphens). The same key links every table and year;
without the key nobody can recompute a pseudonym from a guessed personal code.

A whole extract: `evaltools data pseudonymise DIR --out NEW_DIR [--mapping FILE] [--key-file F]`
writes a copy of the folder (same files, formats and column names) in which every identifier
column, found through the mapping as the loader finds it, holds keyed pseudonyms (`P…` for
pupils and personal codes, `T…` teachers, `PL…` plans); it prints which columns of which
files it replaced, never a value.

- Key from `EVALTOOLS_PSEUDONYM_KEY` (the key) or `EVALTOOLS_PSEUDONYM_KEY_FILE` (a path),
  at least 16 bytes: `python -c "import secrets; print(secrets.token_hex(32))"`.
- **Never store the key beside the data**: `load_key(key_file=..., data_dir=...)` refuses a
  key file inside the data folder; keep it in a password store or your home directory.
  Whoever holds the key and the extract can re-identify pupils: the key is as sensitive as
  the personal codes.
"""

RULES = """\
## Rules checked when loading

Every problem of every file is collected and raised as one `DataValidationError`
(`.violations`, `.to_frame()`), each with file, column, row numbers (first five and the
count; rows count data rows from 1, header not counted) and a hint:

| rule | message starts with |
|---|---|
| `missing_column` | required column '...' is missing (with a close match if there is one) |
| `missing_table` | no file for the required table (municipalities, schools, pupils, pupil_years) |
| `wrong_type` | wrong type: expected whole numbers / numbers / text / true/false values |
| `missing_value` | empty cells in a column that must be filled |
| `out_of_range` | score out of range / value out of range |
| `class_grade_range` | classroom grade outside 1-10 |
| `unknown_value` | unknown value(s) ... not one of [...] |
| `duplicate_key` | duplicate pupil-year (or duplicate (key) in other tables) |
| `exit_before_entry` | leaves before entering: exit_year earlier than entry_year |
| `record_after_leaving` | pupil-year after the pupil left early or graduated |
| `year_before_entry` | pupil-year before the pupil's entry_year in pupils |
| `year_after_exit` | pupil-year after the pupil's exit_year in pupils |
| `support_before_rollout` | support plan (or risk score) before the school's PUMPURS roll-out |
| `unknown_school_id`, `unknown_pupil_id`, `unknown_teacher_id`, `unknown_municipality_id`, `unknown_plan_id` | unknown ... id: ... not found in ... |
| `measure_without_takeup` | measure delivered under a plan that was not taken up |
| `wrong_school_type` | general-education pupil-year at a vocational school / vocational student's year at a school whose type is not 'vocational' |
| `vocational_before_exit` | vocational year not after the pupil's general-education exit_year in pupils |
| `general_grades`, `course_in_programme` | grade above 12 in a general-education school / course beyond the programme's length |
| `unreadable` | the file cannot be read (re-export it) |
"""


def _range(c: Col) -> str:
    if c.values:
        return ", ".join(f"`{v}`" for v in c.values)
    if c.range:
        lo, hi = c.range
        return f"{lo:g} to {hi:g}"
    return ""


def render() -> str:
    """The codebook as Markdown."""
    parts = [INTRO]
    for t in TABLES.values():
        key = f" Key: ({', '.join(t.key)})." if t.key else ""
        req = " **Required.**" if t.required else ""
        lines = [f"## `{t.name}`", "", f"{t.meaning}{key}{req}", "",
                 "| column | type | missing allowed | range / values | meaning | source in a real extract |",
                 "|---|---|---|---|---|---|"]
        for c in t.columns:
            ident = " *identifier*" if c.identifier else ""
            lines.append(f"| `{c.name}`{ident} | {c.dtype} | {'optional column' if c.optional else 'yes' if c.nullable else 'no'} | {_range(c)} | "
                         f"{c.meaning} | {c.source} |")
        parts.append("\n".join(lines) + "\n")
    cal = "\n".join(f"| `{k}` | {lo:g} to {hi:g} | {txt} |" for k, (lo, hi, txt) in TARGETS.items())
    parts += [RULES, MAPPING, PSEUDO, SCALES.format(calibration=cal, tp=TrueParameters(), ce9_pass=CE9_PASS_MARK,
                                                    head_share=HEAD_SHARE)]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
