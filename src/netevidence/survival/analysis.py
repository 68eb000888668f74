"""Analysis of (reconstructed) individual patient data, on top of lifelines.

* Kaplan-Meier estimate (Kaplan & Meier, JASA 1958) with Greenwood's variance (Greenwood, 1926) and a
  pointwise confidence interval on the ``"log-log"`` scale (default; Kalbfleisch & Prentice, 1980; the
  interval lifelines reports and R's ``survfit(conf.type = "log-log")``), the ``"log"`` scale (R's default)
  or the ``"plain"`` scale.
* Median (and any quantile) read off the curve and its confidence limits as R's ``quantile.survfit``
  does (Brookmeyer & Crowley, Biometrics 1982): the first time the curve is at or below 0.5, the midpoint
  to the next drop when it sits exactly on 0.5.
* Survival at landmark times with the interval above.
* Restricted mean survival time up to ``tau`` (area under the curve) with the standard error of
  R's ``print.survfit(rmean = tau)``: sqrt(sum_j A_j^2 d_j / (n_j (n_j - d_j))), A_j the area from t_j to tau
  (Klein & Moeschberger, Survival Analysis, 2003, section 4.5).
* Log-rank test (Mantel, 1966; lifelines ``logrank_test``) and the Cox hazard ratio between two arms (Cox,
  JRSS-B 1972; lifelines ``CoxPHFitter``, Efron's method for ties, as R's ``coxph``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy.stats import norm

from ..summary import Summary, scalar_frame, summary_of
from .._arrays import readonly as _ro

__all__ = [
    "KaplanMeierResult",
    "ArmComparison",
    "kaplan_meier",
    "restricted_mean",
    "compare_arms",
    "survival_quantile",
    "derived_summary",
]

_CONF_TYPES = ("log-log", "log", "plain")


def _check(time, event, what: str = "data") -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if t.ndim != 1 or t.shape != e.shape or len(t) == 0:
        raise ValueError(f"{what}: time and event must be non-empty 1-d arrays of the same length")
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise ValueError(f"{what}: row {int(np.argmax(bad))}: time must be finite and >= 0")
    bad = ~np.isin(e, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{what}: row {int(np.argmax(bad))}: event must be 0 or 1")
    return t, e.astype(np.int64)


def survival_quantile(time: np.ndarray, surv: np.ndarray, p: float = 0.5) -> float:
    """The time at which a right-continuous step curve (values ``surv`` from ``time`` on) first reaches
    ``p``; when the curve sits exactly on ``p`` (within sqrt(machine epsilon)) the midpoint between the
    start of that stretch and the next drop below ``p``. NaN when the curve never reaches ``p``."""
    tol = np.sqrt(np.finfo(float).eps)
    ok = ~np.isnan(surv)
    time, surv = np.asarray(time)[ok], np.asarray(surv)[ok]
    below = np.flatnonzero(surv <= p + tol)
    if len(below) == 0:
        return float("nan")
    i = below[0]
    if abs(surv[i] - p) < tol:
        later = np.flatnonzero(surv < p - tol)
        if len(later):
            return float((time[i] + time[later[0]]) / 2)
        return float("nan")
    return float(time[i])


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan-Meier estimate at every distinct observed time (as R's ``survfit`` lists them)."""

    time: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_at_risk: np.ndarray
    n_event: np.ndarray
    n_censored: np.ndarray
    std_err: np.ndarray  # standard error of log S (Greenwood)
    level: float
    conf_type: str
    median: float
    median_ci_low: float
    median_ci_high: float

    def survival_at(self, times) -> pd.DataFrame:
        """Survival and its confidence interval at landmark ``times`` (the curve is carried forward; past
        the last observed time the estimate is NaN)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, times, side="right") - 1
        first = np.searchsorted(self.time, times, side="left")  # first observed time >= t: at risk at t
        last = self.time[-1]

        def pick(a, default):
            v = np.where(idx >= 0, a[np.maximum(idx, 0)], default)
            return np.where(times > last, np.nan, v)

        return pd.DataFrame({
            "time": times,
            "survival": pick(self.survival, 1.0),
            "ci_low": pick(self.ci_low, 1.0),
            "ci_high": pick(self.ci_high, 1.0),
            "n_at_risk": np.where(first < len(self.time), self.n_at_risk[np.minimum(first, len(self.time) - 1)], 0),
        })

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "time": self.time, "survival": self.survival, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "n_at_risk": self.n_at_risk, "n_event": self.n_event, "n_censored": self.n_censored,
        })

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        pct = int(round(self.level * 100))
        return (f"Kaplan-Meier: n={int(self.n_at_risk[0])}, events={int(self.n_event.sum())}, "
                f"median {self.median:.4g} ({pct}% CI {self.median_ci_low:.4g} to {self.median_ci_high:.4g}), "
                f"{self.conf_type} interval")


def kaplan_meier(time, event, *, level: float = 0.95, conf_type: str = "log-log") -> KaplanMeierResult:
    """Kaplan-Meier estimate with pointwise confidence interval, median and its confidence interval."""
    if conf_type not in _CONF_TYPES:
        raise ValueError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    t, e = _check(time, event)
    kmf = KaplanMeierFitter().fit(t, e)
    tab = kmf.event_table
    tab = tab[tab["removed"] > 0]
    ut = tab.index.to_numpy(dtype=float)
    d = tab["observed"].to_numpy(dtype=float)
    nr = tab["at_risk"].to_numpy(dtype=float)
    nc = tab["censored"].to_numpy(dtype=float)
    s = kmf.survival_function_at_times(ut).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.cumsum(np.where(d > 0, d / (nr * (nr - d)), 0.0))
        se = np.sqrt(g)
        se = np.where(s > 0, se, np.nan)
        z = norm.ppf(0.5 + level / 2)
        if conf_type == "plain":
            lo = np.clip(s - z * se * s, 0.0, 1.0)
            hi = np.clip(s + z * se * s, 0.0, 1.0)
        elif conf_type == "log":
            lo = np.exp(np.log(s) - z * se)
            hi = np.minimum(np.exp(np.log(s) + z * se), 1.0)
        else:
            ll = np.log(-np.log(s))
            w = z * se / np.log(s)
            a, b = np.exp(-np.exp(ll - w)), np.exp(-np.exp(ll + w))
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            lo = np.where(s == 1.0, 1.0, lo)
            hi = np.where(s == 1.0, 1.0, hi)
    return KaplanMeierResult(
        time=_ro(ut), survival=_ro(s), ci_low=_ro(lo), ci_high=_ro(hi), n_at_risk=_ro(nr, np.int64),
        n_event=_ro(d, np.int64), n_censored=_ro(nc, np.int64), std_err=_ro(se), level=level,
        conf_type=conf_type,
        median=survival_quantile(ut, s), median_ci_low=survival_quantile(ut, lo),
        median_ci_high=survival_quantile(ut, hi),
    )


@dataclass(frozen=True)
class RestrictedMean:
    tau: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float


def restricted_mean(time, event, tau: float, *, level: float = 0.95) -> RestrictedMean:
    """Restricted mean survival time up to ``tau`` with its standard error (see module docstring)."""
    t, e = _check(time, event)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau!r}")
    km = kaplan_meier(t, e)
    jt = km.time[(km.n_event > 0) & (km.time <= tau)]
    js = km.survival[(km.n_event > 0) & (km.time <= tau)]
    d = km.n_event[(km.n_event > 0) & (km.time <= tau)].astype(float)
    nr = km.n_at_risk[(km.n_event > 0) & (km.time <= tau)].astype(float)
    edges = np.concatenate(([0.0], jt, [tau]))
    heights = np.concatenate(([1.0], js))
    pieces = heights * np.diff(edges)
    area = float(pieces.sum())
    a_after = np.cumsum(pieces[::-1])[::-1][1:]  # area from each jump time to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(nr > d, a_after ** 2 * d / (nr * (nr - d)), 0.0)
    se = float(np.sqrt(terms.sum()))
    z = norm.ppf(0.5 + level / 2)
    return RestrictedMean(tau=float(tau), estimate=area, se=se, ci_low=area - z * se, ci_high=area + z * se)


@dataclass(frozen=True)
class ArmComparison:
    """Two arms compared: log-rank test and Cox hazard ratio (arm ``a`` versus arm ``b``)."""

    logrank_statistic: float
    logrank_pval: float
    log_hr: float
    log_hr_se: float
    hr: float
    hr_ci_low: float
    hr_ci_high: float
    level: float
    ties: str = "efron"

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text(), scalar_frame(self))

    def summary_text(self) -> str:
        pct = int(round(self.level * 100))
        return (f"HR {self.hr:.3f} ({pct}% CI {self.hr_ci_low:.3f} to {self.hr_ci_high:.3f}); "
                f"log-rank chi2 {self.logrank_statistic:.3f}, p = {self.logrank_pval:.4g}")


def compare_arms(time_a, event_a, time_b, event_b, *, level: float = 0.95) -> ArmComparison:
    """Log-rank test and Cox proportional hazards model (Efron ties) of arm a against arm b."""
    ta, ea = _check(time_a, event_a, "arm a")
    tb, eb = _check(time_b, event_b, "arm b")
    lr = logrank_test(ta, tb, event_observed_A=ea, event_observed_B=eb)
    df = pd.DataFrame({
        "time": np.concatenate((ta, tb)), "event": np.concatenate((ea, eb)),
        "arm_a": np.concatenate((np.ones(len(ta)), np.zeros(len(tb)))),
    })
    cph = CoxPHFitter().fit(df, duration_col="time", event_col="event")
    b = float(cph.params_["arm_a"])
    se = float(cph.standard_errors_["arm_a"])
    z = norm.ppf(0.5 + level / 2)
    return ArmComparison(
        logrank_statistic=float(lr.test_statistic), logrank_pval=float(lr.p_value), log_hr=b, log_hr_se=se,
        hr=float(np.exp(b)), hr_ci_low=float(np.exp(b - z * se)), hr_ci_high=float(np.exp(b + z * se)),
        level=level,
    )


def derived_summary(arms, *, landmarks=(), reference: str | None = None, published=None,
                    level: float = 0.95) -> pd.DataFrame:
    """Tidy table of what (reconstructed) patient data say, marked ``basis = "derived"``: per arm the median
    and the survival at each landmark, and, for two or more arms, the Cox hazard ratio of each arm against
    ``reference`` (default: the last arm). ``arms`` maps an arm's name to ``(time, event)``.
    ``published`` optionally maps ``(arm, quantity)`` to the published value; the table then shows it and
    the difference derived minus published. Quantities: ``"median"``, ``"survival at <t>"``,
    ``"HR vs <reference>"``."""
    arms = dict(arms)
    if not arms:
        raise ValueError("derived_summary: no arms")
    names = list(arms)
    ref = names[-1] if reference is None else reference
    if len(names) > 1 and ref not in arms:
        raise ValueError(f"derived_summary: reference arm {ref!r} is not among {names}")
    rows = []
    for name in names:
        t, e = arms[name]
        km = kaplan_meier(t, e, level=level)
        rows.append((name, "median", km.median, km.median_ci_low, km.median_ci_high))
        if len(landmarks):
            lm = km.survival_at(landmarks)
            for _, r in lm.iterrows():
                rows.append((name, f"survival at {r['time']:g}", r["survival"], r["ci_low"], r["ci_high"]))
    if len(names) > 1:
        tr, er = arms[ref]
        for name in names:
            if name == ref:
                continue
            t, e = arms[name]
            c = compare_arms(t, e, tr, er, level=level)
            rows.append((name, f"HR vs {ref}", c.hr, c.hr_ci_low, c.hr_ci_high))
    out = pd.DataFrame(rows, columns=["arm", "quantity", "value", "ci_low", "ci_high"])
    out["basis"] = "derived"
    if published is not None:
        pub = dict(published)
        out["published"] = [pub.get((a, q), np.nan) for a, q in zip(out["arm"], out["quantity"])]
        out["difference"] = out["value"] - out["published"]
    return out
