"""Post-fit analyses that take a fitted :class:`~netevidence.pooling.PoolResult`, as metafor's do.

metafor runs ``leave1out(res)``, ``trimfill(res)``, ``influence(res)``, ``cumul(res)``, ``regtest(res)`` and
``ranktest(res)`` on a fitted model: the data and every model option come from the fit. :func:`accepts_fit`
gives the array functions of :mod:`~netevidence.pooling.sensitivity` and :mod:`~netevidence.pooling.bias` the
same calling form: ``f(res, **other options)`` is exactly ``f(res.yi, res.vi, method=res.method, ci=res.ci,
level=res.level, pi=res.pi_method, i2=res.i2_method, tau2=res.tau2 if res.tau2_fixed else None, ...)``,
passing only the options the function takes. A model option given beside a fit is refused: the analysis
would no longer describe that fit (refit with :func:`~netevidence.pooling.pool` instead).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .core import PoolResult

__all__ = ["accepts_fit", "fit_options", "MODEL_OPTIONS"]

MODEL_OPTIONS = ("method", "ci", "level", "pi", "i2", "tau2")


def fit_options(res: PoolResult) -> dict[str, Any]:
    """The model options of a fit, by the keyword names of :func:`~netevidence.pooling.pool`."""
    return {
        "method": res.method,
        "ci": res.ci,
        "level": res.level,
        "pi": res.pi_method,
        "i2": res.i2_method,
        "tau2": res.tau2 if res.tau2_fixed else None,
    }


def accepts_fit(func: Callable) -> Callable:
    """Let ``func(yi, vi, **options)`` also be called as ``func(res, **options)`` with a :class:`PoolResult`."""
    params = inspect.signature(func).parameters
    forwards = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    takes = tuple(o for o in MODEL_OPTIONS if o in params or forwards)

    @functools.wraps(func)
    def wrapper(yi, *args, **kwargs):
        if not isinstance(yi, PoolResult):
            return func(yi, *args, **kwargs)
        name = func.__name__
        if args:
            raise TypeError(f"{name}(res) takes the data from the fitted result; pass no vi or other "
                            f"positional arguments beside it (got {len(args)})")
        clash = sorted(set(kwargs) & set(MODEL_OPTIONS))
        if clash:
            what = " and ".join(clash) + (" are" if len(clash) > 1 else " is")
            raise ValueError(f"{name}(res): {what} taken from the fitted result (method={yi.method!r}, "
                             f"ci={yi.ci!r}, level={yi.level}); to change {'them' if len(clash) > 1 else 'it'}, "
                             f"refit with pool(yi, vi, ...) or call {name}(yi, vi, ...) with the arrays")
        opts = fit_options(yi)
        model = {o: opts[o] for o in takes}
        if "tau2" in model and model["tau2"] is None and "tau2" not in params:
            del model["tau2"]  # forwarded to pool() only when the fit fixed it
        return func(yi.yi, yi.vi, **model, **kwargs)

    wrapper.__doc__ = (func.__doc__ or "") + (
        "\n\n    Also callable as ``{0}(res, ...)`` with a fitted :class:`PoolResult`: the data and the model "
        "options ({1}) come from the fit (:func:`netevidence.pooling.fitted.accepts_fit`).".format(
            func.__name__, ", ".join(takes) or "none"))
    return wrapper
