"""The series suite's loaders (benchmarks/series_loaders.py): gap filling (R's NAs in
presidents and airquality's Solar.R become values between their neighbours; one at an end is
refused), the reading of Lütkepohl's data files (cons-de, ishort-de) and of the lists in
statsmodels' test modules (austourists, saudioil), and the New York Fed's nowcast data."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.series_loaders import filled, parse_lutkepohl
from keras_lstm_opt.errors import DataError


def test_gaps_inside_are_filled_on_the_line_between_their_neighbours() -> None:
    values = np.array([1.0, np.nan, np.nan, 4.0, 5.0, np.nan, 9.0])
    assert filled(values, "x").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 9.0]
    whole = np.array([2.0, 3.0])
    assert filled(whole, "x").tolist() == [2.0, 3.0]


@pytest.mark.parametrize("values", [[np.nan, 1.0, 2.0], [1.0, 2.0, np.nan], []])
def test_a_gap_at_either_end_or_no_values_is_refused_naming_the_series(values) -> None:
    with pytest.raises(DataError, match="R presidents: a missing value first or last"):
        filled(np.array(values, np.float64), "R presidents")


E4 = """/*quarterly, unadjusted, West German
real per capita disposable income,
personal consumption expenditures,
1960Q1-1987Q4;
source: Deutsches Institut fuer Wirtschaftsforschung, Berlin
*/

<1960 Q1>
inc               cons
1684.6080        1505.3198
1757.2068        1632.8338\r
1842.7211        1655.8021

"""


def test_a_lutkepohl_file_is_read_from_its_first_row_on_its_own_calendar() -> None:
    times, values = parse_lutkepohl(E4, "cons", "e4.dat")
    assert times == ["1960-01-01", "1960-04-01", "1960-07-01"]
    assert values.tolist() == [1505.3198, 1632.8338, 1655.8021]  # the first row too
    monthly = E4.replace("<1960 Q1>", "<1987 M11>")
    times, values = parse_lutkepohl(monthly, "inc", "e5.dat")
    assert times == ["1987-11-01", "1987-12-01", "1988-01-01"]
    assert values.tolist() == [1684.6080, 1757.2068, 1842.7211]
    times, _ = parse_lutkepohl(E4.replace("<1960 Q1>", "<1961 Q3>"), "inc", "e4.dat")
    assert times[0] == "1961-07-01"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (E4.replace("<1960 Q1>", "1960 Q1"), "no first period like <1960 Q1>"),
        (E4.replace("cons\n", "consumption\n"), "no column 'cons' \\(inc consumption\\)"),
        (E4.replace("1632.8338", ""), "row 2 has 1 values, not 2"),
        (E4.replace("1505.3198", "n/a"), "a value of cons is not a number"),
        (E4.split("<1960 Q1>")[0] + "<1960 Q1>\ninc cons\n", "no rows after the columns"),
    ],
)
def test_a_lutkepohl_file_not_as_expected_is_one_error_naming_it(text, message) -> None:
    with pytest.raises(DataError, match=f"e4.dat: {message}"):
        parse_lutkepohl(text, "cons", "e4.dat")


def test_a_statsmodels_test_file_that_is_gone_is_one_error_naming_it() -> None:
    pytest.importorskip("statsmodels", reason="the examples extra")
    from benchmarks.series_loaders import sm_file

    with pytest.raises(DataError, match=r"statsmodels \S+ has no tsa/nope\.csv \(the data of its"):
        sm_file("tsa/nope.csv")
    assert sm_file("tsa/vector_ar/tests/results/e4.dat").is_file()


FIXTURES = """
import pytest

1 / 0  # parsed, never run


@pytest.fixture
def austourists():
    # a comment
    data = [
        30.05,
        -19,
        25.3e1,
    ]
    index = pd.date_range("1999-01-01", "2015-12-31", freq="QE")
    return pd.Series(data, index)


def oildata():
    data = [111.0, "n/a"]


def twice():
    data = np.array([1.0, 2.0])


def empty():
    index = [1, 2]
"""


def test_a_fixtures_list_is_read_from_the_source_without_running_it() -> None:
    from benchmarks.series_loaders import literal_list

    values = literal_list(FIXTURES, "austourists", "data", "test_ets.py")
    assert values.tolist() == [30.05, -19.0, 253.0] and values.dtype == np.float64
    assert literal_list(FIXTURES, "empty", "index", "test_ets.py").tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "function", "message"),
    [
        (FIXTURES, "oildata", "oildata's data is not a list of numbers"),
        (FIXTURES, "twice", "twice's data is not a list of numbers"),
        (FIXTURES, "empty", "empty assigns no data"),
        (FIXTURES, "nope", "0 functions named nope, expected one"),
        (FIXTURES + FIXTURES, "austourists", "2 functions named austourists, expected one"),
        ("def austourists(:\n", "austourists", "not Python"),
    ],
)
def test_a_fixture_not_as_expected_is_one_error_naming_the_file(text, function, message) -> None:
    from benchmarks.series_loaders import literal_list

    with pytest.raises(DataError, match=f"test_ets.py: {message}"):
        literal_list(text, function, "data", "test_ets.py")


def test_statsmodels_lists_and_nowcast_columns_are_checked_before_use() -> None:
    pytest.importorskip("statsmodels", reason="the examples extra")
    from benchmarks.series_loaders import frbny, sm_test_list

    path = "tsa/tests/test_exponential_smoothing.py"
    with pytest.raises(DataError, match=f"{path}: austourists's data has 68 values, expected 67"):
        sm_test_list(path, "austourists", 67)
    times, values = frbny("JTSJOL")  # job openings: from December 2000, not 1985
    assert times[0] == "2000-12-01" and len(times) == len(values)
    assert np.isfinite(values).all()
    with pytest.raises(DataError, match="GDPC1 has 250 months without a value"):
        frbny("GDPC1")  # quarterly
    with pytest.raises(DataError, match="no column 'NOPE'"):
        frbny("NOPE")
