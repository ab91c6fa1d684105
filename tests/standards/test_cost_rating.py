"""The EEF cost rating (evaltools.standards.eef_cost_rating): five bands of the cost per pupil per
year in pounds, euros converted at the documented ECB rate, limits inside their band."""
import pytest

from evaltools.core.errors import InputError
from evaltools.inference import cost_per_pupil
from evaltools.standards import eef_cost_rating
from evaltools.standards.cost_rating import GBP_PER_EUR, cost_bands


@pytest.mark.parametrize("gbp, code, pounds", [
    (0, "very_low", 1), (80, "very_low", 1), (80.01, "low", 2), (200, "low", 2), (200.5, "moderate", 3),
    (720, "moderate", 3), (721, "high", 4), (1200, "high", 4), (1200.01, "very_high", 5), (25_000, "very_high", 5)])
def test_bands_in_pounds(gbp, code, pounds):
    r = eef_cost_rating(gbp, "GBP")
    assert (r.code, r.pounds) == (code, pounds) and r.per_pupil_per_year_gbp == gbp
    assert r.band_low_gbp <= gbp and (r.band_high_gbp is None or gbp <= r.band_high_gbp)


def test_euros_are_converted_at_the_documented_rate_and_the_bands_have_a_source():
    assert GBP_PER_EUR == pytest.approx(0.86979)
    at_limit = 80 / GBP_PER_EUR  # exactly £80 in euros
    assert eef_cost_rating(at_limit).code == "very_low" and eef_cost_rating(at_limit + 0.05).code == "low"
    r = eef_cost_rating(316.71)  # the dropout study's cost per supported pupil-year
    assert r.code == "moderate" and r.per_pupil_per_year_gbp == pytest.approx(316.71 * GBP_PER_EUR)
    assert list(cost_bands()["upper_gbp"].dropna()) == [80, 200, 720, 1200]
    assert r.to_dict()["type"] == "eef_cost_rating"


def test_reads_the_cost_per_pupil_per_year_of_a_cost_result():
    c = cost_per_pupil(total_cost=796_207.64, n_pupils=1589, years=2514 / 1589)
    r = eef_cost_rating(c)
    assert r.per_pupil_per_year == pytest.approx(796_207.64 / 2514) and r.currency == "EUR"


def test_other_currencies_need_a_rate():
    with pytest.raises(InputError, match="gbp_per_unit"):
        eef_cost_rating(100, "USD")
    assert eef_cost_rating(100, "USD", gbp_per_unit=0.8).per_pupil_per_year_gbp == pytest.approx(80)
    with pytest.raises(InputError):
        eef_cost_rating(-1)


def test_the_card_states_the_bands_of_the_rating():
    """The explanation under the card's cost rating quotes the bands the rating uses."""
    import re

    from evaltools.report import i18n
    from evaltools.standards.cost_rating import cost_bands

    upper = [int(x) for x in cost_bands()["upper_gbp"].dropna()]
    entry = i18n.catalogue()["headline.cost_rating_explain"]
    for lang in ("en", "lv"):
        text = entry[lang].split(":", 1)[1]  # the bands, after "EEF bands per pupil per year:"
        quoted = [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\d|\d", text)]
        assert quoted == upper, (lang, quoted)
