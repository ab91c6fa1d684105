"""Column specifications of every table, and the pandera schemas built from them.

One :class:`Col` per column says its type, whether it may be missing, its
allowed range or values, what it means and where it comes from in a real
extract. The pandera schemas (value checks) and the codebook
(``docs/codebook.md``, see :mod:`evaltools.data.codebook`) are both built from
these specifications, so they cannot drift apart.

Types: ``str``, ``int`` (whole numbers), ``Int64`` (whole numbers, may be
missing), ``float``, ``bool``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

YEAR_RANGE = (2000, 2040)

#: Columns whose values identify a person, directly or through one record of theirs: the
#: single list the whole workbench uses. Their values are never quoted in a message (a
#: message gives the number of rows and the row numbers), never published, and the privacy
#: gate (``evaltools.report.privacy``) searches every published file for them, after the
#: column mapping. ``plan_id`` is one: a support plan belongs to one pupil, and whoever holds
#: the PUMPURS database can look its number up. School and municipality ids are not: schools
#: and municipalities are the units a report names. ``personal_code`` is no column of a
#: table (codes are pseudonymised before loading, see ``evaltools data pseudonymise``), but a
#: file that still carries one is treated the same way.
IDENTIFIER_COLUMNS: tuple[str, ...] = ("pupil_id", "teacher_id", "plan_id", "personal_code")

#: An id with fewer characters, or with no letter, cannot be told apart from the ordinary
#: numbers of a report ("17" pupils, year 2014): the privacy gate fails a run in which one
#: occurs and ``evaltools data check`` warns; keyed pseudonyms (``P`` + 16 hex digits) are safe.
SHORT_ID_CHARS = 6


def ambiguous_id(value: str) -> bool:
    """True for an id too short (< :data:`SHORT_ID_CHARS` characters) or without a letter."""
    text = " ".join(str(value).split())
    return len(text) < SHORT_ID_CHARS or not any(ch.isalpha() for ch in text)


@dataclass(frozen=True)
class Col:
    """Specification of one column."""

    name: str
    dtype: str
    meaning: str
    source: str
    nullable: bool = False
    range: tuple[float, float] | None = None
    values: tuple[str, ...] | None = None
    optional: bool = False  # may be absent from an extract: then added, empty

    @property
    def identifier(self) -> bool:
        """True for a column whose values identify a person (see :data:`IDENTIFIER_COLUMNS`)."""
        return self.name in IDENTIFIER_COLUMNS


@dataclass(frozen=True)
class Table:
    """Specification of one table: columns, key and meaning."""

    name: str
    meaning: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    required: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


VIIS = "VIIS"
GENERAL_SCHOOL_TYPES = ("primary", "basic", "secondary", "gymnasium")
"""School types of general education (``schools.type``); the other type is ``vocational``."""
_ROLES = ("teacher", "subject_lead", "deputy_head", "head")
_STATUS = ("enrolled", "left_early", "transferred", "graduated")
_TESTS = ("diag3", "diag6", "ce9", "ce12", "class")
_SUBJECTS = ("math", "latvian", "english", "science")
_PD_TYPES = ("course", "mentoring", "lesson_study", "learning_community", "observation_feedback")
_MEASURES = ("teacher_support", "psychologist", "social_pedagogue", "transport", "meals",
             "dormitory", "learning_materials")

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("municipalities", "The 43 municipalities (7 state cities, 36 counties) since the 2021 reform.", (
        Col("municipality_id", "str", "Municipality code (LV01-LV43 in the synthetic data).",
            "ATVK code of the municipality in VIIS school records (map it with a column mapping)"),
        Col("name", "str", "Municipality name in Latvian.", "Official name"),
        Col("kind", "str", "state_city or county.", "Administrative-territorial law", values=("state_city", "county")),
        Col("region", "str", "Planning region.", "Regional Development Law",
            values=("Rīga", "Vidzeme", "Kurzeme", "Zemgale", "Latgale")),
    ), key=("municipality_id",), required=True),
    Table("schools", "General-education schools and vocational schools (type vocational).", (
        Col("school_id", "str", "School identifier.", f"{VIIS} institution register number (pseudonymise if needed)"),
        Col("municipality_id", "str", "Municipality of the school's founder.", f"{VIIS} institution register"),
        Col("name", "str", "School name.", f"{VIIS} institution register"),
        Col("urban", "bool", "True in a state city or county town.", "Derived from the address (ATVK territorial unit)"),
        Col("language", "str", "Language of instruction: latvian or minority (bilingual minority programme).",
            f"{VIIS} education programmes of the school", values=("latvian", "minority")),
        Col("type", "str", "primary (1-6, sākumskola), basic (1-9, pamatskola), secondary (1-12, vidusskola), "
            "gymnasium (7-12, ģimnāzija), vocational (profesionālās izglītības iestāde: programmes of 3-4 years "
            "after grade 9; its students' years are in vocational_years, never in pupil_years).",
            f"{VIIS} institution type", values=(*GENERAL_SCHOOL_TYPES, "vocational")),
        Col("grade_min", "int", "Lowest grade taught (vocational: 10, course 1 after grade 9).",
            f"{VIIS} education programmes", range=(1, 13)),
        Col("grade_max", "int", "Highest grade taught (vocational: 9 + the longest programme's courses, 12 or 13).",
            f"{VIIS} education programmes", range=(1, 13)),
        Col("pupils_2023", "int", "Pupils (vocational: students) enrolled in the last year of the data.",
            f"{VIIS} pupil register, count on 1 September", range=(0, 5000), optional=True),
    ), key=("school_id",), required=True),
    Table("pupils", "One row per pupil (time-invariant characteristics).", (
        Col("pupil_id", "str", "Pseudonymous pupil id (HMAC-SHA256 of the personal code, see pseudonymise).",
            f"{VIIS} personal code, pseudonymised on the evaluator's machine"),
        Col("sex", "str", "F or M.", f"{VIIS} pupil register", values=("F", "M")),
        Col("birth_year", "int", "Year of birth (adult learners of evening schools can be older).",
            f"{VIIS} pupil register (from the birth date)", range=(1985, 2025)),
        Col("language", "str", "Home/first language as recorded: latvian, russian, other.",
            f"{VIIS} pupil register", values=("latvian", "russian", "other")),
        Col("special_needs", "bool", "Enrolled in a special-needs programme or with a support-measure decision.",
            f"{VIIS} education programme code / pedagogical-medical commission"),
        Col("ses_index", "float", "Socio-economic proxy, standardised (mean about 0, SD about 1).",
            "Not in VIIS: link to municipal social-assistance or parental-education data (assumption)",
            range=(-10, 10), optional=True),
        Col("entry_year", "int", "First school year in general education in the data.", f"{VIIS} enrolment date",
            range=YEAR_RANGE),
        Col("exit_year", "Int64", "School year in which the pupil left (missing while enrolled).",
            f"{VIIS} exclusion date (atskaitīšanas datums)", nullable=True, range=YEAR_RANGE),
        Col("exit_status", "str", "How the pupil left general education: left_early, transferred (to another school "
            "outside the data or to a vocational school: then see vocational_years), graduated (missing while enrolled).",
            f"{VIIS} exclusion reason", nullable=True, values=("left_early", "transferred", "graduated")),
    ), key=("pupil_id",), required=True),
    Table("pupil_years", "One row per pupil and school year.", (
        Col("pupil_id", "str", "Pupil (see pupils).", f"{VIIS}"),
        Col("year", "int", "Calendar year in which the school year starts (2014 = 2014/15).",
            f"{VIIS} school year", range=YEAR_RANGE),
        Col("school_id", "str", "School on 1 September.", f"{VIIS} enrolment"),
        Col("grade", "int", "Grade 1-12.", f"{VIIS} class", range=(1, 12)),
        Col("absences", "int", "Lessons missed in the year (excused and unexcused).",
            f"{VIIS} e-register attendance (e-klase/Mykoob, aggregated)", range=(0, 2000)),
        Col("repeated", "bool", "True when the pupil repeats this grade (same grade as last year).",
            f"{VIIS} promotion decision (atstāts uz otru gadu)"),
        Col("status", "str", "Status at the end of the year: enrolled, left_early, transferred, graduated.",
            f"{VIIS} exclusion reason and date", values=_STATUS),
    ), key=("pupil_id", "year"), required=True),
    Table("assessments", "Diagnostic tests (grades 3, 6), centralised exams (9, 12) and classroom grades.", (
        Col("pupil_id", "str", "Pupil.", "VISC results database, linked by personal code"),
        Col("year", "int", "School year (the exam is taken in its spring).", "VISC", range=YEAR_RANGE),
        Col("test", "str", "diag3, diag6 (diagnostic tests), ce9, ce12 (centralised exams), class (year grade).",
            "VISC / e-register", values=_TESTS),
        Col("subject", "str", "math, latvian, english, science.", "VISC / e-register", values=_SUBJECTS),
        Col("score", "float", "Percent 0-100 for tests and exams; 1-10 for classroom grades.",
            "VISC results; e-register year grade", range=(0, 100)),
        Col("teacher_id", "str", "Subject teacher that year (missing for diag3).",
            f"{VIIS} teacher workload (tarifikācija) linked to the class", nullable=True),
    ), key=("pupil_id", "year", "test", "subject")),
    Table("teachers", "One row per teacher.", (
        Col("teacher_id", "str", "Pseudonymous teacher id.", f"{VIIS} teacher register, pseudonymised"),
        Col("sex", "str", "F or M.", f"{VIIS} teacher register", values=("F", "M")),
        Col("birth_year", "int", "Year of birth.", f"{VIIS} teacher register", range=(1930, 2010)),
        Col("subject", "str", "Main subject: primary (class teacher), math, latvian, english, science, other.",
            f"{VIIS} workload", values=("primary", "math", "latvian", "english", "science", "other")),
        Col("engagement", "float", "Professional engagement score 1-5 from the baseline teacher survey.",
            "Survey (assumption: not in VIIS)", range=(1, 5), optional=True),
        Col("im_alumnus", "bool", "Iespējamā misija alumnus or alumna.", "Iespējamā misija records, linked"),
        Col("im_cohort", "Int64", "Year the alumnus started the two IM years.", "Iespējamā misija records",
            nullable=True, range=(2008, 2030)),
        Col("growth_programme_start", "Int64", "School year the alumnus joined the growth programme.",
            "Iespējamā misija records", nullable=True, range=(2016, 2030)),
        Col("entry_year", "int", "First year in the data.", f"{VIIS}", range=YEAR_RANGE),
    ), key=("teacher_id",)),
    Table("teacher_years", "One row per teacher and school year.", (
        Col("teacher_id", "str", "Teacher.", f"{VIIS}"),
        Col("year", "int", "School year.", f"{VIIS}", range=YEAR_RANGE),
        Col("school_id", "str", "School of the main post.", f"{VIIS} workload"),
        Col("role", "str", "teacher, subject_lead, deputy_head, head.", f"{VIIS} post", values=_ROLES),
        Col("subject", "str", "Main subject.", f"{VIIS} workload",
            values=("primary", "math", "latvian", "english", "science", "other")),
        Col("years_of_service", "int", "Years of teaching service.", f"{VIIS} teacher register", range=(0, 60)),
        Col("in_growth_programme", "bool", "Taking part in the IM alumni growth programme this year.",
            "Iespējamā misija records"),
        Col("stayed", "bool", "Still teaching in the next school year (missing in the last year of a real "
            "extract; the synthetic data simulate it).", f"Derived from the next year's {VIIS} record",
            nullable=True),
        Col("im_alumnus", "bool", "Iespējamā misija alumnus (copied from teachers).", "Iespējamā misija records, linked",
            optional=True),
        Col("im_cohort", "Int64", "IM cohort (copied from teachers).", "Iespējamā misija records",
            nullable=True, range=(2008, 2030), optional=True),
        Col("growth_programme_start", "Int64", "Year the teacher joined the growth programme (copied from teachers).",
            "Iespējamā misija records", nullable=True, range=(2016, 2030), optional=True),
    ), key=("teacher_id", "year")),
    Table("vocational_years", "One row per vocational student and school year: the years after grade 9 of "
          "the pupils who went on to a vocational school (kept apart from pupil_years, whose grades are "
          "general education's: a course is not a grade).", (
        Col("pupil_id", "str", "Pupil (see pupils: exit_status 'transferred' in the grade-9 year).",
            f"{VIIS} vocational education learner register, linked by personal code"),
        Col("year", "int", "School year.", f"{VIIS} school year", range=YEAR_RANGE),
        Col("school_id", "str", "Vocational school (schools.type == 'vocational').", f"{VIIS} enrolment"),
        Col("course", "int", "Course (year of the programme) 1-4.", f"{VIIS} course (kurss)", range=(1, 4)),
        Col("programme_years", "int", "Length of the student's programme in years (3 or 4).",
            f"{VIIS} education programme code", range=(1, 4)),
        Col("absences", "int", "Lessons missed in the year.", f"{VIIS} e-register attendance", range=(0, 2000)),
        Col("repeated", "bool", "True when the student repeats this course.", f"{VIIS} promotion decision"),
        Col("status", "str", "Status at the end of the year: enrolled, left_early, transferred, graduated.",
            f"{VIIS} exclusion reason and date", values=_STATUS),
    ), key=("pupil_id", "year")),
    Table("pumpurs_schools", "PUMPURS participation of each school (general and vocational).", (
        Col("school_id", "str", "School.", "PUMPURS project database (IKVD)"),
        Col("rollout_year", "Int64", "First school year in PUMPURS (2017-2020); missing = never joined.",
            "PUMPURS project database", nullable=True, range=(2017, 2022)),
    ), key=("school_id",)),
    Table("risk_scores", "PUMPURS early-leaving risk score, per pupil and semester.", (
        Col("pupil_id", "str", "Pupil.", "PUMPURS database"),
        Col("year", "int", "School year.", "PUMPURS database", range=YEAR_RANGE),
        Col("semester", "int", "1 (autumn) or 2 (spring).", "PUMPURS database", range=(1, 2)),
        Col("school_id", "str", "School.", "PUMPURS database"),
        Col("score", "float", "Risk score 0-100 (higher = more risk); an extract that records risk types only "
            "(plan_risk_types) may leave it out.", "PUMPURS risk assessment", range=(0, 100), optional=True),
    ), key=("pupil_id", "year", "semester")),
    Table("support_plans", "Individual support plans offered when the semester-1 risk score reaches the threshold.", (
        Col("plan_id", "str", "Plan id.", "PUMPURS database"),
        Col("pupil_id", "str", "Pupil.", "PUMPURS database"),
        Col("year", "int", "School year of the plan.", "PUMPURS database", range=YEAR_RANGE),
        Col("semester", "int", "Semester the plan starts.", "PUMPURS database", range=(1, 2)),
        Col("school_id", "str", "School.", "PUMPURS database"),
        Col("risk_score", "float", "The risk score that triggered the plan.", "PUMPURS database", range=(0, 100)),
        Col("taken_up", "bool", "The pupil and family took up the plan.", "PUMPURS database"),
    ), key=("plan_id",)),
    Table("support_measures", "Measures delivered under taken-up plans, with their cost.", (
        Col("plan_id", "str", "Plan.", "PUMPURS database"),
        Col("pupil_id", "str", "Pupil.", "PUMPURS database"),
        Col("year", "int", "School year.", "PUMPURS database", range=YEAR_RANGE),
        Col("type", "str", "Measure type: teacher support, psychologist, social pedagogue (school); transport, "
            "meals, dormitory, learning materials (municipality).", "PUMPURS database", values=_MEASURES),
        Col("cost_eur", "float", "Cost in euro.", "PUMPURS financial reports", range=(0, 100_000)),
    ), key=("plan_id", "type")),
    Table("community_support", "Skola-kopienā individual support plans (ESF 4.2.3.1), 2022 onwards: one measure "
          "per pupil and year.", (
        Col("pupil_id", "str", "Pupil.", "Project records (assumption)"),
        Col("year", "int", "School year.", "Project records", range=YEAR_RANGE),
        Col("school_id", "str", "School.", "Project records"),
        Col("measure", "str", "literacy (grades 1-3), counselling (grades 1-12: psychologist, social or special "
            "pedagogue, librarian), subject_support (9th-graders who failed a grade-9 exam and repeat the year), "
            "mentor (from age 13).", "Project records",
            values=("literacy", "counselling", "subject_support", "mentor")),
        Col("hours", "int", "Hours of support in the year.", "Project records", range=(0, 2000)),
    ), key=("pupil_id", "year")),
    Table("skolas_soma", "Latvijas skolas soma activities per pupil and semester (2018 onwards).", (
        Col("pupil_id", "str", "Pupil.", f"{VIIS} Latvijas skolas soma events (assumption)"),
        Col("year", "int", "School year.", f"{VIIS}", range=YEAR_RANGE),
        Col("semester", "int", "1 or 2.", f"{VIIS}", range=(1, 2)),
        Col("school_id", "str", "School.", f"{VIIS}"),
        Col("activities", "int", "Activities attended in the semester.", f"{VIIS}", range=(0, 100)),
    ), key=("pupil_id", "year", "semester")),
    Table("wellbeing_pupils", "Yearly pupil wellbeing survey, grades 4-12 (2021 onwards).", (
        Col("pupil_id", "str", "Pupil.", "Education-quality monitoring survey (ESF 4.2.2.4)"),
        Col("year", "int", "School year.", "Survey", range=YEAR_RANGE),
        Col("school_id", "str", "School.", "Survey"),
        Col("wellbeing", "float", "Wellbeing score 0-100.", "Survey scale score", range=(0, 100)),
    ), key=("pupil_id", "year")),
    Table("wellbeing_teachers", "Yearly teacher wellbeing survey (2021 onwards).", (
        Col("teacher_id", "str", "Teacher.", "Education-quality monitoring survey (ESF 4.2.2.4)"),
        Col("year", "int", "School year.", "Survey", range=YEAR_RANGE),
        Col("school_id", "str", "School.", "Survey"),
        Col("wellbeing", "float", "Wellbeing score 0-100.", "Survey scale score", range=(0, 100)),
    ), key=("teacher_id", "year")),
    Table("teacher_practices", "Yearly teacher practice survey (2014 onwards): collaboration with colleagues.", (
        Col("teacher_id", "str", "Teacher.", "School self-evaluation survey (assumption)"),
        Col("year", "int", "School year.", "Survey", range=YEAR_RANGE),
        Col("school_id", "str", "School.", "Survey"),
        Col("collaboration", "float", "Collaboration score 0-100 (joint planning, peer lesson observation, "
            "sharing practice).", "Survey scale score", range=(0, 100)),
    ), key=("teacher_id", "year")),
    Table("plan_risk_types", "The risk types recorded for each PUMPURS support plan (learning, economic, family, "
          "social/health), one row per plan and type; a plan has at least one. The real database may record these "
          "types only, without a numeric risk score.", (
        Col("plan_id", "str", "Plan (see support_plans).", "PUMPURS database"),
        Col("pupil_id", "str", "Pupil.", "PUMPURS database"),
        Col("year", "int", "School year of the plan.", "PUMPURS database", range=YEAR_RANGE),
        Col("risk_type", "str", "learning, economic, family or social_health.", "PUMPURS risk assessment",
            values=("learning", "economic", "family", "social_health")),
    ), key=("plan_id", "risk_type")),
    Table("preschool_assessments", "Pre-school assessment (ESF 4.2.2.4 monitoring), age 5-6: numeracy and literacy "
          "in the school year before grade 1. A table of its own, not a test of assessments: the child is not yet a "
          "pupil of a school in the data, and the scores are kept per child, not per subject row.", (
        Col("pupil_id", "str", "Pupil (the child's pseudonymous id, the same as in grade 1 later).",
            "Education-quality monitoring system (ESF 4.2.2.4), linked by personal code (assumption)"),
        Col("year", "int", "School year of the assessment (the year before grade 1).", "Monitoring system",
            range=YEAR_RANGE),
        Col("municipality_id", "str", "Municipality of the pre-school institution.", "Monitoring system / VIIS"),
        Col("numeracy", "float", "Numeracy score 0-100.", "Monitoring system scale score", range=(0, 100)),
        Col("literacy", "float", "Literacy (Latvian) score 0-100.", "Monitoring system scale score", range=(0, 100)),
    ), key=("pupil_id", "year")),
    Table("methodologist_support", "Teacher professional support (ESF 4.2.2.3): when the state and municipal "
          "methodologist network started supporting each municipality's teachers, one row per municipality.", (
        Col("municipality_id", "str", "Municipality.", "ESF 4.2.2.3 project records (assumption)"),
        Col("start_year", "Int64", "First school year of methodologist support (missing = not within the data).",
            "ESF 4.2.2.3 project records / municipal education boards (assumption)", nullable=True,
            range=(2014, 2030)),
        Col("methodologists", "int", "Methodologist posts serving the municipality (0 before any support).",
            "ESF 4.2.2.3 project records (assumption)", range=(0, 500)),
    ), key=("municipality_id",)),
    Table("teacher_development", "Teachers' professional development (PD): one row per teacher, school year and "
          "activity type, with the hours in the year.", (
        Col("teacher_id", "str", "Teacher.", f"{VIIS} teacher PD records / ESF 4.2.2.3 project records (assumption)"),
        Col("year", "int", "School year.", f"{VIIS}", range=YEAR_RANGE),
        Col("type", "str", "course, mentoring, lesson_study, learning_community, observation_feedback.",
            "PD programme records (assumption)", values=_PD_TYPES),
        Col("hours", "float", "Hours of this activity type in the year (more than 0).",
            "PD certificates (apliecības) / project records", range=(0.1, 1000)),
        Col("with_methodologist", "bool", "Led or arranged by a methodologist of the support network (only from "
            "the municipality's start_year).", "ESF 4.2.2.3 project records (assumption)"),
    ), key=("teacher_id", "year", "type")),
    Table("lesson_observations", "Observed lessons: one row per teacher, school year and observer (the school "
          "head observes a share of teachers every year everywhere; methodologists only from the municipality's "
          "start_year). Scores on a 1-4 rubric.", (
        Col("teacher_id", "str", "Teacher observed.", "School lesson-observation records (assumption)"),
        Col("year", "int", "School year.", "Observation records", range=YEAR_RANGE),
        Col("school_id", "str", "School of the lesson.", "Observation records"),
        Col("observer", "str", "head (school head or deputy) or methodologist.", "Observation records",
            values=("head", "methodologist")),
        Col("score", "float", "Lesson score: mean of the rubric (1-4).", "Observation protocol", range=(1, 4)),
        Col("climate", "float", "Domain score: classroom climate (1-4).", "Observation protocol", range=(1, 4),
            optional=True),
        Col("instruction", "float", "Domain score: instruction (1-4).", "Observation protocol", range=(1, 4),
            optional=True),
        Col("assessment", "float", "Domain score: assessment for learning (1-4).", "Observation protocol",
            range=(1, 4), optional=True),
    ), key=("teacher_id", "year", "observer")),
)}


_PANDERA_TYPES = {"str": object, "int": "int64", "Int64": "Int64", "float": "float64", "bool": "bool"}


def _column_schema(col: Col) -> pa.Column:
    checks = []
    if col.range is not None:
        checks.append(pa.Check.in_range(col.range[0], col.range[1],
                                        error=f"outside the allowed range [{col.range[0]}, {col.range[1]}]"))
    if col.values is not None:
        checks.append(pa.Check.isin(list(col.values), error=f"not one of {list(col.values)}"))
    return pa.Column(None, checks=checks, nullable=col.nullable or col.optional, required=True, name=col.name)


def _table_checks(table: Table) -> list[pa.Check]:
    """Rules involving several columns of one table (element-wise, so rows are reported)."""
    checks = []
    if table.name == "assessments":
        checks.append(pa.Check(
            lambda d: (d["test"] != "class") | d["score"].isna() | d["score"].between(1, 10),
            name="class_grade_range", error="classroom grade outside 1-10"))
    if table.name == "pupils":
        checks.append(pa.Check(
            lambda d: d["exit_year"].isna() | d["entry_year"].isna() | (d["exit_year"] >= d["entry_year"]),
            name="exit_before_entry", error="leaves before entering: exit_year earlier than entry_year"))
    if table.name == "schools":
        checks.append(pa.Check(lambda d: d["grade_min"] <= d["grade_max"], name="grade_span",
                               error="grade_min greater than grade_max"))
        checks.append(pa.Check(lambda d: d["type"].eq("vocational") | (d["grade_max"] <= 12),
                               name="general_grades", error="grade above 12 in a general-education school"))
    if table.name == "vocational_years":
        checks.append(pa.Check(lambda d: d["course"] <= d["programme_years"], name="course_in_programme",
                               error="course beyond the programme's length (programme_years)"))
    return checks


def schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema (value checks) of one table; types are checked on load."""
    if table not in TABLES:
        raise KeyError(f"Unknown table {table!r}; known tables: {sorted(TABLES)}.")
    t = TABLES[table]
    return pa.DataFrameSchema(
        {c.name: _column_schema(c) for c in t.columns},
        checks=_table_checks(t),
        unique=list(t.key) if len(t.key) > 0 else None,
        name=t.name,
        strict=False,
    )


def empty_frame(table: str) -> pd.DataFrame:
    """An empty table with the right columns and types."""
    t = TABLES[table]
    return pd.DataFrame({c.name: pd.Series(dtype=_PANDERA_TYPES[c.dtype]) for c in t.columns})
