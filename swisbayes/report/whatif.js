/* The report's "What if?" panel: recompute the decision on the page for another prior, MCID,
 * value of an averted event, programme cost or decision rule, from the vague-prior draws the
 * page carries (the JSON element #whatif-data, written by swisbayes.report.whatif).
 *
 * Every kernel below ports the library function named beside it, in the same order of
 * operations, so that the page and swisbayes.report.whatif.answer agree on the same draws:
 * PSIS as arviz_stats' psislw with r_eff from the relative ESS of the raw ratios
 * (swisbayes.inference.reweight.psis), weighted shares and quantiles as
 * swisbayes.decision.draws, net benefit as swisbayes.economics, the value of further trials as
 * swisbayes.economics.voi and the verdict as swisbayes.decision.rule.DecisionRule.
 * No library, no network: the page stays one self-contained file.
 */
(function () {
  "use strict";

  // ------------------------------------------------------------------ numeric helpers

  const EPS = 2.220446049250313e-16;
  const TINY = 2.2250738585072014e-308;

  function sum(x) {
    let s = 0.0;
    for (let i = 0; i < x.length; i++) s += x[i];
    return s;
  }

  function mean(x) {
    return sum(x) / x.length;
  }

  function maxOf(x) {
    let m = -Infinity;
    for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
    return m;
  }

  // numpy's logaddexp
  function logaddexp(x, y) {
    if (x === y) return x + Math.LN2;
    const t = x - y;
    if (t > 0) return x + Math.log1p(Math.exp(-t));
    if (t <= 0) return y + Math.log1p(Math.exp(t));
    return t;
  }

  // scipy.special.logsumexp: the maxima are taken out of the sum, for precision
  function logsumexp(a) {
    const top = maxOf(a);
    if (!isFinite(top)) return top;
    let count = 0;
    let s = 0.0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === top) count += 1;
      else s += Math.exp(a[i] - top);
    }
    return Math.log1p(s / count) + Math.log(count) + top;
  }

  const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

  // swisbayes.priors.library.normal_logpdf
  function normalLogpdf(x, m, s) {
    const z = (x - m) / s;
    return -0.5 * (z * z) - Math.log(s) - HALF_LOG_2PI;
  }

  // MixturePrior.logpdf: components reduced with logaddexp in order
  function mixtureLogpdf(prior, x) {
    let out = Math.log(prior.w[0]) + normalLogpdf(x, prior.m[0], prior.s[0]);
    for (let j = 1; j < prior.w.length; j++) {
      out = logaddexp(out, Math.log(prior.w[j]) + normalLogpdf(x, prior.m[j], prior.s[j]));
    }
    return out;
  }

  function mixtureMean(p) {
    let m = 0.0;
    for (let j = 0; j < p.w.length; j++) m += p.w[j] * p.m[j];
    return m;
  }

  function mixtureSd(p) {
    const mu = mixtureMean(p);
    let v = 0.0;
    for (let j = 0; j < p.w.length; j++) {
      const d = p.m[j] - mu;
      v += p.w[j] * (p.s[j] * p.s[j] + d * d);
    }
    return Math.sqrt(v);
  }

  function samePrior(a, b) {
    const eq = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
    return eq(a.w, b.w) && eq(a.m, b.m) && eq(a.s, b.s);
  }

  // swisbayes.priors.robust.robustify
  function robustify(prior, weight, vague) {
    if (weight === 1.0) return prior;
    if (weight === 0.0) return vague;
    return {
      w: prior.w.map((v) => weight * v).concat(vague.w.map((v) => (1 - weight) * v)),
      m: prior.m.concat(vague.m),
      s: prior.s.concat(vague.s),
    };
  }

  // The normal CDF to about 1e-15: erf by its series with positive terms below 2.5, erfc by
  // its continued fraction above (scipy's ndtr is as accurate; the two agree far below what
  // the value of information can tell apart).
  function erfcPositive(x) {
    if (x < 2.5) {
      let term = x;
      let total = x;
      const twoX2 = 2 * x * x;
      for (let n = 1; n < 200; n++) {
        term *= twoX2 / (2 * n + 1);
        total += term;
        if (term < total * 1e-17) break;
      }
      return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * total;
    }
    // modified Lentz: erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
    let f = x;
    let c = x;
    let d = 0.0;
    for (let n = 1; n < 500; n++) {
      const a = n / 2;
      d = x + a * d;
      d = d === 0 ? 1e-300 : d;
      c = x + a / c;
      c = c === 0 ? 1e-300 : c;
      d = 1 / d;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
  }

  function erfc(x) {
    return x >= 0 ? erfcPositive(x) : 2 - erfcPositive(-x);
  }

  function ndtr(z) {
    return 0.5 * erfc(-z / Math.SQRT2);
  }

  function ndtrSf(z) {
    return 0.5 * erfc(z / Math.SQRT2);
  }

  // scipy.optimize.brentq (Zeros/brentq.c)
  function brentq(f, xa, xb, xtol, rtol, maxiter) {
    let xpre = xa, xcur = xb, xblk = 0.0, fblk = 0.0, spre = 0.0, scur = 0.0;
    let fpre = f(xpre), fcur = f(xcur);
    if (fpre === 0) return xpre;
    if (fcur === 0) return xcur;
    for (let i = 0; i < maxiter; i++) {
      if (fpre !== 0 && fcur !== 0 && (Math.sign(fpre) !== Math.sign(fcur))) {
        xblk = xpre;
        fblk = fpre;
        spre = scur = xcur - xpre;
      }
      if (Math.abs(fblk) < Math.abs(fcur)) {
        xpre = xcur; xcur = xblk; xblk = xpre;
        fpre = fcur; fcur = fblk; fblk = fpre;
      }
      const delta = (xtol + rtol * Math.abs(xcur)) / 2;
      const sbis = (xblk - xcur) / 2;
      if (fcur === 0 || Math.abs(sbis) < delta) return xcur;
      if (Math.abs(spre) > delta && Math.abs(fcur) < Math.abs(fpre)) {
        let stry;
        if (xpre === xblk) {
          stry = -fcur * (xcur - xpre) / (fcur - fpre);
        } else {
          const dpre = (fpre - fcur) / (xpre - xcur);
          const dblk = (fblk - fcur) / (xblk - xcur);
          stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre));
        }
        if (2 * Math.abs(stry) < Math.min(Math.abs(spre), 3 * Math.abs(sbis) - delta)) {
          spre = scur;
          scur = stry;
        } else {
          spre = sbis;
          scur = sbis;
        }
      } else {
        spre = sbis;
        scur = sbis;
      }
      xpre = xcur;
      fpre = fcur;
      if (Math.abs(scur) > delta) xcur += scur;
      else xcur += (sbis > 0 ? delta : -delta);
      fcur = f(xcur);
    }
    return xcur;
  }

  // ------------------------------------------------------------------ PSIS (arviz_stats)

  // Geyer's initial monotone sequence on split chains: arviz_stats' _ess on
  // _split_chains(ary), relative; the autocovariance at each lag directly (the FFT's result to
  // rounding), only for the lags the sequence reaches.
  function essMeanRelative(raw, chains, draws) {
    for (let i = 0; i < raw.length; i++) if (Number.isNaN(raw[i])) return NaN;
    if (draws < 4) return NaN;
    const half = Math.floor(draws / 2);
    const rows = [];
    for (let c = 0; c < chains; c++) rows.push(raw.subarray(c * draws, c * draws + half));
    for (let c = 0; c < chains; c++) {
      rows.push(raw.subarray(c * draws + draws - half, (c + 1) * draws));
    }
    let lo = Infinity, hi = -Infinity;
    for (const r of rows) for (let i = 0; i < r.length; i++) {
      if (r[i] < lo) lo = r[i];
      if (r[i] > hi) hi = r[i];
    }
    const nChain = rows.length, n = half;
    if (hi - lo < 1e-15) return nChain * n;  // as arviz: the size, even when relative
    const centred = rows.map((r) => {
      const m = mean(r);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = r[i] - m;
      return out;
    });
    const chainMean = rows.map(mean);
    const acovMean = (t) => {
      let total = 0.0;
      for (const x of centred) {
        let s = 0.0;
        for (let i = 0; i + t < n; i++) s += x[i] * x[i + t];
        total += s / n;
      }
      return total / nChain;
    };
    const meanVar = acovMean(0) * n / (n - 1.0);
    let varPlus = meanVar * (n - 1.0) / n;
    if (nChain > 1) {
      const m = mean(chainMean);
      let ss = 0.0;
      for (const v of chainMean) ss += (v - m) * (v - m);
      varPlus += ss / (nChain - 1);
    }
    const rho = new Float64Array(n);
    let even = 1.0;
    rho[0] = even;
    let odd = 1.0 - (meanVar - acovMean(1)) / varPlus;
    rho[1] = odd;
    let t = 1;
    while (t < n - 3 && (even + odd) > 0.0) {
      even = 1.0 - (meanVar - acovMean(t + 1)) / varPlus;
      odd = 1.0 - (meanVar - acovMean(t + 2)) / varPlus;
      if (even + odd >= 0) {
        rho[t + 1] = even;
        rho[t + 2] = odd;
      }
      t += 2;
    }
    const maxT = t - 2;
    if (even > 0) rho[maxT + 1] = even;
    t = 1;
    while (t <= maxT - 2) {
      if (rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]) {
        rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0;
        rho[t + 2] = rho[t + 1];
      }
      t += 2;
    }
    let tau = -1.0;
    let head = 0.0;
    for (let i = 0; i <= maxT; i++) head += rho[i];
    tau += 2.0 * head + (maxT + 1 < n ? rho[maxT + 1] : 0.0);
    tau = Math.max(tau, 1 / Math.log10(nChain * n));
    for (let i = 0; i < n; i++) if (Number.isNaN(rho[i])) return NaN;
    return 1 / tau;
  }

  // arviz_stats _gpdfit: empirical Bayes fit of the generalised Pareto to sorted exceedances
  function gpdfit(x) {
    const n = x.length;
    const priorBs = 3, priorK = 10;
    const mEst = 30 + Math.floor(Math.pow(n, 0.5));
    const xstar = x[Math.floor((n / 4 + 0.5) - 1)];
    if (xstar <= x[0]) return [NaN, NaN];
    let b = new Float64Array(mEst);
    for (let i = 0; i < mEst; i++) {
      b[i] = (1 - Math.sqrt(mEst / ((i + 1) - 0.5))) / (priorBs * xstar) + 1 / x[n - 1];
    }
    const k = new Float64Array(mEst);
    const lenScale = new Float64Array(mEst);
    for (let i = 0; i < mEst; i++) {
      let s = 0.0;
      for (let j = 0; j < n; j++) s += Math.log1p(-b[i] * x[j]);
      k[i] = s / n;
      lenScale[i] = n * (Math.log(-b[i] / k[i]) - k[i] - 1);
    }
    const lse = logsumexp(lenScale);
    let w = Array.from(lenScale, (v) => Math.exp(v - lse));
    const keep = w.map((v) => v >= 10 * EPS);
    b = Float64Array.from(Array.from(b).filter((_, i) => keep[i]));
    w = w.filter((_, i) => keep[i]);
    const wTotal = sum(w);
    w = w.map((v) => v / wTotal);
    let bPost = 0.0;
    for (let i = 0; i < b.length; i++) bPost += b[i] * w[i];
    let kappa = 0.0;
    for (let j = 0; j < n; j++) kappa += Math.log1p(-bPost * x[j]);
    kappa /= n;
    const sigma = -kappa / bPost;
    kappa = (n * kappa + priorK * 0.5) / (n + priorK);
    if (Number.isNaN(kappa)) return [Infinity, NaN];
    return [kappa, sigma];
  }

  // arviz_stats _gpinv
  function gpinv(p, kappa, sigma, mu) {
    if (sigma <= 0) return NaN;
    if (kappa === 0) return mu - sigma * Math.log1p(-p);
    return mu + sigma * Math.expm1(-kappa * Math.log1p(-p)) / kappa;
  }

  // arviz_stats psislw of -lr: Pareto-smoothed log weights of the right tail, normalised
  function psislw(lr, reff) {
    const n = lr.length;
    const nTail = n * reff > 225 ? Math.floor(3 * Math.pow(n / reff, 0.5)) : Math.floor(n / 5);
    if (nTail < 5) throw new Error("n_draws_tail must be at least 5");
    const top = maxOf(lr);
    const ary = new Float64Array(n);
    for (let i = 0; i < n; i++) ary[i] = lr[i] - top;
    // Only the tail's order matters: the cutoff from a native sort of the values, then the
    // few draws at or above the tail's smallest value sorted by value (ties by position).
    const first = n - nTail;
    const values = Float64Array.from(ary).sort();
    const candidates = [];
    for (let i = 0; i < n; i++) if (ary[i] >= values[first]) candidates.push(i);
    candidates.sort((a, b) => ary[a] - ary[b] || a - b);
    const order = candidates.slice(candidates.length - nTail);
    const tail = new Float64Array(nTail);
    for (let i = 0; i < nTail; i++) tail[i] = ary[order[i]];
    const maxTail = tail[nTail - 1];
    if (Math.abs(maxTail - tail[0]) < TINY) throw new Error("All tail values are the same");
    const cutoff = Math.exp(values[first - 1]);
    const exceed = new Float64Array(nTail);
    for (let i = 0; i < nTail; i++) exceed[i] = Math.exp(tail[i]) - cutoff;
    const [khat, sigma] = gpdfit(exceed);
    if (isFinite(khat)) {
      for (let i = 0; i < nTail; i++) {
        let s = Math.log(gpinv((0.5 + i) / nTail, khat, sigma, cutoff));
        if (s > maxTail) s = maxTail;
        ary[order[i]] = s;
      }
    }
    const lse = logsumexp(ary);
    for (let i = 0; i < n; i++) ary[i] -= lse;
    return [ary, khat];
  }

  // swisbayes.decision.draws.normalised_weights: null for equal weights
  function normalised(w) {
    if (w === null) return null;
    let equal = true;
    for (let i = 1; i < w.length; i++) if (w[i] !== w[0]) { equal = false; break; }
    if (equal) return null;
    const total = sum(w);
    const out = new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) out[i] = w[i] / total;
    return out;
  }

  // swisbayes.inference.reweight.psis
  function psis(lr, chains, draws) {
    const n = lr.length;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (!isFinite(lr[i])) return { weights: new Float64Array(n).fill(1.0 / n), khat: Infinity, ess: 0.0 };
      if (lr[i] < lo) lo = lr[i];
      if (lr[i] > hi) hi = lr[i];
    }
    if (hi - lo < 1e-12) return { weights: null, khat: null, ess: n };
    const raw = new Float64Array(n);
    for (let i = 0; i < n; i++) raw[i] = Math.exp(lr[i] - hi);
    let reff = essMeanRelative(raw, chains, draws);
    reff = isFinite(reff) ? Math.min(Math.max(reff, 1e-3), 1.0) : 1.0;
    const [lw, khat] = psislw(lr, reff);
    const top = maxOf(lw);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = Math.exp(lw[i] - top);
    const total = sum(w);
    for (let i = 0; i < n; i++) w[i] /= total;
    const nw = normalised(w);
    let kish = n;
    if (nw !== null) {
      let s2 = 0.0;
      for (let i = 0; i < n; i++) s2 += nw[i] * nw[i];
      kish = 1.0 / s2;
    }
    return { weights: w, khat: khat, ess: reff * kish };
  }

  // ------------------------------------------------------------------ kernels over draws

  // numpy.quantile, method "linear", on sorted draws
  function quantileSorted(xs, q) {
    const n = xs.length;
    const virtual = (n - 1) * q;
    let prev = Math.floor(virtual), next = prev + 1;
    if (virtual >= n - 1) { prev = n - 1; next = n - 1; }
    if (virtual < 0) { prev = 0; next = 0; }
    const t = virtual - Math.floor(virtual);
    const a = xs[prev], b = xs[next];
    const diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  // numpy.median on sorted draws
  function medianSorted(xs) {
    const n = xs.length, h = Math.floor(n / 2);
    return n % 2 ? xs[h] : (xs[h - 1] + xs[h]) / 2;
  }

  // weighted_quantile: each sorted draw at the midpoint of its weight, numpy.interp between
  function weightedQuantile(sorted, w, qs) {
    const { xs, order } = sorted;
    const n = xs.length;
    const cum = new Float64Array(n);
    let run = 0.0;
    for (let i = 0; i < n; i++) {
      const wi = w[order[i]];
      run += wi;
      cum[i] = run - wi / 2;
    }
    return qs.map((q) => {
      if (q < cum[0]) return xs[0];
      if (q > cum[n - 1]) return xs[n - 1];
      if (q === cum[n - 1]) return xs[n - 1];
      let lo = 0, hi = n - 1;  // the last j with cum[j] <= q
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] <= q) lo = mid; else hi = mid;
      }
      const j = lo;
      if (q === cum[j]) return xs[j];
      const slope = (xs[j + 1] - xs[j]) / (cum[j + 1] - cum[j]);
      let r = slope * (q - cum[j]) + xs[j];
      if (Number.isNaN(r)) {
        r = slope * (q - cum[j + 1]) + xs[j + 1];
        if (Number.isNaN(r) && xs[j] === xs[j + 1]) r = xs[j];
      }
      return r;
    });
  }

  function sortDraws(x) {
    const order = Array.from(x.keys()).sort((a, b) => x[a] - x[b] || a - b);
    return { xs: Float64Array.from(order, (i) => x[i]), order: order };
  }

  // summarise_ratio / summarise_difference: median, interval and the shares the rule reads
  function summarise(x, sorted, w, lower, ciProb) {
    const nw = normalised(w);
    const qs = [(1 - ciProb) / 2, (1 + ciProb) / 2];
    let median, ci;
    if (nw === null) {
      median = medianSorted(sorted.xs);
      ci = qs.map((q) => quantileSorted(sorted.xs, q));
    } else {
      [median, ...ci] = weightedQuantile(sorted, nw, [0.5, qs[0], qs[1]]);
    }
    const zero = lower.zero, meaningful = lower.meaningful;
    let any = 0.0, cut = 0.0, harm = 0.0;
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const v = x[i], wi = nw === null ? 1.0 : nw[i];
      if (v < zero) any += wi;
      if (v < meaningful) cut += wi;
      if (v > zero) harm += wi;
    }
    if (nw === null) { any /= n; cut /= n; harm /= n; }
    return { median: median, ci_low: ci[0], ci_high: ci[1], p_any: any, p_meaningful: cut,
             p_harm: harm };
  }

  // equal_weight_draws: systematic resampling at (i + 1/2) / n of the weights' cumulative sum
  function equalWeightDraws(x, w, n) {
    if (w === null) return x;
    const size = x.length;
    const cdf = new Float64Array(size);
    let run = 0.0;
    for (let i = 0; i < size; i++) { run += w[i]; cdf[i] = run; }
    const last = cdf[size - 1];
    for (let i = 0; i < size; i++) cdf[i] = cdf[i] / last;
    const out = new Float64Array(n);
    let j = 0;
    for (let i = 0; i < n; i++) {
      const u = (i + 0.5) / n;
      while (j < size && cdf[j] < u) j++;
      out[i] = x[Math.min(j, size - 1)];
    }
    return out;
  }

  // ------------------------------------------------------------------ value of information

  // swisbayes.priors.conjugate.posterior
  function conjugate(p, y, se) {
    const k = p.w.length;
    const v = [], mu = [], logW = [];
    for (let j = 0; j < k; j++) {
      const sd2 = p.s[j] * p.s[j], se2 = se * se;
      v.push(1.0 / (1.0 / sd2 + 1.0 / se2));
      mu.push(v[j] * (p.m[j] / sd2 + y / se2));
      logW.push(Math.log(p.w[j]) + normalLogpdf(y, p.m[j], Math.sqrt(sd2 + se2)));
    }
    let norm = logW[0];
    for (let j = 1; j < k; j++) norm = logaddexp(norm, logW[j]);
    const w = logW.map((l) => Math.exp(l - norm));
    const keep = w.map((x) => x > 0);
    const kept = w.filter((_, j) => keep[j]);
    const total = sum(kept);
    return { w: kept.map((x) => x / total), m: mu.filter((_, j) => keep[j]),
             s: v.filter((_, j) => keep[j]).map(Math.sqrt) };
  }

  function logMeanExp(p) {
    return logsumexp(p.w.map((w, j) => Math.log(w) + p.m[j] + p.s[j] * p.s[j] / 2));
  }

  function breakEven(nb) {
    if (nb.b <= 0) return -Infinity;
    return nb.a === 0 ? Infinity : Math.log(nb.b / nb.a);
  }

  function decisionSwitch(mixture, nb, se) {
    const target = breakEven(nb);
    if (se === 0.0) return target;
    const gap = (y) => logMeanExp(conjugate(mixture, y, se)) - target;
    const centre = target;
    const sd = mixtureSd(mixture);
    const spread = Math.sqrt(sd * sd + se * se);
    const reach = 1e3 * (spread + Math.abs(mixtureMean(mixture) - target));
    let step = Math.max(spread, 1.0);
    while (step <= reach) {
      const lo = centre - step, hi = centre + step;
      if (gap(lo) < 0 && 0 < gap(hi)) {
        return brentq(gap, lo, hi, 1e-12 * Math.max(1.0, Math.abs(centre)), 1e-12, 100);
      }
      step *= 4.0;
    }
    return null;
  }

  // voi._value_of_information: EVSI of an estimate with standard error se
  function valueOfInformation(mixture, nb, se) {
    const a = nb.a, b = nb.b;
    if (a === 0 || b <= 0) return 0.0;
    const yStar = decisionSwitch(mixture, nb, se);
    if (yStar === null) return 0.0;
    const investingNow = b - a * Math.exp(logMeanExp(mixture)) > 0;
    let gain = 0.0;
    for (let j = 0; j < mixture.w.length; j++) {
      const m = mixture.m[j], s = mixture.s[j];
      const sdY = Math.sqrt(s * s + se * se);
      const zCount = (yStar - m) / sdY, zExp = (yStar - m - s * s) / sdY;
      const expMean = Math.exp(m + s * s / 2);
      gain += investingNow
        ? mixture.w[j] * (b * ndtrSf(zCount) - a * expMean * ndtrSf(zExp))
        : mixture.w[j] * (b * ndtr(zCount) - a * expMean * ndtr(zExp));
    }
    return Math.max(investingNow ? -gain : gain, 0.0);
  }

  // ------------------------------------------------------------------ the model of the page

  // base64 of little-endian float64 (swisbayes.report.whatif._encode)
  function decode(text) {
    const chars = atob(text);
    const bytes = new Uint8Array(chars.length);
    for (let i = 0; i < chars.length; i++) bytes[i] = chars.charCodeAt(i);
    if (new Uint8Array(new Float64Array([1.0]).buffer)[7] === 0x3f) {
      return new Float64Array(bytes.buffer);  // this machine is little-endian too
    }
    const view = new DataView(bytes.buffer);
    const out = new Float64Array(bytes.length / 8);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }

  function prepare(data) {
    const pupils = data.pupils_per_school;
    const outcomes = data.outcomes.map((o) => {
      const draws = {};
      for (const [name, text] of Object.entries(o.draws)) draws[name] = decode(text);
      o.draws = null;  // the text is decoded: let it go (a smaller heap collects faster)
      const out = Object.assign({}, o, { arrays: draws, cache: new Map() });
      if (draws.rate_swis_per_1000) {
        const rs = draws.rate_swis_per_1000, rc = draws.rate_control_per_1000;
        const n = rs.length;
        const ratio = new Float64Array(n), control = new Float64Array(n);
        const averted = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          ratio[i] = rs[i] / rc[i];  // population_ratio
          control[i] = rc[i] / o.followup_years;
          averted[i] = control[i] * (1.0 - ratio[i]) * pupils / 1000.0;  // per_school
        }
        Object.assign(out, { ratio: ratio, control: control, averted: averted });
      }
      out.headlineDraws = o.headline === "points" ? draws.diff_pp : out.ratio;
      out.sortedHeadline = sortDraws(out.headlineDraws);
      if (out.ratio) out.sortedRatio = o.headline === "ratio" ? out.sortedHeadline
                                                             : sortDraws(out.ratio);
      return out;
    });
    return Object.assign({}, data, { model: outcomes });
  }

  function priorFor(o, s) {
    if (s.prior === "custom") return { w: [1.0], m: [Math.log(s.centre)], s: [s.sd] };
    if (s.prior === "pilot-informed") {
      return o.pilots ? robustify(o.pilots.map, s.pilot_weight, o.base_prior) : null;
    }
    return o.priors[s.prior] || null;
  }

  // FitResult.under: PSIS weights of the vague-prior draws for another prior, cached
  function reweighted(o, prior, data) {
    const key = JSON.stringify(prior);
    if (o.cache.has(key)) return o.cache.get(key);
    let result;
    const n = data.chains * data.draws;
    if (!o.effect_vars.length) {
      result = { weights: null, khat: null, ess: n, trusted: samePrior(prior, o.base_prior) };
    } else {
      const lr = new Float64Array(n);
      if (!samePrior(prior, o.base_prior)) {
        for (const name of o.effect_vars) {
          const x = o.arrays[name];
          for (let i = 0; i < n; i++) {
            lr[i] = lr[i] + (mixtureLogpdf(prior, x[i]) - mixtureLogpdf(o.base_prior, x[i]));
          }
        }
      }
      let r;
      try {
        r = psis(lr, data.chains, data.draws);
      } catch (err) {
        r = { weights: new Float64Array(n).fill(1.0 / n), khat: Infinity, ess: 0.0 };
      }
      // FitResult.under reweights only the draws of a fit that passed its own checks
      const trusted = r.weights === null
        || (r.khat < data.max_khat && r.ess >= data.min_ess && o.reliable);
      result = Object.assign(r, { trusted: trusted });
    }
    if (o.cache.size >= 40) o.cache.delete(o.cache.keys().next().value);  // the oldest
    o.cache.set(key, result);
    return result;
  }

  // What the page shows for some settings: swisbayes.report.whatif.answer, key for key
  function compute(data, s) {
    const out = {};
    const info = {};
    let primaryEffect = null;
    for (const o of data.model) {
      const k = o.key;
      let prior = priorFor(o, s);
      out["borrowed." + k] = prior === null;
      if (prior === null) prior = o.base_prior;
      const r = reweighted(o, prior, data);
      out["ess." + k] = r.ess;
      out["khat." + k] = r.khat;
      out["trusted." + k] = r.trusted;
      info[k] = { prior: prior, weights: r.weights };
      let lower;
      if (o.headline === "points") {
        const mcidPp = s.mcid_pp !== null ? s.mcid_pp : o.mcid_pp;
        lower = { zero: 0.0, meaningful: -mcidPp };
      } else {
        const mcid = s.mcid !== null ? s.mcid : o.mcid;
        lower = { zero: 1.0, meaningful: 1.0 - mcid };
      }
      const summary = summarise(o.headlineDraws, o.sortedHeadline, r.weights, lower, data.ci_prob);
      for (const [name, value] of Object.entries(summary)) out[name + "." + k] = value;
      if (k === data.primary) {
        const mcid = s.mcid !== null ? s.mcid : o.mcid;
        primaryEffect = o.headline === "ratio" ? summary
          : summarise(o.ratio, o.sortedRatio, r.weights, { zero: 1.0, meaningful: 1.0 - mcid },
                      data.ci_prob);
      }
    }
    Object.assign(out, economics(data, s, info, primaryEffect));
    const readers = [data.primary].concat(data.valued);
    if (!readers.every((k) => out["trusted." + k])) out.verdict = null;
    return out;
  }

  function economics(data, s, info, effect) {
    const byKey = Object.fromEntries(data.model.map((o) => [o.key, o]));
    const n = data.chains * data.draws;
    const averted = {};
    for (const k of data.valued) averted[k] = equalWeightDraws(byKey[k].averted, info[k].weights, n);
    // net_benefit: the valued outcomes in order, then the cost
    const nmb = new Float64Array(n);
    for (const k of data.valued) {
      const v = s["value_" + k], a = averted[k];
      for (let i = 0; i < n; i++) nmb[i] = nmb[i] + v * a[i];
    }
    let positive = 0;
    for (let i = 0; i < n; i++) {
      nmb[i] = nmb[i] - s.cost;
      if (nmb[i] > 0.0) positive += 1;
    }
    const primary = data.primary, p = byKey[primary];
    const w = info[primary].weights;
    let events;
    if (w === null) events = mean(p.control);
    else {
      let num = 0.0;
      for (let i = 0; i < n; i++) num += p.control[i] * w[i];
      events = num / sum(w);
    }
    events = events * data.pupils_per_school / 1000.0;
    let offset = 0;
    for (const k of data.valued) if (k !== primary) offset += s["value_" + k] * mean(averted[k]);
    const slope = s["value_" + primary] * events;
    const nb = { a: slope, b: slope - s.cost + offset };
    const eco = data.economics;
    const post = conjugate(info[primary].prior, eco.likelihood[0], eco.likelihood[1]);
    let worth = false;
    eco.trial_n.forEach((size, i) => {
      const se = eco.unit_sd * Math.sqrt(2.0 / size);
      const gain = valueOfInformation(post, nb, se) * eco.population_scale - eco.trial_cost[i];
      if (gain > 0) worth = true;
    });
    const pNmb = positive / n;
    return { nmb_mean: mean(nmb), p_nmb_positive: pNmb, worth_a_trial: worth,
             verdict: ruleVerdict(s, effect.p_meaningful, pNmb, worth) };
  }

  // the colour of a probability of a meaningful reduction: DecisionRule.verdict(p) alone
  function traffic(s, p) {
    if (p >= s.invest) return "invest";
    return p < s.stop ? "stop" : "more";
  }

  // DecisionRule.verdict
  function ruleVerdict(s, p, nmb, worth) {
    if (p >= s.invest && nmb >= s.invest_nmb) return "invest";
    if (p < s.stop || worth === false) return "stop";
    return "more evidence";
  }

  // ------------------------------------------------------------------ settings

  const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
  const RULE_KEYS = ["invest", "stop", "invest_nmb"];

  function settingKeys(data) {
    const points = data.outcomes.some((o) => o.headline === "points");
    return Object.keys(data.defaults).filter(
      (k) => data.defaults[k] !== null || (k === "mcid_pp" && points));
  }

  class SettingError extends Error {}

  function number(key, text) {
    const t = String(text).trim();
    if (!NUMBER.test(t)) throw new SettingError(key + "=" + text + " is not a number");
    const v = Number(t);
    if (!isFinite(v)) throw new SettingError(key + "=" + text + " is not a finite number");
    return v;
  }

  function checkRange(key, v, text) {
    const bad = (why) => new SettingError(key + "=" + text + " is out of range: " + why);
    if (key === "pilot_weight" && !(v >= 0 && v <= 1)) throw bad("the weight on the pilots is between 0 and 1");
    if (key === "centre" && !(v > 0)) throw bad("the centre is a ratio, above 0 (0.85 = a 15% reduction)");
    if (key === "sd" && !(v > 0 && v <= 10)) throw bad("the SD on the log scale is above 0 and at most 10");
    if (key === "mcid" && !(v > 0 && v < 1)) throw bad("the meaningful reduction is a fraction strictly between 0 and 1 (0.2 = 20%)");
    if (key === "mcid_pp" && !(v > 0)) throw bad("the meaningful fall in absence is above 0 percentage points");
    if ((key.startsWith("value_") || key === "cost") && !(v >= 0)) throw bad("an amount of money is 0 or more");
    if (RULE_KEYS.includes(key) && !(v >= 0 && v <= 1)) throw bad("a threshold of the rule is a probability between 0 and 1");
  }

  function decodePart(text) {
    try {
      return decodeURIComponent(text);
    } catch (err) {
      throw new SettingError("'" + text + "' is not a setting: it is not valid in a link");
    }
  }

  // swisbayes.report.whatif.parse_settings
  function parseSettings(data, given) {
    const keys = settingKeys(data);
    const seen = {};
    for (const [key, value] of given) {
      if (!keys.includes(key)) {
        throw new SettingError("'" + key + "' is not a setting of this page; the settings are " + keys.join(", "));
      }
      if (key in seen) throw new SettingError("'" + key + "' is given twice");
      seen[key] = value;
    }
    const d = data.defaults;
    const out = Object.assign({}, d, { mcid: null, mcid_pp: null });
    let prior = seen.prior;
    if (prior === undefined) {
      prior = ("centre" in seen || "sd" in seen) ? "custom"
        : ("pilot_weight" in seen ? "pilot-informed" : d.prior);
    }
    const names = data.prior_names.concat(["custom"]);
    if (!names.includes(prior)) {
      throw new SettingError("prior=" + prior + " is not a prior of this page; choose one of " + names.join(", "));
    }
    out.prior = prior;
    for (const [key, value] of Object.entries(seen)) {
      if (key === "prior") continue;
      if ((key === "centre" || key === "sd") && prior !== "custom") {
        throw new SettingError(key + " sets a custom normal prior, but prior=" + prior);
      }
      if (key === "pilot_weight" && prior !== "pilot-informed") {
        throw new SettingError("pilot_weight sets the pilot-informed prior, but prior=" + prior);
      }
      const v = number(key, value);
      checkRange(key, v, value);
      out[key] = v;
    }
    if (!(out.stop < out.invest)) {
      throw new SettingError("stop=" + String(out.stop) + " must be below invest=" + String(out.invest)
        + ": the rule stops below one threshold and invests above the other");
    }
    return out;
  }

  function parseFragment(data, hash) {
    const pairs = [];
    for (const part of hash.replace(/^#/, "").split("&")) {
      if (!part) continue;
      const at = part.indexOf("=");
      if (at < 0) throw new SettingError("'" + decodePart(part) + "' is not a setting: expected key=value");
      pairs.push([decodePart(part.slice(0, at)), decodePart(part.slice(at + 1))]);
    }
    return parseSettings(data, pairs);
  }

  // swisbayes.report.whatif.settings_fragment
  function fragment(data, s) {
    const d = data.defaults;
    const parts = [];
    for (const key of settingKeys(data)) {
      const v = s[key];
      let keep;
      if (key === "prior") keep = v !== d.prior;
      else if (key === "centre" || key === "sd") keep = s.prior === "custom";
      else if (key === "pilot_weight") keep = s.prior === "pilot-informed" && v !== d[key];
      else if (key === "mcid" || key === "mcid_pp") keep = v !== null;
      else keep = v !== d[key];
      if (keep) parts.push(key + "=" + String(v));
    }
    return "#" + parts.join("&");
  }

  // ------------------------------------------------------------------ formatting (as Python)

  // f"{x:.{d}f}": rounds the exact binary value, ties to even (toFixed breaks them upwards)
  function fixed(x, d) {
    const text = x.toFixed(d);
    const a = Math.abs(x);
    if (!isFinite(x) || a >= 1e21) return text;
    const exact = a.toFixed(100);
    const dot = exact.indexOf(".");
    if (!/^50*$/.test(exact.slice(dot + 1 + d))) return text;
    const kept = d === 0 ? exact.slice(0, dot) : exact.slice(0, dot + 1 + d);
    const even = Number(kept[kept.length - 1]) % 2 === 0;
    return (x < 0 ? "-" : "") + (even ? kept : a.toFixed(d));
  }

  function formatProbability(p, against) {
    const fmt = (x, d) => fixed(100 * x, d) + "%";
    if (p <= 0.0 || p >= 1.0) return p <= 0.0 ? "less than 0.1%" : "more than 99.9%";
    for (let d = 1; d < 5; d++) {
      const text = fmt(p, d);
      const hidesThreshold = against.some((t) => p !== t && text === fmt(t, d));
      const hidesExtreme = text === fmt(0.0, d) || text === fmt(1.0, d);
      if (!(hidesThreshold || hidesExtreme)) return text;
    }
    if (0 < p && p < 1e-4) return "less than 0.01%";
    if (1 - 1e-4 < p && p < 1) return "more than 99.99%";
    return fmt(p, 4);
  }

  // swisbayes.report.view.pct
  function pct(p, ...against) {
    return formatProbability(p, against).replace("less than ", "<").replace("more than ", ">");
  }

  // swisbayes._base.text.format_estimate
  function formatEstimate(x) {
    if (!isFinite(x) || x === 0) return x === 0 ? "0.000" : String(x);
    const places = Math.max(3, 2 - Math.floor(Math.log10(Math.abs(x))));
    if (places > 8) return x.toExponential(2).replace(/e([+-])(\d)$/, "e$10$2");
    return fixed(x, places);
  }

  // swisbayes.decision.summaries.signed
  function signed(x, d) {
    let text = fixed(x, d);
    if (/^-0\.?0*$/.test(text)) text = text.slice(1);
    return text.startsWith("-") ? text : "+" + text;
  }

  function pyRound(x) {
    const r = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  function currencySymbol(currency) {
    return currency === "GBP" ? "£" : currency + " ";
  }

  // swisbayes.economics.net_benefit.format_money
  function formatMoney(amount, currency) {
    const symbol = currencySymbol(currency);
    const x = Math.abs(amount);
    const sign = amount < 0 && pyRound(x) >= 1 ? "-" : "";
    if (!isFinite(x) || pyRound(x) < 1000) return sign + symbol + fixed(x, 0);
    for (const [scale, unit] of [[1e3, "k"], [1e6, "m"], [1e9, "bn"]]) {
      const scaled = x / scale;
      let text = scaled < 9.95 ? fixed(scaled, 1) : fixed(scaled, 0);
      if (scaled < 9.95 && text.endsWith(".0")) text = text.slice(0, -2);
      if (Number(text) < 1000 || unit === "bn") return sign + symbol + text + unit;
    }
    return sign + symbol + fixed(x, 0);
  }

  // f"{symbol}{x:,.0f}": an input quoted exactly
  function money(x, currency) {
    const text = fixed(Math.abs(x), 0).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (x < 0 ? "-" : "") + currencySymbol(currency) + text;
  }

  // f"{100 * t:g}%"
  function threshold(t) {
    return String(Number((100 * t).toPrecision(6))) + "%";
  }

  // ------------------------------------------------------------------ the panel

  const VERDICT_WORDS = { "invest": "Invest", "more evidence": "More evidence needed", "stop": "Stop" };
  const VERDICT_CSS = { "invest": "invest", "more evidence": "more", "stop": "stop" };

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  function priorLabel(name) {
    if (name === "custom") return "custom normal (centre and certainty below)";
    if (name === "pilot-informed") return "pilot-informed (weight on the pilots below)";
    return name;
  }

  function controlLabels(data) {
    const labels = {
      pilot_weight: "Weight on the pilots (0 to 1; the rest on the vague prior)",
      centre: "Custom prior: centre, as a ratio (0.85 = a 15% reduction)",
      sd: "Custom prior: certainty, as the SD of the log ratio (smaller = more certain)",
      mcid: "MCID: the reduction that matters, as a fraction (0.2 = 20%)",
      mcid_pp: "MCID of absence, in percentage points",
      cost: "Programme cost per school-year (" + currencySymbol(data.economics.currency).trim() + ")",
      invest: "Rule: invest when P(reduction ≥ MCID) is at least",
      stop: "Rule: stop when P(reduction ≥ MCID) is below",
      invest_nmb: "Rule: and P(net benefit > 0) is at least",
    };
    for (const o of data.outcomes) {
      labels["value_" + o.key] = "Value of one averted event (" + currencySymbol(
        data.economics.currency).trim() + "): " + o.label;
    }
    return labels;
  }

  function build(root, data) {
    const labels = controlLabels(data);
    const controls = el("div", { class: "wi-controls", id: "whatif-controls" });
    const select = el("select", { id: "wi-prior", "data-setting": "prior" },
      data.prior_names.concat(["custom"]).map((n) => el("option", { value: n, text: priorLabel(n) })));
    controls.append(el("label", { class: "wi-field wi-prior" }, [el("span", { text: "Prior on the effect" }), select]));
    for (const key of settingKeys(data)) {
      if (key === "prior") continue;
      const input = el("input", { id: "wi-" + key, "data-setting": key, type: "text",
                                  inputmode: "decimal", autocomplete: "off", spellcheck: "false" });
      controls.append(el("label", { class: "wi-field", id: "wi-field-" + key },
                         [el("span", { text: labels[key] || key }), input]));
    }
    const reset = el("button", { type: "button", id: "wi-reset", text: "Back to the report's settings" });
    controls.append(reset);
    const message = el("p", { class: "alert", id: "whatif-message", role: "status", hidden: "" });
    const head = el("tr", {}, ["outcome", "effect (95% interval): ratio; absence in pp", "P(any reduction)",
      "P(reduction ≥ MCID)", "P(harm)", "importance ESS (Pareto k-hat)"].map(
      (c, i) => el("th", { class: i === 0 ? "text" : null, text: c })));
    const body = el("tbody");
    for (const o of data.outcomes) {
      const k = o.key;
      const span = (key) => el("span", { "data-key": key + "." + k });
      const effect = o.headline === "points"
        ? [span("median"), " pp (", span("ci_low"), " to ", span("ci_high"), ")"]
        : [span("median"), " (", span("ci_low"), "–", span("ci_high"), ")"];
      body.append(el("tr", { "data-outcome": k }, [
        el("td", { class: "text" }, [o.label, el("span", { class: "legend wi-note", "data-note": k })]),
        el("td", { class: "wi-effect" }, effect),
        el("td", { "data-key": "p_any." + k }),
        el("td", { "data-key": "p_meaningful." + k }),
        el("td", { "data-key": "p_harm." + k }),
        el("td", {}, [span("ess"), " (", span("khat"), ")"]),
      ]));
    }
    const effects = el("div", { class: "wide-table" }, [el("table", { id: "whatif-effects" }, [el("thead", {}, [head]), body])]);
    const decision = el("table", { id: "whatif-decision" }, [el("tbody", {}, [
      el("tr", {}, [el("td", { class: "text", text: "Verdict, by the rule" }), el("td", { "data-key": "verdict", class: "wi-verdict" })]),
      el("tr", {}, [el("td", { class: "text", text: "Mean net benefit per school-year" }), el("td", { "data-key": "nmb_mean" })]),
      el("tr", {}, [el("td", { class: "text", text: "P(net benefit > 0)" }), el("td", { "data-key": "p_nmb_positive" })]),
      el("tr", {}, [el("td", { class: "text", text: "Some further trial considered is worth its cost" }), el("td", { "data-key": "worth_a_trial" })]),
    ])]);
    const warnings = el("ul", { class: "points", id: "whatif-warnings" });
    const settingsLine = root.querySelector("#whatif-settings") || el("p", { class: "legend", id: "whatif-settings", "data-key": "settings" });
    root.append(controls, message, effects, decision, warnings, settingsLine);
    return { select: select, reset: reset, message: message, warnings: warnings, settingsLine: settingsLine };
  }

  function setKey(root, key, value, text, css) {
    for (const e of root.querySelectorAll('[data-key="' + key + '"]')) {
      e.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
      e.textContent = text;
      if (css !== undefined) e.className = css;
    }
  }

  function describeSettings(data, s) {
    const d = data.defaults;
    const cur = data.economics.currency;
    let prior = s.prior;
    if (s.prior === "custom") {
      prior = "a normal centred on a ratio of " + String(s.centre) + " with SD " + String(s.sd)
        + " on the log scale";
    } else if (s.prior === "pilot-informed") {
      prior = "pilot-informed, weight " + String(s.pilot_weight) + " on the pilots";
    }
    const parts = ["prior: " + prior];
    const changed = [];
    const primaryLabel = data.outcomes.find((o) => o.key === data.primary).label;
    if (s.mcid !== null) changed.push(["MCID of every ratio", threshold(s.mcid), "each outcome's own; " + threshold(d.mcid) + " for " + primaryLabel, "mcid"]);
    if (s.mcid_pp !== null) changed.push(["MCID of absence", String(s.mcid_pp) + " pp", String(d.mcid_pp) + " pp", "mcid_pp"]);
    for (const k of data.valued) {
      const key = "value_" + k;
      if (s[key] !== d[key]) {
        const o = data.outcomes.find((x) => x.key === k);
        changed.push(["value of an averted event (" + o.label + ")", money(s[key], cur), money(d[key], cur), key]);
      }
    }
    if (s.cost !== d.cost) changed.push(["programme cost per school-year", money(s.cost, cur), money(d.cost, cur), "cost"]);
    for (const [key, what] of [["invest", "invest threshold"], ["stop", "stop threshold"], ["invest_nmb", "value-for-money threshold"]]) {
      if (s[key] !== d[key]) changed.push(["rule's " + what, threshold(s[key]), threshold(d[key]), key]);
    }
    for (const [what, now, was] of changed) parts.push(what + " " + now + " (report: " + was + ")");
    return { text: "Settings in force: " + parts.join("; ") + ".", prior: prior, changed: changed };
  }

  function markAssumptions(data, s, described) {
    const table = document.getElementById("assumptions");
    if (!table) return;
    const body = table.tBodies[0] || table;
    for (const row of body.querySelectorAll("tr.whatif-changed")) row.remove();
    const rows = described.changed.slice();
    if (s.prior !== data.defaults.prior) rows.unshift(["prior", described.prior, data.defaults.prior, "prior"]);
    for (const [what, now, was, key] of rows) {
      body.append(el("tr", { class: "whatif-changed", "data-key": "changed." + key }, [
        el("td", { class: "text", text: what + " (changed in What if?)" }),
        el("td", { text: now }),
        el("td", { class: "text", text: "Set by the reader in the What if? panel (the report: " + was
          + "). Only that panel reads it; every other number of this page keeps the report's value." }),
      ]));
    }
  }

  function render(root, data, parts, s, res) {
    const rule = { stop: s.stop, invest: s.invest, invest_nmb: s.invest_nmb };
    const warnings = [];
    for (const o of data.model) {
      const k = o.key;
      const points = o.headline === "points";
      const est = (x) => points ? signed(x, o.decimals) : formatEstimate(x);
      setKey(root, "median." + k, res["median." + k], est(res["median." + k]));
      setKey(root, "ci_low." + k, res["ci_low." + k], est(res["ci_low." + k]));
      setKey(root, "ci_high." + k, res["ci_high." + k], est(res["ci_high." + k]));
      setKey(root, "p_any." + k, res["p_any." + k], pct(res["p_any." + k]));
      const pm = res["p_meaningful." + k];
      setKey(root, "p_meaningful." + k, pm, pct(pm, rule.stop, rule.invest), traffic(s, pm));
      setKey(root, "p_harm." + k, res["p_harm." + k], pct(res["p_harm." + k]));
      setKey(root, "ess." + k, res["ess." + k], fixed(res["ess." + k], 0));
      const khat = res["khat." + k];
      setKey(root, "khat." + k, khat, khat === null ? "\u2013" : fixed(khat, 2));
      const row = root.querySelector('tr[data-outcome="' + k + '"]');
      row.classList.toggle("unreliable", !res["trusted." + k] || !o.reliable);
      const note = row.querySelector("[data-note]");
      note.textContent = res["borrowed." + k] ? " — no " + s.prior + " prior for this outcome: the data alone" : "";
      if (!res["trusted." + k]) {
        warnings.push("Under this prior the reweighted draws of " + o.label
          + " are too few to trust (importance ESS " + fixed(res["ess." + k], 0) + ", Pareto k-hat "
          + (khat === null ? "none" : fixed(khat, 2)) + "; trusted from an ESS of "
          + String(data.min_ess) + " with k-hat below " + String(data.max_khat)
          + "). The report would refit the model for such a prior: run swisbayes report with it.");
      }
      if (!o.reliable) warnings.push("The fit of " + o.label + " failed its convergence checks: its numbers are unreliable.");
    }
    const cur = data.economics.currency;
    setKey(root, "nmb_mean", res.nmb_mean, formatMoney(res.nmb_mean, cur));
    setKey(root, "p_nmb_positive", res.p_nmb_positive, pct(res.p_nmb_positive, rule.invest_nmb),
           res.p_nmb_positive >= rule.invest_nmb ? "invest" : "stop");
    setKey(root, "worth_a_trial", res.worth_a_trial, res.worth_a_trial ? "yes" : "no");
    if (res.verdict === null) {
      setKey(root, "verdict", null, "No verdict: the draws it reads are not trusted under this prior (see below).", "wi-verdict");
    } else {
      setKey(root, "verdict", res.verdict, VERDICT_WORDS[res.verdict], "wi-verdict " + VERDICT_CSS[res.verdict]);
    }
    parts.warnings.replaceChildren(...warnings.map((w) => el("li", { class: "bad", text: w })));
    const described = describeSettings(data, s);
    parts.settingsLine.textContent = described.text;
    parts.settingsLine.setAttribute("data-value", fragment(data, s));
    markAssumptions(data, s, described);
  }

  function fill(data, parts, s) {
    parts.select.value = s.prior;
    for (const key of settingKeys(data)) {
      if (key === "prior") continue;
      const input = document.getElementById("wi-" + key);
      const v = s[key] === null ? (key === "mcid" ? data.defaults.mcid : data.defaults.mcid_pp) : s[key];
      input.value = v === null ? "" : String(v);
      const field = document.getElementById("wi-field-" + key);
      field.hidden = (key === "pilot_weight" && s.prior !== "pilot-informed")
        || ((key === "centre" || key === "sd") && s.prior !== "custom");
    }
  }

  // Weigh the draws for each named prior while the reader is reading, one prior per idle
  // moment, so that choosing one later is a look-up (a custom prior is still computed live).
  function warmUp(data) {
    const queue = data.prior_names.slice();
    const later = window.requestIdleCallback || ((f) => setTimeout(f, 50));
    const step = () => {
      const name = queue.shift();
      if (name === undefined) return;
      const s = Object.assign({}, data.defaults, { prior: name });
      for (const o of data.model) {
        const prior = priorFor(o, s);
        if (prior !== null) reweighted(o, prior, data);
      }
      later(step);
    };
    later(step);
  }

  function init() {
    const root = document.getElementById("whatif");
    const holder = document.getElementById("whatif-data");
    if (!root || !holder) return;
    const raw = JSON.parse(holder.textContent);
    if (raw.version !== 1) return;
    const data = prepare(raw);
    const parts = build(root, data);
    let current = parseSettings(data, []);

    function show(message) {
      parts.message.hidden = !message;
      parts.message.textContent = message ? message + " The panel keeps its last valid settings." : "";
    }

    // The address follows the settings a moment after the last change: a browser ignores a
    // page that rewrites its address hundreds of times (a value typed key by key).
    let pending = null;
    function writeAddress() {
      const target = pending;
      pending = null;
      if (location.hash === target || (target === "#" && !location.hash)) return;
      const url = target === "#" ? location.pathname + location.search : target;
      try {
        history.replaceState(null, "", url);
      } catch (err) {  // a page that may not rewrite its own address: set the fragment
        location.hash = target;
      }
    }

    function apply(s, writeHash) {
      const res = compute(data, s);
      current = s;
      render(root, data, parts, s, res);
      if (writeHash) {
        if (pending === null) setTimeout(writeAddress, 250);
        pending = fragment(data, s);
      }
    }

    function fromControls() {
      const pairs = [["prior", parts.select.value]];
      for (const key of settingKeys(data)) {
        if (key === "prior") continue;
        const input = document.getElementById("wi-" + key);
        const isDefault = input.value.trim() === String(key === "mcid" ? data.defaults.mcid : data.defaults[key]);
        if ((key === "centre" || key === "sd") && parts.select.value !== "custom") continue;
        if (key === "pilot_weight" && parts.select.value !== "pilot-informed") continue;
        if ((key === "mcid" || key === "mcid_pp") && isDefault && current[key] === null) continue;
        pairs.push([key, input.value]);
      }
      return parseSettings(data, pairs);
    }

    function onControl() {
      try {
        const s = fromControls();
        show("");
        apply(s, true);
        fill(data, parts, s);
      } catch (err) {
        if (!(err instanceof SettingError)) throw err;
        show(err.message + ".");
      }
    }

    function onHash() {
      try {
        const s = parseFragment(data, location.hash);
        show("");
        apply(s, false);
        fill(data, parts, s);
      } catch (err) {
        if (!(err instanceof SettingError)) throw err;
        show("This link's settings could not be used: " + err.message + ".");
        fill(data, parts, current);
      }
    }

    parts.select.addEventListener("change", () => {
      // a newly chosen prior's own controls start from their defaults
      const field = (k) => document.getElementById("wi-" + k);
      if (parts.select.value === "custom" && current.prior !== "custom") {
        field("centre").value = String(data.defaults.centre);
        field("sd").value = String(data.defaults.sd);
      }
      if (parts.select.value === "pilot-informed" && current.prior !== "pilot-informed" && field("pilot_weight")) {
        field("pilot_weight").value = String(data.defaults.pilot_weight);
      }
      onControl();
    });
    for (const input of root.querySelectorAll("input[data-setting]")) {
      input.addEventListener("input", () => {
        try {
          const s = fromControls();
          show("");
          apply(s, true);  // the controls are left as typed
        } catch (err) {
          if (!(err instanceof SettingError)) throw err;
          show(err.message + ".");
        }
      });
    }
    parts.reset.addEventListener("click", () => {
      const s = parseSettings(data, []);
      show("");
      apply(s, true);
      fill(data, parts, s);
    });
    window.addEventListener("hashchange", onHash);
    apply(current, false);
    fill(data, parts, current);
    if (location.hash && location.hash !== "#") onHash();
    warmUp(data);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
