"""Every check a contract can declare, said as one sentence a person reads: "Quantity must be at
least 1", "Branch must be one of A, B, C", "Date must look like 1/5/2019 or 2019-01-05".

The sentence is built from the column (named as the user's file names it) and the check's
parameters (Pandera keeps them as the check's statistics). The report, the rejected-rows CSV, the
API and the CLI all show these words; the check's machine name stays in the report for scripts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandera.polars as pa

from backend.contracts.schema import ColumnSpec, DatasetSchema
from backend.contracts.types import DATE_FORMATS, DATETIME_FORMATS, TIME_FORMATS, ColumnType

FIELD_COUNT = "field_count"
NOT_NULL = "not_null"
UNIQUE = "unique"
ALREADY_LOADED = "already_loaded"
VALUES_SHOWN = 12  # an allowed-values list longer than this is said in part
_EXAMPLE = dt.datetime(2019, 1, 5, 13, 45, 0)


def number(value: Any) -> str:
    """A bound as a person writes it: 1, not 1.0; 0.5 as 0.5."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def listed(values: Iterable[Any], joiner: str = "or") -> str:
    """a, b or c."""
    said = [str(v) for v in values]
    if len(said) < 2:
        return "".join(said)
    return f"{', '.join(said[:-1])} {joiner} {said[-1]}"


def _render(fmt: str, when: dt.datetime) -> str:
    """One example of a strftime-like format (Polars' chrono flavour), with unpadded day and
    month where the format is not ISO (1/5/2019: the reader accepts them unpadded)."""
    if fmt == "epoch_s":
        return f"{int(when.replace(tzinfo=dt.UTC).timestamp())} (seconds since 1970)"
    if fmt == "epoch_ms":
        return f"{int(when.replace(tzinfo=dt.UTC).timestamp()) * 1000} (milliseconds since 1970)"
    iso = fmt.startswith("%Y-%m-%d")
    text = fmt.replace("%.f", "").replace("%z", "+00:00")
    if not iso:
        text = text.replace("%m", str(when.month)).replace("%d", str(when.day))
    return when.strftime(text)


def examples(kind: ColumnType, formats: tuple[str, ...]) -> list[str]:
    """What values of a date, time or datetime column look like, one per accepted format."""
    if kind is ColumnType.DATE:
        formats = formats or DATE_FORMATS
    elif kind is ColumnType.TIME:
        formats = formats or TIME_FORMATS
    else:
        formats = formats or (*DATETIME_FORMATS, *DATE_FORMATS[:2])
    # A date's time of day is midnight; the 25th when both day orders are accepted (25/1/2019
    # cannot be read as month 25).
    both_orders = any("%m/%d" in f for f in formats) and any("%d/%m" in f for f in formats)
    when = _EXAMPLE.replace(day=25) if both_orders else _EXAMPLE
    if kind is ColumnType.DATE:
        when = when.replace(hour=0, minute=0)
    found: list[str] = []
    for fmt in formats:
        example = _render(fmt, when)
        if example not in found:
            found.append(example)
    return found


def type_sentence(column: str, spec: ColumnSpec) -> str:
    kind = spec.type
    if kind is ColumnType.INTEGER:
        return f"{column} must be a whole number"
    if kind is ColumnType.FLOAT:
        return f"{column} must be a number (with . for decimals and no thousands separators)"
    if kind is ColumnType.BOOLEAN:
        return f"{column} must be true or false (yes/no and 1/0 are read too)"
    if kind in (ColumnType.DATE, ColumnType.TIME, ColumnType.DATETIME):
        return f"{column} must look like {listed(examples(kind, spec.formats))}"
    return f"{column} must be text"


def _shape(pattern: str) -> str | None:
    """An example of a pattern made only of digits and fixed characters (^\\d{3}-\\d{2}$ is
    123-45), or None when the pattern says more than that."""
    body = pattern.removeprefix("^").removesuffix("$")
    example, digit = "", 0
    for token in re.findall(r"\\d\{(\d+)\}|\\d|([A-Za-z0-9 _/.:,#-])|(.)", body):
        count, plain, other = token
        if other:
            return None
        if plain:
            example += plain
            continue
        for _ in range(int(count) if count else 1):
            digit = digit % 9 + 1
            example += str(digit)
    return example or None


def _matches(column: str, stats: Mapping[str, Any]) -> str:
    pattern = stats.get("pattern")
    pattern = str(getattr(pattern, "pattern", pattern))
    example = _shape(pattern)
    if example is not None:
        return f"{column} must look like {example} (digits where the example has digits)"
    return f"{column} must match the pattern {pattern}"


def _one_of(column: str, values: list[Any], negated: bool = False) -> str:
    verb = "must not be" if negated else "must be"
    if len(values) <= VALUES_SHOWN:
        return f"{column} {verb} one of {', '.join(str(v) for v in values)}"
    shown = ", ".join(str(v) for v in values[:VALUES_SHOWN])
    return f"{column} {verb} one of {len(values)} listed values ({shown}, ...)"


def _between(column: str, stats: Mapping[str, Any]) -> str:
    low, high = number(stats["min_value"]), number(stats["max_value"])
    with_low, with_high = stats.get("include_min", True), stats.get("include_max", True)
    if with_low and with_high:
        return f"{column} must be between {low} and {high}"
    above = f"at least {low}" if with_low else f"more than {low}"
    below = f"at most {high}" if with_high else f"less than {high}"
    return f"{column} must be {above} and {below}"


_BY_NAME: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "equal_to": lambda c, s: f"{c} must be {number(s['value'])}",
    "not_equal_to": lambda c, s: f"{c} must not be {number(s['value'])}",
    "greater_than": lambda c, s: f"{c} must be more than {number(s['min_value'])}",
    "greater_than_or_equal_to": lambda c, s: f"{c} must be at least {number(s['min_value'])}",
    "less_than": lambda c, s: f"{c} must be less than {number(s['max_value'])}",
    "less_than_or_equal_to": lambda c, s: f"{c} must be at most {number(s['max_value'])}",
    "in_range": _between,
    "isin": lambda c, s: _one_of(c, list(s["allowed_values"])),
    "notin": lambda c, s: _one_of(c, list(s["forbidden_values"]), negated=True),
    "str_matches": _matches,
    "str_contains": lambda c, s: f"{c} must contain text matching {s.get('pattern')}",
    "str_startswith": lambda c, s: f"{c} must start with {s['string']}",
    "str_endswith": lambda c, s: f"{c} must end with {s['string']}",
    "str_length": lambda c, s: _length(c, s),
    "unique_values_eq": lambda c, s: _one_of(c, sorted(s["values"], key=str)),
}


def _length(column: str, stats: Mapping[str, Any]) -> str:
    low, high = stats.get("min_value"), stats.get("max_value")
    if low is not None and high is not None:
        return f"{column} must have {number(low)} to {number(high)} characters"
    if low is not None:
        return f"{column} must have at least {number(low)} characters"
    return f"{column} must have at most {number(high)} characters"


def fallback(column: str | None, check: str) -> str:
    """A check this module has no sentence for: named in words, never as a call."""
    name = re.sub(r"\(.*\)$", "", check, flags=re.DOTALL).replace("_", " ").strip() or "a check"
    where = column if column is not None else "The row"
    return f"{where} does not pass the contract's check “{name}”"


def check_sentence(column: str, check: pa.Check) -> str:
    """A Pandera column check, said in words."""
    build = _BY_NAME.get(check.name or "")
    stats = dict(check.statistics or {})
    if build is not None:
        try:
            return build(column, stats)
        except (KeyError, TypeError):
            pass  # statistics of another shape: the fallback says it plainly
    return fallback(column, check.name or "")


def check_key(check: pa.Check) -> str:
    """The name Pandera gives a failed check in its failure cases (and the report keeps)."""
    return str(check.error or check.name)


Sentences = dict[tuple[str | None, str], str]


def sentences(schema: DatasetSchema, name: Callable[[str], str]) -> Sentences:
    """(schema column, check) -> sentence, for every check `schema` can fail; `name` gives the
    file's name of a schema column. Row-wide checks the contract says in words itself (derived
    columns) are added by the caller; others get the fallback."""
    found: Sentences = {(None, FIELD_COUNT): "The row must have as many fields as the header"}
    for spec in schema.columns:
        found[(spec.name, f"type:{spec.type.value}")] = type_sentence(name(spec.name), spec)
        found[(spec.name, NOT_NULL)] = f"{name(spec.name)} must not be empty"
    if schema.unique is not None:
        key = name(schema.unique)
        found[(schema.unique, UNIQUE)] = f"{key} must be unique in the file"
        found[(schema.unique, ALREADY_LOADED)] = (
            f"{key} must not repeat a value this datasource already holds"
        )
    if schema.checks is not None:
        pandera = schema.checks()
        for column, declared in pandera.columns.items():
            for check in declared.checks:
                found[(str(column), check_key(check))] = check_sentence(name(str(column)), check)
        for check in pandera.checks:
            found[(None, check_key(check))] = fallback(None, check.name or "")
    return found
