"""swisbayes: Bayesian re-analysis of school-clustered randomised trials.

The whole pipeline is reachable from here, grouped as a statistician meets it::

    import swisbayes as sb
    data = sb.load_example()                    # or sb.read_data("trial.csv")
    an = sb.Analysis(sb.load_spec("s47_primary"), data)
    fit = an.fit()
    fit.decide(mcid=0.15); fit.under("sceptical"); fit.plot()

Names are imported on first use (PEP 562), so ``import swisbayes`` stays fast and a command
that only validates data never loads PyMC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from swisbayes._base.errors import ConvergenceError as ConvergenceError
from swisbayes._base.errors import DataError as DataError
from swisbayes._base.errors import SpecError as SpecError
from swisbayes._base.errors import SwisbayesError as SwisbayesError
from swisbayes._base.provenance import package_version

_EXPORTS: dict[str, tuple[str, str]] = {}
"""Public name -> (module, attribute), filled from :data:`_GROUPS`."""

_GROUPS: dict[str, dict[str, str]] = {
    # data: reading, checking and simulating trial files
    "swisbayes.data.io": {"load_example": "load_example", "read_data": "read_school_data",
                          "read_school_data": "read_school_data", "validate": "validate",
                          "SchoolData": "SchoolData"},
    "swisbayes.data.simulate": {"simulate_trial": "simulate_trial",
                                "simulate_pupils": "simulate_pupils",
                                "simulate_counts": "simulate_counts",
                                "CountOutcome": "CountOutcome"},
    "swisbayes.data.schema": {"outcome_schema": "outcome_schema",
                              "register_outcome": "register_outcome",
                              "known_outcomes": "known_outcomes",
                              "OutcomeSchema": "OutcomeSchema"},
    "swisbayes.data.published": {"published_estimate": "published_estimate"},
    # specs and the other input files
    "swisbayes.spec.analysis": {"AnalysisSpec": "AnalysisSpec", "load_spec": "load_spec"},
    "swisbayes.spec.grid": {"load_grid": "load_grid", "Grid": "Grid"},
    "swisbayes.spec.pilots": {"load_pilots": "load_pilots"},
    "swisbayes.spec.joint": {"load_joint_spec": "load_joint_spec"},
    "swisbayes.economics.net_benefit": {
        "load_economics": "load_economics", "EconomicInputs": "EconomicInputs",
        "net_benefit": "net_benefit", "summarise_net_benefit": "summarise_net_benefit",
        "ceac": "ceac", "evpi": "evpi", "evpi_by_wtp": "evpi_by_wtp",
        "format_money": "format_money"},
    "swisbayes.economics.voi": {"LinearNetBenefit": "LinearNetBenefit", "evsi": "evsi",
                                "evpi_mixture": "evpi_mixture",
                                "further_trial_value": "further_trial_value",
                                "evsi_table": "evsi_table"},
    "swisbayes.economics.value_for_money": {
        "mean_pupils": "mean_pupils", "per_school": "per_school",
        "value_for_money": "value_for_money", "ValueForMoney": "ValueForMoney"},
    # priors
    "swisbayes.priors.library": {"MixturePrior": "MixturePrior", "library_names": "library_names"},
    "swisbayes.priors.robust": {"robustify": "robustify", "discount": "discount"},
    "swisbayes.priors.ess": {"effective_sample_size": "effective_sample_size"},
    "swisbayes.priors.conjugate": {"update_prior": "posterior"},
    "swisbayes.evidence.resolver": {"get_prior": "get_prior", "resolve_prior": "effect_prior",
                                    "resolved_spec": "resolved_spec"},
    "swisbayes.evidence.meta_analysis": {"map_prior": "map_prior",
                                         "posterior_as_prior": "posterior_as_prior"},
    "swisbayes.evidence.reanalysis": {"reanalyse": "reanalyse"},
    # decisions
    "swisbayes.decision.rule": {"DecisionRule": "DecisionRule", "decide_verdict": "decide_verdict",
                                "prob_meaningful": "prob_meaningful",
                                "overall_verdict": "overall_verdict"},
    "swisbayes.decision.tipping": {
        "tipping_point": "tipping_point", "tipping_points": "tipping_points",
        "probability_curve": "probability_curve", "likelihood_from_draws": "likelihood_from_draws",
        "tipping_curve": "tipping_curve", "published_likelihood": "published_likelihood"},
    "swisbayes.decision.prior_families": {
        "NormalCentreFamily": "NormalCentreFamily", "NormalSDFamily": "NormalSDFamily",
        "RobustWeightFamily": "RobustWeightFamily"},
    "swisbayes.decision.joint": {"prob_all_below": "prob_all_below"},
    # fits
    "swisbayes.inference.fitting": {"FitResult": "FitResult"},
    "swisbayes.inference.screen": {"power_scaling_screen": "power_scaling_screen"},
    "swisbayes.inference.criticism": {
        "posterior_predictive_check": "posterior_predictive_check", "loo": "loo",
        "compare": "compare", "predictive_draws": "predictive_draws", "PpcResult": "PpcResult",
        "LooResult": "LooResult", "Comparison": "Comparison"},
    "swisbayes.inference.joint": {"fit_joint": "fit_joint", "JointResult": "JointResult",
                                  "independent_joint_probability":
                                      "independent_joint_probability"},
    "swisbayes.workflows.analysis": {"Analysis": "Analysis", "fit": "fit"},
    # batch work
    "swisbayes.workflows.sensitivity": {"run_grid": "run_grid"},
    "swisbayes.workflows.screen": {"screen_grid": "screen_grid", "grid_spread": "grid_spread",
                                  "compare_with_grid": "compare_with_grid"},
    "swisbayes.workflows.sensitivity_plots": {
        "plot_probability_by_prior": "plot_probability_by_prior",
        "plot_heatmap": "plot_heatmap"},
    "swisbayes.workflows.study": {"run_study": "run_study"},
    "swisbayes.workflows.sbc": {"run_sbc": "run_sbc"},
    "swisbayes.workflows.multiprior": {"analyse_outcome": "analyse_outcome",
                                       "run_analyses": "run_analyses"},
    "swisbayes.workflows.value_for_money": {
        "averted_per_school_year": "averted_per_school_year", "paired_draws": "paired_draws",
        "prior_economics": "prior_economics", "PriorEconomics": "PriorEconomics",
        "value_sweep": "value_sweep", "linear_net_benefit": "linear_net_benefit",
        "trial_values": "trial_values"},
    "swisbayes.workflows.tipping": {
        "data_alone": "data_alone", "fitted_likelihood": "fitted_likelihood",
        "tipping_families": "tipping_families", "verdict_tipping": "verdict_tipping",
        "outcome_tipping_curve": "outcome_tipping_curve",
        "plot_tipping_curve": "plot_tipping_curve"},
    # figures and the report
    "swisbayes.plots.checks": {"plot_predictive_rates": "plot_predictive_rates",
                               "plot_loo_pit": "plot_loo_pit"},
    "swisbayes.plots.basic": {"plot_forest": "plot_forest", "plot_priors": "plot_priors",
                              "save_figure": "save_figure"},
    "swisbayes.plots.decision": {"plot_ratio_posteriors": "plot_ratio_posteriors",
                                 "plot_la_effects": "plot_la_effects", "plot_ceac": "plot_ceac",
                                 "plot_tipping": "plot_tipping", "prior_colour": "prior_colour"},
    "swisbayes.report.run": {"make_report": "make_report"},
}
for _module, _names in _GROUPS.items():
    for _public, _attribute in _names.items():
        _EXPORTS[_public] = (_module, _attribute)

__version__ = package_version()

__all__ = sorted({*_EXPORTS, "ConvergenceError", "DataError", "SpecError", "SwisbayesError",
                  "__version__"})


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'swisbayes' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # static analysers and IDEs see the same names
    from swisbayes.data.io import load_example, read_school_data, validate  # noqa: F401
    from swisbayes.spec.analysis import AnalysisSpec, load_spec  # noqa: F401
    from swisbayes.workflows.analysis import Analysis, fit  # noqa: F401
