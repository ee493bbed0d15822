"""Decide, cell by cell, whether to sample, reweight or recompute.

Cells are grouped (:class:`~swisbayes.workflows.keys.CellKeys`): a **group** shares model,
data, seed and sampler settings and differs only in the effect prior, half-normal scales and
MCID; a **draw set** is the cells of a group with the same posterior (they differ only in the
MCID). In each group:

1. The draw sets are ordered from the widest prior to the narrowest: the largest SD of the
   effect prior first (the vague prior when the grid has it), then the largest hyperprior
   scales. Importance sampling works from a wide proposal to a narrower target (the weights are
   then bounded), not the other way round.
2. The widest draw set, the **base**, is sampled. With a vague prior in the group (the widest
   prior there is) the base is known before any other prior is resolved, so a grid stopped
   early never runs the pilots' meta-analysis for nothing.
3. Every other draw set is tried against each new sampled draw set: PSIS weights of the sampled
   draws for its prior. If k-hat < ``max_khat`` and the importance ESS >= ``min_ess``, its cells
   are *reweighted*; else it waits.
4. While some wait, the widest of them is sampled, becomes a proposal too (the nearest sampled
   cell for the narrow priors around it), and step 3 repeats.

Within a draw set, the first cell is sampled or reweighted and the others (other MCIDs) are
*recomputed* from the same draws, with the decision kernels of the outcome's kind
(:func:`~swisbayes.families.registry.decide_spec`: counts, days in care, attendance). A fit that
failed its diagnostics is never a proposal; a fit whose row those kernels cannot reproduce from its
draws has each of its cells sampled.

Every decision depends only on the draws, which depend only on spec, seed and data, so the rows
are the same whichever executor ran the fits and however a run was interrupted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import xarray as xr

from swisbayes.evidence.resolver import effect_prior
from swisbayes.families.registry import decide_spec
from swisbayes.inference.reweight import PriorState, PriorTargets, find_targets, reweight
from swisbayes.priors.library import MixturePrior
from swisbayes.spec.analysis import AnalysisSpec
from swisbayes.spec.grid import Reweighting
from swisbayes.spec.hyper import get_scale, half_normal_paths
from swisbayes.workflows.rows import Entry, derived_row


@dataclass
class DrawSet:
    """Cells with the same posterior; the first is the one sampled or reweighted.

    Parameters
    ----------
    entries : list of Entry
        The cells, in grid order.
    resolve : callable
        Resolves a spec's effect prior; called only when the prior is first needed, so a base
        with the vague prior is sampled before any pilots' meta-analysis runs.
    """

    entries: list[Entry]
    resolve: Callable[[AnalysisSpec], MixturePrior] = effect_prior
    _state: PriorState | None = None

    @property
    def first(self) -> Entry:
        """The cell that stands for the draw set."""
        return self.entries[0]

    @property
    def state(self) -> PriorState:
        """The effect prior (resolved) and the half-normal scales."""
        if self._state is None:
            spec = self.first.cell.spec
            self._state = PriorState.of(spec, self.resolve(spec))
        return self._state

    @property
    def is_vague(self) -> bool:
        """Whether the effect prior is the library's vague prior (known without resolving)."""
        entry = self.first.cell.spec.priors.effect
        return entry.name == "vague" and entry.weights is None and entry.mean is None

    def hyper_width(self) -> float:
        """Sum of the log half-normal scales (larger = wider)."""
        spec = self.first.cell.spec
        return sum(math.log(get_scale(spec, p)) for p in half_normal_paths())

    def width(self) -> tuple[float, float]:
        """Effect-prior SD and the sum of log hyperprior scales (larger = wider)."""
        return (self.state.effect.sd, self.hyper_width())


@dataclass
class Proposal:
    """A sampled draw set that other draw sets may be reweighted from."""

    draw_set: DrawSet
    row: dict
    posterior: xr.Dataset


@dataclass
class GroupRouter:
    """Routes the cells of one group (see the module docstring).

    Parameters
    ----------
    draw_sets : list of DrawSet
        The group's draw sets, in grid order.
    complete : set of str
        Cells already finished (their rows are not written again).
    settings : Reweighting
        Thresholds, and whether reweighting is allowed at all.
    emit : callable
        ``emit(row)`` is called with every derived row (the grid's plan has the engine write it).
    """

    draw_sets: list[DrawSet]
    complete: set[str]
    settings: Reweighting
    emit: Callable[[dict], None]
    proposals: list[Proposal] = field(default_factory=list)
    waiting: list[DrawSet] = field(default_factory=list)
    in_flight: DrawSet | None = None
    targets: PriorTargets | None = None
    _started: bool = False
    _sorted: bool = False
    _requested: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._by_entry = {e.name: d for d in self.draw_sets for e in d.entries}

    def spec_json(self, entry: Entry) -> str:
        """The cell's spec with its prior resolved: what is fitted and recorded."""
        return entry.cell.spec.with_prior(self._by_entry[entry.name].state.effect).to_json()

    def start(self) -> list[Entry]:
        """The cells to sample first: the base, or every draw set when reweighting is off."""
        if not self.settings.enabled:
            return [d.first for d in self.draw_sets
                    if any(e.name not in self.complete for e in d.entries)]
        base = self._base()
        self.waiting = [base] + [d for d in self.draw_sets if d is not base]
        return self._next()

    def _base(self) -> DrawSet:
        """The widest draw set; the vague prior is the widest effect prior there is, so with
        one in the group no other prior needs resolving before the base is sampled."""
        vague = [d for d in self.draw_sets if d.is_vague]
        if vague:
            return max(vague, key=lambda d: d.hyper_width())  # first of equals
        return min(self.draw_sets, key=lambda d: tuple(-w for w in d.width()))

    def _order_waiting(self) -> None:
        # Widest first, so that each new proposal is the widest prior not yet answered; ties
        # keep grid order (sorted is stable).
        if not self._sorted:
            self.waiting.sort(key=lambda d: tuple(-w for w in d.width()))
            self._sorted = True

    def sampled(self, entry: Entry, row: dict, posterior: xr.Dataset) -> list[Entry]:
        """A cell was sampled (or loaded): derive its siblings and route the waiting cells.

        Returns
        -------
        list of Entry
            Cells to sample next.
        """
        draw_set = self._by_entry[entry.name]
        if self.in_flight is draw_set:
            self.in_flight = None
        self.complete.add(entry.name)
        proposal = Proposal(draw_set, row, posterior)
        derivable = _reproduces_fit(entry, proposal)
        others = [o for o in draw_set.entries
                  if o.name not in self.complete and o.name not in self._requested]
        more: list[Entry] = []
        for other in others:
            if derivable:
                self._derive(other, proposal, None)
            else:  # its decision quantities need its own fit
                self._requested.add(other.name)
                more.append(other)
        if derivable and row["diagnostics"]["ok"] and self.settings.enabled:
            self.proposals.append(proposal)
            self._route(proposal)
        return more + self._next()

    def failed(self, entry: Entry) -> list[Entry]:
        """Sampling a cell raised: the group goes on without it. Returns cells to sample next."""
        if self.in_flight is self._by_entry[entry.name]:
            self.in_flight = None
        return self._next()

    def _next(self) -> list[Entry]:
        if not self.settings.enabled or self.in_flight is not None:
            return []
        if self._started:  # the base is taken as it is; after it, the widest waiting
            self._order_waiting()
        self._started = True
        if not any(e.name not in self.complete for d in self.waiting for e in d.entries):
            self.waiting = []  # what is left is finished: no need for more proposals
            return []
        self.in_flight = self.waiting.pop(0)
        return [self.in_flight.first]

    def _route(self, proposal: Proposal) -> None:
        """Reweight every waiting draw set that the new proposal's draws can answer."""
        self._order_waiting()
        still = []
        for draw_set in self.waiting:
            result = self._reweight(draw_set, proposal)
            if result is not None and result.acceptable(self.settings.max_khat,
                                                        self.settings.min_ess):
                for entry in draw_set.entries:
                    if entry.name not in self.complete:
                        self._derive(entry, proposal, result)
            else:
                still.append(draw_set)
        self.waiting = still

    def _reweight(self, draw_set: DrawSet, proposal: Proposal):
        return reweight(proposal.posterior, self._targets(proposal), draw_set.state,
                        proposal.draw_set.state)

    def _targets(self, proposal: Proposal) -> PriorTargets:
        if self.targets is None:
            varying = [p for p in half_normal_paths()
                       if len({d.state.scales[p] for d in self.draw_sets}) > 1]
            entry = proposal.draw_set.first
            spec = entry.cell.spec.with_prior(proposal.draw_set.state.effect)
            self.targets = find_targets(spec, entry.data, varying)
        return self.targets

    def _derive(self, entry: Entry, proposal: Proposal, result) -> None:
        spec = entry.cell.spec
        weights = None if result is None else result.weights
        summary = decide_spec(proposal.posterior, spec, weights=weights)
        self.emit(derived_row(entry, proposal.row, summary, self.spec_json(entry), result))
        self.complete.add(entry.name)


def _reproduces_fit(entry: Entry, proposal: Proposal) -> bool:
    """Whether this package's decision kernels give the fit's own row from its draws.

    :func:`~swisbayes.families.registry.decide_spec`, unweighted, must give every decision key of
    the sampled row with the same value, and no decision key of the row may be missing (a derived
    row has then exactly the keys of a sampled one). A posterior without the variables the outcome's
    decision reads, or a row written by other decision formulas, fails this check, and the cells of
    its draw set are then all sampled rather than derived with the wrong formulas.
    """
    row = proposal.row
    try:
        again = decide_spec(proposal.posterior, entry.cell.spec)
        layout = derived_row(entry, row, again, "null", None)  # only its keys matter
    except (KeyError, ValueError):
        return False
    keys = again.to_dict()
    return set(layout) == set(row) and all(row[k] == v for k, v in keys.items())


def make_draw_set(entries: list[Entry],
                  resolve: Callable[[AnalysisSpec], MixturePrior] = effect_prior) -> DrawSet:
    """A draw set from its cells (grid order); ``resolve`` resolves its prior when needed."""
    return DrawSet(entries, resolve)


__all__ = ["DrawSet", "GroupRouter", "Proposal", "make_draw_set"]
