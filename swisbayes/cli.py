"""The ``swisbayes`` command line.

Exit codes: 0 success, 1 bad input (data or spec), 2 usage error, 3 a fit failed its
diagnostics (its numbers are printed, flagged as unreliable).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from swisbayes._base.errors import SpecError, SwisbayesError

if TYPE_CHECKING:
    from swisbayes.inference.fitting import FitResult

EXIT_BAD_INPUT = 1
EXIT_UNRELIABLE = 3


class _Group(click.Group):
    """Turns any swisbayes input error into a clear message and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SwisbayesError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


def _figure_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A --plot file whose suffix matplotlib can write, checked before any work is done."""
    if value is None or not value.suffix:
        return value  # no suffix: PNG
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    if value.suffix.lstrip(".").lower() not in formats:
        raise click.BadParameter(f"{value}: unsupported figure format '{value.suffix}'; "
                                 "expected .png, .pdf or .svg (or another of "
                                 f"{', '.join('.' + f for f in sorted(formats))})")
    return value


def _parse_covariates(ctx: click.Context, param: click.Parameter,
                      value: str | None) -> tuple[str, ...] | None:
    """``--covariates a,b``: the list; ``--covariates ""``: none; not given: the spec's."""
    if value is None:
        return None
    return tuple(c.strip() for c in value.split(",") if c.strip())


def _spec_overrides(command):
    """Add ``--covariates LIST`` and ``--family NAME``: change the specs without copying them."""
    command = click.option(
        "--family", default=None,
        type=click.Choice(["negative_binomial", "poisson", "hurdle_negative_binomial",
                           "beta_binomial"]),
        help="Likelihood family instead of the spec's (it must fit the outcome).")(command)
    return click.option(
        "--covariates", default=None, callback=_parse_covariates, metavar="LIST",
        help='Comma-separated school covariates instead of the spec\'s ("" for none); '
             "recorded in the results' provenance.")(command)


def _adapt(spec, covariates: tuple[str, ...] | None, family: str | None):
    """The spec with the command line's ``--covariates`` and ``--family`` applied."""
    if covariates is not None:
        spec = spec.with_covariates(covariates)
    return spec if family is None else spec.with_family(family)


@click.group(cls=_Group)
@click.version_option(package_name="swisbayes")
def cli() -> None:
    """Bayesian re-analysis of school-clustered randomised trials (SWIS)."""


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--outcome", "outcomes", multiple=True,
              help="Outcome to check (repeatable); its columns are required. Default: every "
                   "outcome with a column in FILE.")
@click.option("--spec", "spec_files", multiple=True, metavar="SPEC",
              help="Check exactly what this analysis needs (its outcome's columns and its "
                   "covariates), as `fit` will (repeatable; a file or a shipped name).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_spec_overrides
def validate(file: Path, outcomes: tuple[str, ...], spec_files: tuple[str, ...], as_json: bool,
             covariates: tuple[str, ...] | None, family: str | None) -> None:
    """Check a school- or pupil-level CSV/Parquet FILE; report every problem (exit 1 on errors).

    A file with a ``pupil_id`` column is pupil-level (one row per pupil). With --spec, FILE is
    checked for exactly what that analysis needs (with --covariates and --family applied, as
    for `fit`), so validate and fit never disagree. Without --outcome or --spec, every outcome
    with a column in FILE (follow-up or baseline) is checked as if it were analysed: an outcome
    with only one of its columns, or with an empty cell, is an error.
    """
    from swisbayes.data.io import validate as validate_data
    from swisbayes.data.schema import known_outcomes

    unknown = [o for o in outcomes if o not in known_outcomes()]
    if unknown:  # an outcome declared in a spec is known through --spec
        raise click.BadParameter(f"unknown outcome(s) {unknown}; known: "
                                 f"{', '.join(known_outcomes())}; check a declared outcome "
                                 "with --spec SPEC (its [outcome_schema] table declares it)",
                                 param_hint="--outcome")
    if spec_files:
        from swisbayes._base.files import find_spec_file
        from swisbayes.spec.analysis import load_spec

        specs = [_adapt(load_spec(find_spec_file(f)), covariates, family) for f in spec_files]
        report = _validated(file, specs)
    else:
        report = validate_data(file, outcomes=list(outcomes) or None)
    if as_json:
        click.echo(json.dumps({"source": report.source, "ok": report.ok, "issues": [
            {"severity": i.severity, "check": i.check, "column": i.column, "rows": list(i.rows),
             "found": [str(v) for v in i.found], "expected": i.expected, "detail": i.detail,
             "message": i.describe(report.source)} for i in report.issues]}, indent=2))
    else:
        click.echo(str(report))
    if not report.ok:
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
@click.option("--seed", type=int, required=True, help="Random seed (same seed, same table).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .csv or .parquet; truth and assumptions go to OUT.json.")
@click.option("--irr-s47", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="True S47 incidence rate ratio.")
@click.option("--irr-referrals", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True)
@click.option("--irr-s17", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True)
@click.option("--irr-care-entry", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True)
@click.option("--la-effect-sd", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="SD of LA deviations of the true log effect.")
@click.option("--pupils", "pupil_level", is_flag=True,
              help="Write one row per pupil (pupil_id, covariates, per-pupil outcomes).")
@click.option("--total-pupils", type=click.IntRange(min=1), default=None,
              help="Pupils in the trial (default: SWIS's 278,858), over the same schools.")
def simulate(seed: int, out: Path, irr_s47: float, irr_referrals: float, irr_s17: float,
             irr_care_entry: float, la_effect_sd: float, pupil_level: bool,
             total_pupils: int | None) -> None:
    """Simulate a SWIS-shaped trial with known effects and write it to OUT."""
    from swisbayes.data.simulate import TrialDesign, simulate_pupils, simulate_trial

    if out.suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise click.BadParameter("must end in .csv, .parquet or .pq", param_hint="--out")
    try:
        design = TrialDesign() if total_pupils is None else TrialDesign(total_pupils=total_pupils)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--total-pupils") from None
    run = simulate_pupils if pupil_level else simulate_trial
    trial = run(seed, irr={"s47": irr_s47, "referrals": irr_referrals, "s17": irr_s17,
                           "care_entry": irr_care_entry},
                la_effect_sd=la_effect_sd, design=design)
    trial.to_file(out)
    frame = trial.frame
    if pupil_level:
        size = f"{len(frame):,} pupils in {frame['school_id'].nunique()} schools"
    else:
        size = f"{len(frame)} schools, {int(frame['pupils'].sum()):,} pupils"
    click.echo(f"wrote {out} ({size}) and {out}.json")


@cli.command()
@click.argument("spec_file", metavar="SPEC", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--all", "fit_all", is_flag=True,
              help="Fit every analysis spec in --spec-dir and print one table (JSON: a list).")
@click.option("--spec-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where --all looks for specs (default: ./models if it exists, else the "
                   "shipped specs).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="School-level CSV/Parquet (default: the bundled synthetic SWIS data).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for SPEC-NAME.nc (posterior) and SPEC-NAME.json.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the spec's seed.")
@click.option("--sampler", type=click.Choice(["nutpie", "pymc"]), default=None,
              help="Override the spec's sampler.")
@click.option("--draws", type=click.IntRange(min=10), default=None)
@click.option("--tune", type=click.IntRange(min=10), default=None)
@click.option("--chains", type=click.IntRange(min=1), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--progress/--no-progress", default=False, help="Show the sampler's progress bar.")
@_spec_overrides
def fit(spec_file: Path | None, fit_all: bool, spec_dir: Path | None, data: Path | None,
        out: Path | None, seed: int | None, sampler: str | None, draws: int | None,
        tune: int | None, chains: int | None, as_json: bool, progress: bool,
        covariates: tuple[str, ...] | None, family: str | None) -> None:
    """Fit the analysis in SPEC (or every spec, with --all) and print its decision quantities.

    SPEC is a spec file, or the name of a shipped spec (e.g. s47_primary)."""
    from swisbayes._base.files import find_spec_file, specs_dir
    from swisbayes.spec.analysis import load_spec

    if fit_all == (spec_file is not None):
        raise click.UsageError("give either SPEC or --all")
    paths = _spec_files(spec_dir or specs_dir()) if fit_all else [find_spec_file(spec_file)]
    overrides = {k: v for k, v in {"seed": seed, "backend": sampler, "draws": draws,
                                   "tune": tune, "chains": chains}.items() if v is not None}
    # every spec is checked before anything is fitted
    specs = [_adapt(load_spec(p), covariates, family) for p in paths]
    table = _checked_data(data, specs)  # and so are the data, for every spec
    results = [_fit_one(spec.with_sampler(**overrides), table, out, progress) for spec in specs]
    payloads = [r.to_dict() for r in results]
    if as_json:
        click.echo(json.dumps(payloads if fit_all else payloads[0], indent=2))
    elif fit_all:
        click.echo(format_table(results))
    else:
        click.echo(format_fit(results[0]))
    failed = [r for r in results if not r.ok]
    for r in failed:
        click.echo(f"error: {r.spec.name}: the fit FAILED its convergence checks; its numbers are "
                   "unreliable: " + "; ".join(r.diagnostics.reasons), err=True)
    if failed:
        sys.exit(EXIT_UNRELIABLE)


def _spec_files(directory: Path) -> list[Path]:
    """Analysis specs in ``directory``: TOML files with a top-level ``outcome`` key."""
    from swisbayes.spec.analysis import analysis_spec_files

    try:
        return analysis_spec_files(directory)
    except SpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--spec-dir") from None


def _checked_data(path: Path | None, specs):
    """The data, validated for every spec before anything is sampled: the file itself (each
    fit reads it, so that its results record the file's ``file_sha256``), or the bundled table.

    A bad file, or a column one of the specs needs, fails here: before the first fit, before
    a pilot-informed prior's meta-analysis, and before anything is written to ``--out``.
    """
    from swisbayes._base.errors import DataError

    data = _example() if path is None else path
    report = _validated(data, specs)
    if not report.ok:
        raise DataError(str(report), report=report)
    return data


def _validated(data, specs):
    """The validation report of the data for exactly what ``specs`` need: their outcomes'
    columns and their covariates (what `validate --spec` prints and `fit` checks first)."""
    from swisbayes.data.io import validate as validate_data

    return validate_data(data, outcomes=list(dict.fromkeys(s.outcome for s in specs)),
                         covariates=sorted({c for s in specs for c in s.covariates}))


def _example():
    """The bundled synthetic SWIS data: what a command uses when --data is not given."""
    from swisbayes.data.io import load_example

    return load_example()


def _fit_one(spec, data, out: Path | None, progress: bool):
    from swisbayes._base.atomic import write_text_atomic
    from swisbayes.inference.fitting import fit as run_fit

    result = run_fit(spec, data, progress=progress)
    if out is not None:
        summary = out / f"{spec.name}.json"
        summary.unlink(missing_ok=True)  # never leave last run's summary beside a new posterior
        result.to_netcdf(out / f"{spec.name}.nc")
        write_text_atomic(summary, json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def format_table(results: list[FitResult]) -> str:
    """One row per fitted analysis: the decision quantities and whether the fit passed.

    Each row is on its outcome's own scale, named in its MCID column: a ratio (IRR) with an
    MCID in percent, or, for attendance, the difference in absence in percentage points (pp)
    with an MCID in points, its probabilities on that scale (P(cut) = P(fall >= MCID), P(harm)
    = P(rise)). The averted column is in each outcome's own unit (events, days in care,
    sessions missed); notes under the table say what a non-count row's numbers are.
    """
    width = max([16, *(len(r.spec.name) + 2 for r in results)])  # a long name keeps a gap
    lines = [f"{'analysis':{width}}{'prior':13}{'MCID':>7}  {'effect (95% interval)':33}"
             f"{'P(cut>=MCID)':>12}  {'new LA':>7}  {'P(harm)':>8}  {'averted/1000/y':>15}  fit"]
    for r in results:
        mcid, effect, probs = r.decision.table_cells()
        cut, new_la, harm = probs
        lines.append(f"{r.spec.name:{width}}{r.decision.prior:13}{mcid:>7}  {effect:33}"
                     f"{cut:12.1%}  {new_la:7.1%}  {harm:8.1%}  "
                     f"{r.decision.averted_per_1000:15.2f}  {'ok' if r.ok else 'FAILED'}")
    notes = [f"{r.spec.name}: {note}" for r in results for note in r.decision.table_notes()]
    return "\n".join(lines + (["", *notes] if notes else []))


@cli.command()
@click.option("--outcome", default="s47", show_default=True,
              help="Outcome whose published estimate is re-analysed.")
@click.option("--prior", "prior_names", multiple=True, metavar="NAME|all",
              help="Named prior (repeatable); 'all' runs every library prior. Default: vague.")
@click.option("--prior-normal", nargs=2, type=float, default=None, metavar="MEAN SD",
              help="A normal prior on the log IRR, named 'normal(MEAN, SD)'.")
@click.option("--mcid", type=float, default=0.10, show_default=True,
              help="Minimal important reduction as a fraction (0.10 = 10% fewer events).")
@click.option("--estimate", type=float, default=None, metavar="IRR",
              help="Re-analyse this rate ratio instead of the published one (needs --ci).")
@click.option("--ci", nargs=2, type=float, default=None, metavar="LOW HIGH",
              help="95% confidence interval of --estimate.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: one object for one prior, a list for several.")
def reanalyse(outcome: str, prior_names: tuple[str, ...],
              prior_normal: tuple[float, float] | None, mcid: float, estimate: float | None,
              ci: tuple[float, float] | None, as_json: bool) -> None:
    """Re-analyse a published effect estimate under one or more priors (exact, no sampling)."""
    from swisbayes.evidence.reanalysis import format_table
    from swisbayes.evidence.reanalysis import reanalyse as run_reanalysis
    from swisbayes.priors.library import MixturePrior, library_names

    if (estimate is None) != (ci is None):
        raise click.UsageError("--estimate and --ci must be given together")
    names = [n for name in prior_names for n in (library_names() if name == "all" else [name])]
    priors: list[MixturePrior | str] = list(dict.fromkeys(names))
    if prior_normal is not None:
        mean, sd = prior_normal
        priors.append(MixturePrior.normal(f"normal({mean:g}, {sd:g})", mean, sd))
    results = [run_reanalysis(estimate=estimate, ci=ci, prior=p, outcome=outcome, mcid=mcid)
               for p in priors or ["vague"]]
    if as_json:
        payload = [r.to_dict() for r in results]
        click.echo(json.dumps(payload if len(payload) > 1 else payload[0], indent=2))
    else:
        click.echo(format_table(results))
        if len(results) == 1:
            click.echo("\n" + results[0].text)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--mcid", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.10,
              show_default=True, help="Meaningful reduction for P(reduction >= MCID).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, callback=_figure_path,
              help="Also draw the priors (IRR scale) to this PNG/PDF/SVG file.")
@click.option("--pilots", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Pilots TOML for the pilot-informed prior (default: models/pilots.toml).")
@click.option("--from-posterior", "posterior_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Turn a fit's posterior (.nc from 'fit --out') into a named mixture prior.")
@click.option("--name", default=None, help="Name of the prior made with --from-posterior.")
@click.option("--ess-convention", type=click.Choice(["two-arm", "single-arm"]),
              default="two-arm", show_default=True,
              help="ESS unit: schools per arm of a two-arm trial, or RBesT's single-arm count "
                   "(half of it) for the same reference scale.")
def priors(as_json: bool, mcid: float, plot_file: Path | None, pilots: Path | None,
           posterior_file: Path | None, name: str | None, ess_convention: str) -> None:
    """List the prior library (or make a prior from a posterior) with what each one implies."""
    from swisbayes.evidence.resolver import get_prior
    from swisbayes.priors.ess import effective_sample_size
    from swisbayes.priors.library import PilotSettings, library_names

    if posterior_file is not None:
        prior = _prior_from_posterior(posterior_file, name)
        rows = [prior]
    else:
        settings = PilotSettings(pilots=pilots)
        rows = [get_prior(n, pilots=settings) for n in library_names()]
    table = [{**p.summary(mcid),
              "ess_schools_per_arm": effective_sample_size(p, convention=ess_convention),
              "ess_convention": ess_convention,
              "weights": list(p.weights), "means": list(p.means), "sds": list(p.sds)}
             for p in rows]
    if plot_file is not None:
        from swisbayes.plots.basic import plot_priors, save_figure

        shown = rows if posterior_file is not None else [
            p for p in rows if p.name in {"vague", "sceptical", "enthusiastic", "pessimistic",
                                          "pilot-informed"}]
        save_figure(plot_priors(shown, mcid=mcid), plot_file)
    if as_json:
        click.echo(json.dumps(table if posterior_file is None else table[0], indent=2))
        return
    click.echo(f"{'prior':22}{'median IRR':>11}  {'95% interval':>14}  "
               f"{f'P(cut>={mcid:.0%})':>12}  {'P(harm)':>8}  "
               f"{'ESS/arm' if ess_convention == 'two-arm' else 'ESS 1arm':>8}")
    for row in table:
        lo, hi = row["irr_ci95"]
        click.echo(f"{row['name']:22}{row['irr_median']:11.3f}  {lo:6.3g}-{hi:<7.3g}  "
                   f"{row['prob_meaningful_reduction']:12.1%}  {row['prob_harm']:8.1%}  "
                   f"{row['ess_schools_per_arm']:8.1f}")
    click.echo("\nESS/arm: the prior's worth in schools per arm of a two-arm trial (twice "
               "RBesT's single-arm ESS)." if ess_convention == "two-arm" else
               "\nESS 1arm: RBesT's single-arm ESS (half the schools per arm of a two-arm "
               "trial).")
    if posterior_file is not None:
        click.echo("\nTo use it in a spec:\n" + _prior_toml(rows[0]))
    if plot_file is not None:
        click.echo(f"\nwrote {plot_file}")


def _prior_from_posterior(path: Path, name: str | None):
    from swisbayes.evidence.meta_analysis import posterior_as_prior
    from swisbayes.families.registry import family_of
    from swisbayes.inference.fitting import FitResult

    try:
        result = FitResult.from_netcdf(path)
    except SwisbayesError:
        raise
    except Exception as exc:  # netCDF/HDF5 readers raise many types for a file that is not one
        raise SpecError(f"{path}: not a posterior saved by 'swisbayes fit --out' "
                        f"({type(exc).__name__}: {exc}); expected the .nc file that "
                        "'swisbayes fit SPEC --out DIR' writes") from None
    if family_of(result.spec).effect_vars.get("log_irr") != "irr":
        raise SpecError(f"{path}: the {result.spec.outcome} analysis has no single log IRR to "
                        "reuse as a prior (its effects are on other scales); use the posterior "
                        "of a count outcome: s47, referrals, s17 or care_entry")
    draws = result.idata["posterior"]["log_irr"].to_numpy().ravel()
    if not result.ok:
        click.echo(f"warning: {path} failed its convergence checks; the prior inherits that",
                   err=True)
    return posterior_as_prior(
        draws, name or f"{result.spec.name}-posterior",
        provenance=f"posterior of {path} ({result.spec.name}, data content_sha256 "
                   f"{result.provenance['content_sha256'][:12]}, seed {result.spec.sampler.seed})")


def _prior_toml(prior) -> str:
    def fmt(values):
        return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"

    return "\n".join([
        "[priors.effect]",
        f"name = {json.dumps(prior.name)}",
        f"description = {json.dumps(prior.description)}",
        f"source = {json.dumps(prior.provenance)}",
        f"weights = {fmt(prior.weights)}",
        f"means = {fmt(prior.means)}",
        f"sds = {fmt(prior.sds)}",
    ])


def _data_hashes(provenance: dict) -> str:
    """The data's hashes for a line of text: the file's bytes (when read from a file) and the
    table's values, each to 12 digits."""
    file_hash = provenance["file_sha256"]
    return ((f"file_sha256 {file_hash[:12]}, " if file_hash else "")
            + f"content_sha256 {provenance['content_sha256'][:12]}")


def format_fit(result: FitResult) -> str:
    """Readable multi-line summary of a :class:`~swisbayes.inference.fitting.FitResult`."""
    from swisbayes.data.schema import outcome_schema

    d, spec, diag = result.decision, result.spec, result.diagnostics
    pct = spec.decision.mcid
    header = (f"{'':22}{'median':>8}  {'95% interval':>15}  {'P(any cut)':>10}  "
              f"{f'P(cut>={pct:.0%})':>13}  {'P(harm)':>8}")
    rows = []
    for label, s in d.labelled_ratios():
        rows.append(f"{label:22}{s.median:8.3f}  {s.ci[0]:7.3f}-{s.ci[1]:<7.3f}  "
                    f"{s.prob_any_reduction:10.1%}  {s.prob_meaningful_reduction:13.1%}  "
                    f"{s.prob_harm:8.1%}")
    status = "OK" if diag.ok else "FAILED - numbers unreliable: " + "; ".join(diag.reasons)
    # None in a result saved before the gate checked tail ESS
    tail = "" if diag.ess_tail_min is None else f"min tail ESS {diag.ess_tail_min:.0f}, "
    return "\n".join([
        spec.title or f"{spec.name}: {outcome_schema(spec.outcome).label}",
        f"prior on the effect: {spec.effect_prior.name} - {spec.effect_prior.description}",
        f"data: {result.provenance['data_source']} ({result.provenance['n_schools']} schools, "
        f"{result.provenance['n_las']} LAs; {_data_hashes(result.provenance)})",
        "",
        header,
        *rows,
        *d.difference_lines(),
        "",
        f"control-arm rate: {d.control_rate_per_1000:.2f} per 1000 pupils per year; "
        f"{d.unit} averted: {d.averted_per_1000:.2f} per 1000 pupils per year "
        f"(95% interval {d.averted_per_1000_ci[0]:.2f} to {d.averted_per_1000_ci[1]:.2f})",
        f"MCID {pct:.0%} ({spec.decision.mcid_source})",
        f"diagnostics: {status} (max R-hat {diag.rhat_max:.3f}, min bulk ESS "
        f"{diag.ess_bulk_min:.0f}, {tail}{diag.divergences} divergences, "
        f"{len(result.attempts)} attempt(s); {spec.sampler.backend}, seed {spec.sampler.seed})",
        "",
        result.text,
    ])


@cli.command()
@click.argument("spec_files", metavar="[SPEC]...", nargs=-1,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grid_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Grid TOML (axes: priors, hyperprior scales, MCIDs, specs, seeds).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="School-level CSV/Parquet (default: the bundled synthetic SWIS data).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the cells and table.csv/.parquet (default: out/GRID-NAME).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local processes that fit cells.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Send the fits to this Dask scheduler (needs the 'dask' extra).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip cells already finished in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON list.")
@click.option("--quiet", is_flag=True, help="No progress bar (it is drawn on a terminal only).")
@click.option("--screen/--no-screen", default=True, show_default=True,
              help="Power-scaling screen of each sampled fit (a few seconds each); writes "
                   "OUT/screen.json.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Directory for the figures (default: OUT/plots).")
@click.option("--plots/--no-plots", default=True, show_default=True,
              help="Draw P(meaningful reduction) by prior and a heat map.")
@click.option("--decision-threshold", type=click.FloatRange(0, 1), default=0.8,
              show_default=True, help="Decision threshold drawn on the figures.")
@_spec_overrides
def sensitivity(spec_files: tuple[Path, ...], grid_file: Path, data: Path | None,
                out: Path | None, workers: int, scheduler: str | None, resume: bool,
                as_json: bool, quiet: bool, screen: bool, plot_dir: Path | None, plots: bool,
                decision_threshold: float, covariates: tuple[str, ...] | None,
                family: str | None) -> None:
    """Run a prior-sensitivity grid over SPECs (default: the grid's specs), resumably.

    Most cells reuse a sampled cell's draws, reweighted by Pareto-smoothed importance sampling;
    exit code 3 if any cell failed its diagnostics (or its fit raised).
    """
    from swisbayes.spec.analysis import load_spec
    from swisbayes.spec.grid import load_grid
    from swisbayes.workflows.sensitivity import format_text, run_grid

    grid = load_grid(grid_file)
    if not spec_files:
        grid.spec_paths(check=True)  # a missing spec is named with the grid entry naming it
    specs = list(spec_files)
    if covariates is not None or family is not None:
        specs = [_adapt(load_spec(p), covariates, family)
                 for p in (specs or grid.spec_paths())]
    out = out if out is not None else Path("out") / grid.name
    data = data if data is not None else _example()
    result = run_grid(specs, grid, data, out=out, workers=workers,
                      scheduler=scheduler, resume=resume, progress=not quiet)
    if as_json:
        click.echo(json.dumps(result.rows, indent=2))
    else:
        click.echo(format_text(result))
    if screen:
        _sensitivity_screen(result, data, err=as_json)
    if plots and result.rows:
        from swisbayes.workflows.sensitivity_plots import write_plots

        written = write_plots(result, plot_dir or out / "plots", threshold=decision_threshold)
        click.echo(f"wrote {len(written)} figures to {written[0].parent}", err=as_json)
    for row in result.failed:
        click.echo(f"error: cell {row['cell']} {row['axes']}: FAILED its convergence checks "
                   "(its numbers are unreliable): " + "; ".join(row["diagnostics"]["reasons"]),
                   err=True)
    for cell, message in result.errors.items():
        click.echo(f"error: cell {cell} was not computed: {message}", err=True)
    if not result.ok:
        sys.exit(EXIT_UNRELIABLE)


def _sensitivity_screen(result, data: Path | None, *, err: bool) -> None:
    """Screen the run's sampled fits, print the screens and where they disagree with the grid."""
    from swisbayes.workflows.screen import compare_with_grid, screen_grid, write_screen

    screens = screen_grid(result, data)
    notes = compare_with_grid(screens, result.table) if result.rows else []
    path = write_screen(screens, notes, result.out / "screen.json")
    for item in screens:
        click.echo(item.text, err=err)
    for note in notes:
        click.echo(f"note: screen and grid disagree: {note}", err=err)
    click.echo(f"wrote {path}", err=err)


def _float_list(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    try:
        values = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None
    if not values or any(v <= 0 for v in values):
        raise click.BadParameter("give one or more positive IRRs, e.g. 1.0,0.9,0.85")
    return values


_ENGINE_OPTIONS = [
    click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Local processes that fit cells."),
    click.option("--scheduler", metavar="ADDRESS", default=None,
                 help="Send the fits to this Dask scheduler (needs the 'dask' extra)."),
    click.option("--resume/--no-resume", default=True, show_default=True,
                 help="Skip cells already finished in --out."),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    click.option("--quiet", is_flag=True, help="No progress bar (drawn on a terminal only)."),
    click.option("--draws", type=click.IntRange(min=10), default=None),
    click.option("--tune", type=click.IntRange(min=10), default=None),
    click.option("--chains", type=click.IntRange(min=1), default=None),
    click.option("--seed", type=click.IntRange(min=0), default=None,
                 help="Base seed of the per-cell seeds (default: the spec's seed)."),
]


def _engine_options(fn):
    for option in reversed(_ENGINE_OPTIONS):
        fn = option(fn)
    return fn


@cli.command("simulate-study")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--scenarios", callback=_float_list, default="1.0,0.9,0.85", show_default=True,
              help="True IRRs, comma-separated.")
@click.option("--n-trials", type=click.IntRange(min=1), required=True,
              help="Simulated trials per scenario.")
@click.option("--la-effect-sd", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="SD of the LAs' deviations of the true log IRR.")
@click.option("--mcid", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Meaningful reduction (default: the spec's).")
@click.option("--invest", type=click.FloatRange(0, 1), default=0.80, show_default=True,
              help="'invest' if P(IRR < 1 - MCID) is at least this.")
@click.option("--stop", type=click.FloatRange(0, 1), default=0.10, show_default=True,
              help="'stop' if P(IRR < 1 - MCID) is below this; else 'more evidence'.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the cells (default: out/study-SPEC-NAME).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, callback=_figure_path,
              help="Bar chart of the verdict probabilities per scenario.")
@_engine_options
def simulate_study(spec_file: Path, scenarios: list[float], n_trials: int,
                   la_effect_sd: float, mcid: float | None, invest: float, stop: float,
                   out: Path | None, plot_file: Path | None, workers: int,
                   scheduler: str | None, resume: bool, as_json: bool, quiet: bool,
                   draws: int | None, tune: int | None, chains: int | None,
                   seed: int | None) -> None:
    """Operating characteristics: simulate and fit N trials per true IRR, tally the verdicts.

    Reports P(invest), P(more evidence) and P(stop) per scenario with Monte Carlo standard
    errors, the 95% interval's coverage of the true IRR, and the fits that failed the gate.
    """
    from swisbayes.decision.rule import DecisionRule
    from swisbayes.spec.analysis import load_spec
    from swisbayes.workflows.study import run_study

    spec = load_spec(spec_file).with_sampler(draws=draws, tune=tune, chains=chains)
    if mcid is not None:
        spec = spec.model_copy(update={"decision": spec.decision.model_copy(
            update={"mcid": mcid})})
    try:
        rule = DecisionRule(invest=invest, stop=stop)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--invest/--stop") from None
    out = out if out is not None else Path("out") / f"study-{spec.name}"
    result = run_study(spec, scenarios, n_trials, rule=rule, la_effect_sd=la_effect_sd,
                       base_seed=seed, out=out, workers=workers, scheduler=scheduler,
                       resume=resume, progress=not quiet)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.text)
    if plot_file is not None and result.rows:
        from swisbayes.plots.basic import save_figure
        from swisbayes.workflows.calibration_plots import plot_verdicts

        save_figure(plot_verdicts(result), plot_file)
        click.echo(f"wrote {plot_file}", err=as_json)
    for message in result.errors.values():
        click.echo(f"error: a trial was not fitted: {message}", err=True)


@cli.command()
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--n", "n_replicates", type=click.IntRange(min=1), required=True,
              help="Replicates (datasets drawn from the prior).")
@click.option("--prior", default=None, metavar="NAME",
              help="Effect prior to simulate from and fit with (a library name); default "
                   "N(0, 0.3) on the log effect, with realistic hyperpriors (see "
                   "swisbayes.workflows.sbc). The vague prior gives absurd datasets.")
@click.option("--prior-normal", nargs=2, type=float, default=None, metavar="MEAN SD",
              help="A normal effect prior on the log IRR instead.")
@click.option("--ranks", "n_ranks", type=click.IntRange(min=9), default=99, show_default=True,
              help="Thinned posterior draws each truth is ranked among.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the cells (default: out/sbc-SPEC-NAME).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, callback=_figure_path,
              help="PIT-ECDF difference plots with simultaneous bands, one panel per "
                   "parameter.")
@_engine_options
def sbc(spec_file: Path, n_replicates: int, prior: str | None,
        prior_normal: tuple[float, float] | None, n_ranks: int, out: Path | None,
        plot_file: Path | None, workers: int, scheduler: str | None, resume: bool,
        as_json: bool, quiet: bool, draws: int | None, tune: int | None, chains: int | None,
        seed: int | None) -> None:
    """Simulation-based calibration: draw from the prior, fit, rank the truth; test uniformity
    (PIT-ECDF with simultaneous bands). Any outcome family.

    Exit code 3 if a parameter's ranks are flagged as not uniform.
    """
    from swisbayes.priors.library import MixturePrior
    from swisbayes.spec.analysis import load_spec
    from swisbayes.workflows.sbc import run_sbc

    if prior is not None and prior_normal is not None:
        raise click.UsageError("give --prior or --prior-normal, not both")
    if prior_normal is not None:
        prior = MixturePrior.normal(f"normal_{prior_normal[0]:g}_{prior_normal[1]:g}",
                                    *prior_normal)
    spec = load_spec(spec_file).with_sampler(draws=draws, tune=tune, chains=chains)
    out = out if out is not None else Path("out") / f"sbc-{spec.name}"
    result = run_sbc(spec, n_replicates, prior=prior, n_ranks=n_ranks, base_seed=seed, out=out,
                     workers=workers, scheduler=scheduler, resume=resume, progress=not quiet)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.text)
    if plot_file is not None and result.rows:
        from swisbayes.plots.basic import save_figure
        from swisbayes.workflows.calibration_plots import plot_pit_ecdf

        save_figure(plot_pit_ecdf(result), plot_file)
        click.echo(f"wrote {plot_file}", err=as_json)
    for message in result.errors.values():
        click.echo(f"error: a replicate was not fitted: {message}", err=True)
    if result.rows and result.tests()["flagged"].any():
        sys.exit(EXIT_UNRELIABLE)


@cli.command()
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="School- or pupil-level CSV/Parquet (default: the bundled synthetic SWIS data).")
@click.option("--spec-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory with the analysis specs (s47_primary.toml, referrals.toml, ..., "
                   "or another trial's specs; default: ./models if it exists, else the "
                   "shipped specs).")
@click.option("--economics", "economics_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Economic inputs TOML (default: SPEC_DIR/economics.toml, "
                                 "else the bundled SWIS assumptions).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report file (default: out/report.html, or out/report.md with --format md).")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html",
              show_default=True, help="One self-contained HTML page, or Markdown + PNG files.")
@click.option("--show-la-codes", is_flag=True,
              help="Label LA-level results with the LA codes (anonymised as LA 1, LA 2, ... "
                   "by default).")
@click.option("--suppress", "suppress_threshold", type=click.IntRange(min=5), default=5,
              show_default=True, help="Largest count suppressed in the report (every count "
                                      "from 1 to this; at least 5, the DfE rule).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local processes fitting the outcomes (default: one per core, at most one "
                   "per outcome).")
@click.option("--trial", default=None,
              help="The trial the data come from (default: the data's own declaration, "
                   "'trial' in FILE.json); the published SWIS result is re-analysed only for "
                   "SWIS.")
@click.option("--primary", default=None,
              help="The analysis the verdict is about: a spec's name, file name or outcome "
                   "(default: s47_primary in the SWIS specs, else the spec whose file name "
                   "ends in _primary, else the first by name).")
@click.option("--intervention", default=None,
              help="What is decided on, as the page names it (default: the data's "
                   "declaration, 'intervention' in FILE.json; SWIS for the SWIS trial, else "
                   "'the intervention').")
@click.option("--quiet", is_flag=True, help="No progress display (it is drawn on a terminal "
                                            "only).")
@_spec_overrides
def report(data: Path | None, spec_dir: Path | None, economics_file: Path | None, out: Path | None,
           fmt: str, show_la_codes: bool, suppress_threshold: int, workers: int | None,
           trial: str | None, primary: str | None, intervention: str | None, quiet: bool,
           covariates: tuple[str, ...] | None, family: str | None) -> None:
    """Write the decision report: every outcome the data have under the standard priors, the
    value for money, the verdict and what would change it (exit code 3 if a fit failed its
    checks). Outcomes the data lack are left out and named at the top of the page."""
    from swisbayes.report.run import make_report

    out = out if out is not None else Path("out") / f"report.{fmt}"
    run = make_report(data=data if data is not None else _example(), spec_dir=spec_dir,
                      economics=economics_file, out=out, fmt=fmt,
                      show_la_codes=show_la_codes, suppress_threshold=suppress_threshold,
                      workers=workers if workers is not None else os.cpu_count() or 1,
                      covariates=covariates, family=family, trial=trial, primary=primary,
                      intervention=intervention, progress=not quiet)
    click.echo(f"verdict: {run.report.verdict_word}")
    click.echo(run.report.headline)
    for path in run.files:
        click.echo(f"wrote {path}")
    click.echo(f"({run.seconds:.0f} s)")
    for alert in run.report.alerts:
        click.echo(f"error: {alert}", err=True)
    if not run.ok:
        sys.exit(EXIT_UNRELIABLE)


_FIT_OPTIONS = [
    click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="School- or pupil-level CSV/Parquet (default: the bundled synthetic SWIS "
                      "data)."),
    click.option("--seed", type=click.IntRange(min=0), default=None,
                 help="Override the specs' seed."),
    click.option("--draws", type=click.IntRange(min=10), default=None),
    click.option("--tune", type=click.IntRange(min=10), default=None),
    click.option("--chains", type=click.IntRange(min=1), default=None),
    click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
]


def _fit_options(fn):
    for option in reversed(_FIT_OPTIONS):
        fn = option(fn)
    return fn


def _fit_for_criticism(spec_files: tuple[Path, ...], data: Path | None,
                       overrides: dict, covariates: tuple[str, ...] | None = None,
                       family: str | None = None) -> list[FitResult]:
    """Every spec loaded and checked, the data validated for all of them, then each fitted."""
    from swisbayes._base.files import find_spec_file
    from swisbayes.spec.analysis import load_spec

    overrides = {k: v for k, v in overrides.items() if v is not None}
    specs = [_adapt(load_spec(find_spec_file(p)), covariates, family).with_sampler(**overrides)
             for p in spec_files]
    table = _checked_data(data, specs)
    return [_fit_one(spec, table, None, False) for spec in specs]


def _failed_fits(results: list[FitResult]) -> None:
    """Say which fits failed their gate, and exit with code 3 if any did."""
    failed = [r for r in results if not r.ok]
    for r in failed:
        click.echo(f"error: {r.spec.name}: the fit FAILED its convergence checks; its checks "
                   "are unreliable too: " + "; ".join(r.diagnostics.reasons), err=True)
    if failed:
        sys.exit(EXIT_UNRELIABLE)


@cli.command()
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False, path_type=Path))
@_fit_options
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Directory for SPEC-NAME-ppc.png (predictive densities of the "
                                 "school rates) and SPEC-NAME-loo-pit.png.")
@_spec_overrides
def check(spec_file: Path, data: Path | None, seed: int | None, draws: int | None,
          tune: int | None, chains: int | None, as_json: bool, plot_dir: Path | None,
          covariates: tuple[str, ...] | None, family: str | None) -> None:
    """Fit SPEC and criticise it: posterior predictive checks and PSIS-LOO with LOO-PIT.

    Prints each check's statistic, observed value and posterior predictive p-value (flagged
    below 0.01 or above 0.99), and elpd_loo with its SE, p_loo and the schools whose Pareto k
    exceeds 0.7. Exit code 3 if the fit failed its convergence checks.
    """
    [result] = _fit_for_criticism((spec_file,), data, {"seed": seed, "draws": draws,
                                                       "tune": tune, "chains": chains},
                                  covariates, family)
    ppc, loo = result.ppc(), result.loo()
    if as_json:
        click.echo(json.dumps({"ppc": ppc.to_dict(), "loo": loo.to_dict()}, indent=2))
    else:
        click.echo(f"{ppc.text}\n\n{loo.text}")
    if plot_dir is not None:
        from swisbayes.plots.basic import save_figure

        for name, figure in (("ppc", ppc.plot()), ("loo-pit", loo.plot())):
            path = save_figure(figure, plot_dir / f"{result.spec.name}-{name}.png")
            click.echo(f"wrote {path}", err=as_json)
    _failed_fits([result])


@cli.command()
@click.argument("spec_files", metavar="SPEC SPEC...", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@_fit_options
def compare(spec_files: tuple[Path, ...], data: Path | None, seed: int | None,
            draws: int | None, tune: int | None, chains: int | None, as_json: bool) -> None:
    """Fit each SPEC on the same data and rank them by PSIS-LOO (the elpd table).

    Per spec: elpd_loo and its SE, elpd_diff from the best and its SE (dse), p_loo and the
    schools with Pareto k > 0.7. The specs must analyse one outcome. Exit code 3 if a fit
    failed its convergence checks.
    """
    from swisbayes.inference.criticism import compare as compare_fits

    if len(spec_files) < 2:
        raise click.UsageError("give two or more SPECs to compare")
    results = _fit_for_criticism(spec_files, data, {"seed": seed, "draws": draws,
                                                    "tune": tune, "chains": chains})
    comparison = compare_fits(results)
    click.echo(json.dumps(comparison.to_dict(), indent=2) if as_json else comparison.text)
    _failed_fits(results)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``swisbayes`` console script: runs one command and ends the process.

    To run commands inside a longer-lived process (a test, a notebook), invoke :data:`cli`.
    """
    try:
        cli.main(args=argv, prog_name="swisbayes")
    finally:
        # The process ends here. Its final garbage collection would walk every object of the
        # thousands of modules a fit imports (0.25 s of each command) only to free memory the
        # OS takes back anyway; frozen objects are skipped. Results are written and closed by
        # now (atomically), and Python never promises finalizers to objects alive at exit.
        gc.freeze()
