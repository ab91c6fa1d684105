"""The privacy gate's pattern for Latvian personal codes (evaltools.report.privacy)."""
from evaltools.report.privacy import find_identifiers


def test_personal_codes_are_found_in_text():
    assert find_identifiers("kods 010203-12345, cits 32123412345.", set()) == ["010203-12345", "32123412345"]
    assert find_identifiers("Personas kods: 010942-53253.", set()) == ["010942-53253"]


def test_the_decimals_of_a_number_are_not_a_personal_code():
    # 11 decimals that start like a date (01.09.42) once made a cost CI fail the gate
    assert find_identifiers('{"ci_low": 5556.01094253253, "x": -0.01094253253}', set()) == []
    assert find_identifiers("0101011234567", set()) == []  # 13 digits: not a code


def test_identifier_values_are_found_as_whole_tokens():
    assert find_identifiers("pupil P00ab12cd3 left", {"P00ab12cd3"}) == ["P00ab12cd3"]
    assert find_identifiers("pupil P00ab12cd3x left", {"P00ab12cd3"}) == []
