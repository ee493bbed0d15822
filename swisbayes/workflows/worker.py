"""The work a sampled cell does, in whatever process runs it (this one, a pool, Dask).

It is :func:`swisbayes.fit`, so a sampled cell is exactly the fit of its spec. Each process keeps
its compiled models (:data:`swisbayes.inference.fitting._COMPILED`), so a worker compiles each model
structure once and then only swaps priors in. The result comes back as bytes and plain data so
that the process that owns the output directory writes every file.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from swisbayes.data.io import SchoolData


def sample_cell(spec_json: str, data: SchoolData) -> dict:
    """Fit one cell and return its result in a form any executor can send back.

    Parameters
    ----------
    spec_json : str
        The cell's spec (:meth:`~swisbayes.spec.analysis.AnalysisSpec.to_json`), prior resolved.
    data : SchoolData
        Validated data for the spec's outcome.

    Returns
    -------
    dict
        ``fit``: :meth:`FitResult.to_dict`; ``netcdf``: the posterior file's bytes;
        ``posterior``: the posterior draws (the same numbers as in the file, so that the caller
        need not read it back); ``seconds``: wall time of the fit; ``compile``: how the compiled
        model was obtained.
    """
    from swisbayes.spec.analysis import AnalysisSpec
    from swisbayes.workflows.analysis import fit

    spec = AnalysisSpec.model_validate_json(spec_json)
    start = time.perf_counter()
    result = fit(spec, data)
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="swisbayes-cell-") as tmp:
        path = result.to_netcdf(Path(tmp) / "posterior.nc")
        content = path.read_bytes()
    return {"fit": result.to_dict(), "netcdf": content, "seconds": seconds,
            "compile": result.provenance["compile"],
            "posterior": result.idata["posterior"].to_dataset()}


__all__ = ["sample_cell"]
