"""Where the default analysis files are: the working directory's ``models/``, else the shipped ones.

The package ships the project's ``models/`` folder (specs, prior grid, pilots, economics) as
``swisbayes/specs``, built from that one source, so an installed wheel finds its defaults from
any directory. A ``models/`` folder in the working directory takes precedence: that is where a
user edits their own copies.
"""

from __future__ import annotations

from pathlib import Path

from swisbayes._base.errors import SpecError

LOCAL_DIR = Path("models")
"""The working directory's analysis files, used first when present."""

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "specs"
"""The analysis files shipped with the package."""


def specs_dir() -> Path:
    """The folder of analysis files in use: ``./models`` if it exists, else the shipped one."""
    return LOCAL_DIR if LOCAL_DIR.is_dir() else SHIPPED_DIR


def default_file(name: str) -> Path:
    """A default analysis file (``economics.toml``, ``pilots.toml``, ...) by name.

    Parameters
    ----------
    name : str
        File name inside the folder of analysis files.

    Returns
    -------
    pathlib.Path
        ``./models/<name>`` when it exists, else the shipped file.
    """
    local = LOCAL_DIR / name
    return local if local.is_file() else SHIPPED_DIR / name


def find_spec_file(spec: str | Path) -> Path:
    """A spec file given as a path, or as the name of a shipped spec (``s47_primary``).

    Parameters
    ----------
    spec : str or pathlib.Path
        A path to a TOML file, or a spec name with or without ``.toml``: a file of
        :func:`specs_dir`, or of a folder in it (``examples/other_trial/exclusions``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    SpecError
        If it is neither an existing file nor the name of a spec in :func:`specs_dir`.
    """
    path = Path(spec)
    if path.is_file():
        return path
    if path.name and not path.is_absolute():  # a name, or a path in the folder (examples/x/y)
        candidate = default_file(str(path if path.suffix == ".toml" else
                                     path.with_name(f"{path.name}.toml")))
        if candidate.is_file():
            return candidate
    names = sorted(p.stem for p in specs_dir().glob("*.toml"))
    raise SpecError(f"{spec}: no such spec file, and not the name of a shipped spec "
                    f"(expected a path or one of: {', '.join(names)})")
