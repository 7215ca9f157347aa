"""Data validation with Great Expectations: one suite, derived from the data contract.

Every batch that enters training, batch scoring or monitoring goes through :func:`validate`.
A failure names each broken expectation, its column, the share of bad rows and a few examples,
and writes a JSON result and an HTML summary under the reports folder.
"""

import html
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..contract.data_contract import DataContract, ExtraFields, FeatureType, Limits
from ..contract.inference import DATE_TIME
from ..contract.schemas import BOOLEAN_WORDS
from ..core.errors import UserError
from .custom_expectations import custom_expectations

NUMBER = r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$"
WHOLE_NUMBER = r"^\s*[-+]?\d+(?:\.0*)?\s*$"
AS_WRITTEN = "__as_written"
"""Suffix of the shadow columns that keep numbers as written, to check their type row by row."""
EXAMPLES = 5
PARTIAL = 20
"""Examples Great Expectations keeps per expectation (its partial_unexpected_count)."""
UNIQUE = "is not unique"
SHOWN_COLUMNS = 10


@dataclass(frozen=True)
class Failure:
    """One expectation that some rows (or the table) do not meet."""

    rule: str
    column: str | None
    bad_rows: int | None
    rows: int
    examples: list[str] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        """Share of rows that break the rule (None for table-level rules)."""
        return None if self.bad_rows is None else self.bad_rows / max(self.rows, 1)

    def describe(self) -> str:
        """One line for people."""
        where = self.column or "table"
        amount = (
            ""
            if self.share is None
            else f": {self.bad_rows} of {self.rows} rows ({self.share:.1%})"
        )
        examples = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{where} {self.rule}{amount}{examples}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one batch."""

    source: str
    rows: int
    expectations: int
    seconds: float
    failures: list[Failure]

    warnings: list[Failure] = field(default_factory=list)
    """Values outside *observed* limits: kept, and failing only past ``max_out_of_range_share``."""

    max_out_of_range_share: float = 1.0
    """The contract's tolerance for values outside observed limits, per feature."""

    ignored_columns: list[str] = field(default_factory=list)
    """Columns the contract does not name, left out (APP_EXTRA_FIELDS=ignore)."""

    @property
    def over_limit(self) -> list[Failure]:
        """Observed limits broken by more rows than the contract tolerates."""
        return [w for w in self.warnings if (w.share or 0) > self.max_out_of_range_share]

    @property
    def passed(self) -> bool:
        """Whether every declared rule held and every observed one within the tolerance."""
        return not self.failures and not self.over_limit

    def _notes(self) -> str:
        tolerance = f"{self.max_out_of_range_share:.0%}"
        notes = [
            f"  ~ {w.describe()} (observed limit: "
            + (
                f"more than the contract's max_out_of_range_share of {tolerance})"
                if w in self.over_limit
                else f"kept, within max_out_of_range_share {tolerance})"
            )
            for w in self.warnings
        ]
        if self.ignored_columns:
            notes.append(
                f"  ~ ignored {len(self.ignored_columns)} column(s) the contract does not name: "
                f"{', '.join(self.ignored_columns[:SHOWN_COLUMNS])}"
                f"{' ...' if len(self.ignored_columns) > SHOWN_COLUMNS else ''} "
                "(APP_EXTRA_FIELDS=ignore)"
            )
        return "".join(f"\n{note}" for note in notes)

    def summary(self) -> str:
        """What failed, for the terminal and the logs."""
        if self.passed:
            return (
                f"{self.source}: passed, {self.rows} rows, {self.expectations} expectations "
                f"({self.seconds:.2f} s){self._notes()}"
            )
        lines = [f"  - {failure.describe()}" for failure in self.failures]
        broken = len(self.failures) + len(self.over_limit)
        failed = f"{self.source}: {broken} expectation(s) failed:\n"
        return failed + "\n".join(lines) + self._notes()

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``<source>.json`` for machines and ``<source>.html`` for people."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(self.source).stem
        document = {**asdict(self), "passed": self.passed}
        json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
        json_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        html_path.write_text(self._html(), encoding="utf-8")
        return json_path, html_path

    def _html(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.column or 'table')}</td><td>{html.escape(f.rule)}</td>"
            f"<td>{'' if f.share is None else f'{f.share:.1%}'}</td>"
            f"<td>{html.escape(', '.join(f.examples))}</td></tr>"
            for f in [*self.failures, *self.warnings]
        )
        broken = len(self.failures) + len(self.over_limit)
        verdict = "passed" if self.passed else f"{broken} expectation(s) failed"
        return (
            "<!doctype html><meta charset='utf-8'><title>Validation of "
            f"{html.escape(self.source)}</title><h1>{html.escape(self.source)}: {verdict}</h1>"
            f"<p>{self.rows} rows, {self.expectations} expectations, {self.seconds:.2f} s.</p>"
            "<table border='1' cellpadding='4'><tr><th>Column</th><th>Rule</th>"
            f"<th>Bad rows</th><th>Examples</th></tr>{rows}</table>"
        )


class DataValidationError(UserError):
    """A batch broke the contract; nothing downstream may use it."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.summary())
        self.report = report


def _as_written(column: pd.Series) -> pd.Series:
    """Values as text (missing stays missing); text columns are used as they are."""
    if column.dtype == object:
        return column.where(column.notna(), None)
    return column.astype(str).where(column.notna(), None)


def _as_categories(column: pd.Series) -> pd.Series:
    """Text as categories, in order of appearance; missing stays missing.

    Great Expectations copies the batch for each expectation and hashes it for each run: codes
    cost a fraction of strings, ids included. Unsorted, because sorting a million ids costs more
    than checking them.
    """
    codes, uniques = pd.factorize(column if column.dtype == object else _as_written(column))
    categories = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(uniques))
    return pd.Series(categories, index=column.index, name=column.name)


def _needs_type_check(column: pd.Series, kind: FeatureType) -> bool:
    """Whether the file's own parsing leaves doubt about the type (text, or floats for integers)."""
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_float_dtype(column):
        return kind is FeatureType.INTEGER
    return True


def prepare(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The batch as the suite checks it: numbers parsed, text as categories, shadow columns.

    Shadow columns keep numbers as written. They exist only where the type must be checked row
    by row: text columns, or floats where the contract wants whole numbers.
    """
    prepared: dict[str, pd.Series] = {}
    numeric = {
        f.name: f.type
        for f in contract.features
        if f.type in (FeatureType.INTEGER, FeatureType.NUMBER)
    }
    if contract.target.classes is None:
        numeric[contract.target.name] = FeatureType.NUMBER
    lowered = {f.name for f in contract.features if f.type is FeatureType.BOOLEAN}
    for column in frame.columns:
        name = str(column)
        if name in numeric:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if not isinstance(numbers.dtype, np.dtype):
                # A nullable extension type (Int64 from Parquet or a database): Great
                # Expectations checks ranges of numpy dtypes vectorised, others value by value.
                numbers = numbers.astype("float64")
            prepared[name] = numbers
            if _needs_type_check(frame[column], numeric[name]):
                prepared[name + AS_WRITTEN] = _as_written(frame[column])
        elif name in lowered:
            prepared[name] = _as_categories(_as_written(frame[column]).str.strip().str.lower())
        else:
            prepared[name] = _as_categories(frame[column])
    # Built at once, the frame holds one block per type: Great Expectations copies it per
    # expectation, and a frame grown column by column is re-consolidated on every copy.
    return pd.DataFrame(prepared, index=frame.index)


def _column_expectations(contract: DataContract, present: set[str]) -> list[Any]:  # noqa: PLR0912 - one branch per type
    import great_expectations.expectations as gxe  # noqa: PLC0415 - slow import, only when validating

    checks: list[Any] = []

    def rule(
        expectation: type,
        text: str,
        named: str,
        soft: bool = False,
        **kwargs: Any,  # noqa: ANN401
    ) -> None:
        meta = {"rule": text, "column": named, "soft": soft}
        checks.append(expectation(meta=meta, **kwargs))

    specs = [
        (f.name, f.type, f.nullable, f.minimum, f.maximum, f.values, f.limits)
        for f in contract.features
    ]
    target = contract.target
    target_type = FeatureType.CATEGORY if target.classes else FeatureType.NUMBER
    specs.append(
        (
            target.name,
            target_type,
            True,  # rows without a label are left out of training, not refused
            target.minimum,
            target.maximum,
            target.classes,
            target.limits,
        )
    )
    for name, kind, nullable, low, high, values, limits in specs:
        soft = limits is Limits.OBSERVED
        if name not in present:
            continue
        numeric = kind in (FeatureType.INTEGER, FeatureType.NUMBER)
        written = name + AS_WRITTEN if name + AS_WRITTEN in present else name
        if not nullable:
            rule(gxe.ExpectColumnValuesToNotBeNull, "is missing", name, column=written)
        if numeric:
            if written != name:
                whole = kind is FeatureType.INTEGER
                if not whole or soft:
                    rule(
                        gxe.ExpectColumnValuesToMatchRegex,
                        "is not a number",
                        name,
                        column=written,
                        regex=NUMBER,
                    )
                if whole:  # observed: whole numbers were seen; declared: only they make sense
                    rule(
                        gxe.ExpectColumnValuesToMatchRegex,
                        "is not a whole number",
                        name,
                        soft,
                        column=written,
                        regex=WHOLE_NUMBER,
                    )
            if low is not None or high is not None:
                if low is None:
                    broken = f"is above {high:g}"
                elif high is None:
                    broken = f"is below {low:g}"
                else:
                    broken = f"is outside [{low:g}, {high:g}]"
                rule(
                    gxe.ExpectColumnValuesToBeBetween,
                    broken,
                    name,
                    soft,
                    column=name,
                    min_value=low,
                    max_value=high,
                )
        elif kind is FeatureType.BOOLEAN:
            rule(
                gxe.ExpectColumnValuesToBeInSet,
                "is not true or false (or yes/no, y/n, 1/0)",
                name,
                column=name,
                value_set=list(BOOLEAN_WORDS),
            )
        elif kind is FeatureType.DATETIME:
            rule(
                gxe.ExpectColumnValuesToMatchRegex,
                "is not a date-time in ISO 8601 (such as 2024-05-31 or 2024-05-31T14:00:00)",
                name,
                column=name,
                regex=DATE_TIME,
            )
        elif limits is not Limits.OPEN:  # an open category's other values are ordinary
            rule(
                gxe.ExpectColumnValuesToBeInSet,
                f"is not one of {', '.join(values or ())}",
                name,
                soft,
                column=name,
                value_set=list(values or ()),
            )
    if contract.id_column and contract.id_column in present:
        rule(
            gxe.ExpectColumnValuesToNotBeNull,
            "is missing",
            contract.id_column,
            column=contract.id_column,
        )
        rule(
            gxe.ExpectColumnValuesToBeUnique,
            UNIQUE,
            contract.id_column,
            column=contract.id_column,
        )
    return checks


def expectations(
    contract: DataContract, present: set[str], require_target: bool, require_id: bool = True
) -> list[Any]:
    """The suite for a batch with columns ``present``: derived from the contract, plus yours."""
    import great_expectations.expectations as gxe  # noqa: PLC0415

    id_columns = [contract.id_column] if contract.id_column and require_id else []
    required = [*id_columns, *contract.feature_names]
    if require_target:
        required.append(contract.target.name)
    checks: list[Any] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"rule": "has no rows"}),
        *(
            gxe.ExpectColumnToExist(
                column=name, meta={"rule": "is missing from the file", "column": name}
            )
            for name in required
        ),
        *_column_expectations(contract, present),
        *custom_expectations(contract),
    ]
    return checks


def validate(
    frame: pd.DataFrame,
    contract: DataContract,
    *,
    source: str,
    require_target: bool = False,
    require_id: bool = True,
    extra_columns: ExtraFields = ExtraFields.IGNORE,
) -> ValidationReport:
    """Check ``frame`` against the contract's suite with Great Expectations.

    ``require_id=False`` is for batches without the id column, such as logged traffic. Columns
    the contract does not name are left out and listed, or fail the batch when
    ``extra_columns`` is ``refuse``.
    """
    return validate_chunks(
        [frame],
        contract,
        source=source,
        require_target=require_target,
        require_id=require_id,
        extra_columns=extra_columns,
    )


@dataclass
class _Tally:
    """One broken expectation, summed over the chunks of a batch."""

    soft: bool
    rule: str
    column: str | None
    shown: str
    """The rule as the report words it (with Great Expectations' error, if any)."""
    bad_rows: int | None
    examples: list[str]


@dataclass(frozen=True)
class _Suite:
    """Expectations and the whole-frame batch they judge.

    They run on the batch itself, not through a stored validation definition, whose every run
    checks the context's store and stores its result (a tenth of a small batch's validation).
    """

    batches: Any
    expectations: Any


def validate_chunks(
    chunks: Iterable[pd.DataFrame],
    contract: DataContract,
    *,
    source: str,
    require_target: bool = False,
    require_id: bool = True,
    extra_columns: ExtraFields = ExtraFields.IGNORE,
) -> ValidationReport:
    """:func:`validate` for a batch read in chunks: the same report as for the whole batch.

    Each chunk runs the suite; counts add up, the examples are the batch's first. Ids must be
    unique across chunks too: their 64-bit hashes are kept (8 bytes a row) and, when some
    repeat, ``chunks`` is read once more for examples. The team's own table-wide expectations
    (a mean, a row count) judge each chunk (``APP_CHUNK_ROWS`` sets its size).
    """
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    started = time.perf_counter()
    known = set(contract.columns)
    id_column = contract.id_column
    context = _ephemeral_context()
    definitions: dict[frozenset[str], _Suite] = {}
    suite: Counter[str] = Counter()
    tallies: dict[tuple[str, str | None], _Tally] = {}
    extra: dict[str, None] = {}
    id_hashes: list[npt.NDArray[np.uint64]] = []
    rows = parts = 0
    for chunk in chunks:
        extra |= dict.fromkeys(str(column) for column in chunk.columns if column not in known)
        prepared = prepare(chunk[[column for column in chunk.columns if column in known]], contract)
        checks = expectations(contract, set(prepared.columns), require_target, require_id)
        suite |= Counter(_identity(check) for check in checks)
        for tally in _broken(
            context, definitions, prepared, checks, id_column=id_column, part=parts
        ):
            known_tally = tallies.setdefault((tally.rule, tally.column), tally)
            if known_tally is not tally:
                known_tally.bad_rows = _added(known_tally.bad_rows, tally.bad_rows)
                known_tally.examples += tally.examples[: PARTIAL - len(known_tally.examples)]
        if id_column and id_column in chunk:
            id_hashes.append(_hashes(chunk[id_column]))
        rows += len(chunk)
        parts += 1
    if parts > 1 and id_column and id_hashes:
        tallies.pop((UNIQUE, id_column), None)
        repeated, count = _repeated(np.concatenate(id_hashes))
        if count:
            examples = _repeated_ids(chunks, id_column, repeated)
            tallies[(UNIQUE, id_column)] = _Tally(False, UNIQUE, id_column, UNIQUE, count, examples)
    order = {key: place for place, key in enumerate(_suite_order(contract, tallies))}
    found = sorted(tallies.values(), key=lambda tally: order[(tally.rule, tally.column)])
    failures = [
        Failure(
            tally.shown,
            tally.column,
            tally.bad_rows,
            rows,
            list(dict.fromkeys(tally.examples))[:EXAMPLES],
        )
        for tally in found
    ]
    extras = list(extra)
    return ValidationReport(
        source=source,
        rows=rows,
        expectations=sum(suite.values()),
        seconds=round(time.perf_counter() - started, 3),
        failures=[f for f, t in zip(failures, found, strict=True) if not t.soft]
        + [
            Failure(
                "is not in the contract: add it to the contract, drop it from the file, or set "
                "APP_EXTRA_FIELDS=ignore",
                name,
                None,
                rows,
            )
            for name in (extras if extra_columns is ExtraFields.REFUSE else [])
        ],
        warnings=[f for f, t in zip(failures, found, strict=True) if t.soft],
        max_out_of_range_share=contract.max_out_of_range_share,
        ignored_columns=extras if extra_columns is ExtraFields.IGNORE else [],
    )


def _added(first: int | None, second: int | None) -> int | None:
    return None if first is None or second is None else first + second


def _identity(check: Any) -> str:  # noqa: ANN401 - Great Expectations' expectation types
    meta = check.meta or {}
    column = meta.get("column", getattr(check, "column", None))
    return f"{check.expectation_type}|{meta.get('rule')}|{column}"


def _key(config: Any) -> tuple[str, str | None]:  # noqa: ANN401
    """(rule, column) of an expectation's configuration: how chunks' failures are matched."""
    meta = config.meta or {}
    return meta.get("rule", config.type), meta.get("column", config.kwargs.get("column"))


def _suite_order(
    contract: DataContract, tallies: dict[tuple[str, str | None], _Tally]
) -> list[tuple[str, str | None]]:
    """The failures' keys in the order of the contract's suite (then the rest as found)."""
    everything = {*contract.columns, *(name + AS_WRITTEN for name in contract.columns)}
    suite = [_key(check.configuration) for check in expectations(contract, everything, True)]
    return list(dict.fromkeys([key for key in suite if key in tallies] + list(tallies)))


def _id_keys(ids: pd.Series) -> pd.Series:
    """Ids as text that is the same whichever chunk types them (7 and 7.0 are one id)."""
    present = ids[ids.notna()]
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        return present.astype("float64").astype(str)
    return present.astype(str)


def _hashes(ids: pd.Series) -> "npt.NDArray[np.uint64]":
    hashes = pd.util.hash_pandas_object(_id_keys(ids), index=False)
    return np.asarray(hashes, dtype=np.uint64)


def _repeated(hashes: "npt.NDArray[np.uint64]") -> tuple["npt.NDArray[np.uint64]", int]:
    """The hashes seen more than once, and how many rows carry them."""
    values, counts = np.unique(hashes, return_counts=True)
    return np.asarray(values[counts > 1], dtype=np.uint64), int(counts[counts > 1].sum())


def _repeated_ids(
    chunks: Iterable[pd.DataFrame], id_column: str, repeated: "npt.NDArray[np.uint64]"
) -> list[str]:
    """The first rows' repeated ids, as Great Expectations shows them (id: value)."""
    examples: list[str] = []
    for chunk in chunks:
        ids = chunk[id_column]
        keys = _id_keys(ids)
        hit = pd.Series(np.isin(_hashes(ids), repeated), index=keys.index)
        shown = _as_written(ids[hit[hit].index]).astype(str)
        examples += [f"{value}: {value}" for value in shown][: PARTIAL - len(examples)]
        if len(examples) >= PARTIAL:
            break
    return examples


def _broken(
    context: Any,  # noqa: ANN401 - Great Expectations' context types are internal
    definitions: dict[frozenset[str], _Suite],
    prepared: pd.DataFrame,
    checks: list[Any],
    *,
    id_column: str | None,
    part: int,
) -> list[_Tally]:
    """The expectations ``prepared`` breaks, with counts and examples.

    Most batches pass: the first run only asks whether each expectation holds, which spares
    Great Expectations collecting examples and their ids for every column. Only the broken
    expectations run again for what the report shows. The first run's definition is kept for
    the next chunk with the same columns.
    """
    columns = frozenset(prepared.columns)
    if columns not in definitions:
        definitions[columns] = _definition(context, f"verdicts-{len(definitions)}", checks)
    verdicts = _run(definitions[columns], prepared, {"result_format": "BOOLEAN_ONLY"})
    broken = [item.expectation_config for item in verdicts if not item.success]
    if not broken:
        return []
    index = [id_column] if id_column in prepared else []
    details = _run(
        _definition(context, f"details-{part}", broken),
        prepared,
        {"result_format": "SUMMARY", "unexpected_index_column_names": index},
    )
    return [_tally(item, index[0] if index else None) for item in details if not item.success]


def _ephemeral_context() -> Any:  # noqa: ANN401 - Great Expectations' context types are internal
    import great_expectations as gx  # noqa: PLC0415

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    context.data_sources.add_pandas("batches").add_dataframe_asset("batch")
    return context


def _definition(context: Any, name: str, checks: list[Any]) -> _Suite:  # noqa: ANN401
    """``checks`` as a suite on a whole frame as one batch."""
    import great_expectations as gx  # noqa: PLC0415

    asset = context.data_sources.get("batches").get_asset("batch")
    return _Suite(
        asset.add_batch_definition_whole_dataframe(name),
        gx.ExpectationSuite(name=name, expectations=checks),
    )


def _run(suite: _Suite, prepared: pd.DataFrame, result_format: dict[str, Any]) -> list[Any]:
    """The results of ``suite`` on ``prepared``, in any order."""
    batch = suite.batches.get_batch(batch_parameters={"dataframe": prepared})
    return list(batch.validate(suite.expectations, result_format=result_format).results)


def _shown(value: object) -> str:
    """An example value as people write it (a whole number without ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tally(item: Any, id_column: str | None) -> _Tally:  # noqa: ANN401
    config = item.expectation_config
    meta = config.meta or {}
    outcome = item.result or {}
    examples = [_shown(value) for value in outcome.get("partial_unexpected_list") or []]
    indexes = outcome.get("partial_unexpected_index_list") or []
    if id_column and indexes and isinstance(indexes[0], dict):
        examples = [
            f"{index.get(id_column)}: {value}"
            for index, value in zip(indexes, examples, strict=False)
        ]
    error = (
        (item.exception_info or {}).get("exception_message")
        if isinstance(item.exception_info, dict)
        else None
    )
    rule, column = _key(config)
    return _Tally(
        soft=bool(meta.get("soft")),
        rule=rule,
        column=column,
        shown=rule + (f" ({error})" if error else ""),
        bad_rows=outcome.get("unexpected_count"),
        examples=examples[:PARTIAL],
    )
