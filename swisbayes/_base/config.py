"""Reading configuration: one strict pydantic base, one TOML reader, one error formatter."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from swisbayes._base.errors import SpecError

PositiveFloat = Annotated[float, Field(gt=0)]


class Strict(BaseModel):
    # Unknown keys are errors, and so are nan and inf: no input of swisbayes means either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def read_toml(path: str | Path, kind: str) -> dict:
    """Parse a TOML file, with errors that name the file and say what kind of file it is.

    Parameters
    ----------
    path : str or pathlib.Path
    kind : str
        What the file is for ("spec", "pilots", ...), used in messages.

    Returns
    -------
    dict

    Raises
    ------
    SpecError
        If the file is missing, a directory, not UTF-8 text, not valid TOML (the message gives
        the line and column), or empty.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such {kind} file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory; expected a {kind} file (TOML)") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes().count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{path}: line {line} is not UTF-8 text (found the byte "
                        f"0x{exc.object[exc.start]:02x}); expected a TOML file saved as "
                        "UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: {toml_problem(exc)}") from None
    if not raw:
        example = _EXAMPLE_FILES.get(kind)
        like = f"keys and tables like those of {example}" if example else "keys and tables"
        raise SpecError(f"{path}: the {kind} file is empty (no keys or tables); expected {like}")
    return raw


_EXAMPLE_FILES = {"spec": "models/s47_primary.toml", "grid": "models/prior_grid.toml",
                  "pilots": "models/pilots.toml", "economic inputs": "models/economics.toml",
                  "joint spec": "models/joint.toml"}
"""A bundled file of each kind, named when a file of that kind is empty."""


def toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """``not valid TOML at line L, column C: what`` from a parser error."""
    text = str(exc)
    where = re.search(r"\s*\((at line \d+, column \d+|at end of document)\)$", text)
    what = text[:where.start()] if where else text
    hint = ""
    if what.startswith(("Cannot overwrite a value", "Cannot declare")):
        hint = "; is a key or table given twice?"
    elif where and where.group(1) == "at end of document":
        hint = "; is the file cut off?"
    place = f" {where.group(1)}" if where else ""
    return f"not valid TOML{place}: {what[:1].lower()}{what[1:]}{hint}"


def validated[M: BaseModel](model: type[M], raw: dict, source: str, kind: str = "spec") -> M:
    """``model`` validated from ``raw``, with every problem in one :class:`SpecError`.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The (strict) model to validate against.
    raw : dict
        The parsed file or table.
    source : str
        What the values came from (a file path), named in the message.
    kind : str, default "spec"
        What kind of file it is ("spec", "grid", "pilots file", ...), named in the message.

    Returns
    -------
    pydantic.BaseModel
        An instance of ``model``.

    Raises
    ------
    SpecError
        Listing each problem with its field path, what was found and what was expected.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [describe_error(model, err) for err in exc.errors()]
        raise SpecError(f"{source}: {len(lines)} problem(s) in the {kind}\n" + "\n".join(
            f"  - {line}" for line in lines)) from None


def describe_error(model: type[BaseModel], err: dict) -> str:
    """One pydantic error of ``model`` in plain words: the field path, what was found, what not."""
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        owner = model_at(model, loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else "?"
        section = ".".join(loc[:-1]) or "the top level"
        return f"unknown key '{loc[-1]}' in {section}; allowed keys: {allowed}"
    if err["type"] == "missing":
        return f"missing required key '{where}'"
    found = err.get("input")
    if err["type"] == "value_error" and isinstance(found, dict):
        return f"{where}: {err['msg']}"  # the message says what is wrong; the table is noise
    if err["type"] in {"model_type", "dict_type"}:  # not "instance of Priors": a TOML table
        return f"{where}: Input should be a table ([{where}]) (found {found!r})"
    return f"{where}: {err['msg']} (found {found!r})"


def model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The nested model at the field path ``loc`` of ``model`` (None if it is not a model)."""
    current: type[BaseModel] | None = model
    for key in loc:
        if current is None or key not in current.model_fields:
            return None
        annotation = current.model_fields[key].annotation
        # an optional table (``Model | None``) is its model
        optional = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        options = [annotation, *(typing.get_args(annotation) if optional else ())]
        current = next((a for a in options if isinstance(a, type) and issubclass(a, BaseModel)),
                       None)
    return current


__all__ = ["PositiveFloat", "read_toml"]
