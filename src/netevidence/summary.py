"""One kind of summary for every result: :class:`Summary`, the printed text with its table.

``res.summary()`` returns a :class:`Summary` on every result of :mod:`netevidence.pooling` (and the survival
results): it *is* the plain text (a ``str``, in the layout of metafor's ``print()`` where there is one), so it
prints, compares and searches as text, and ``summary.to_frame()`` gives the numbers behind it as a pandas
DataFrame (a copy of ``res.to_frame()``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["Summary", "scalar_frame", "summary_of"]


class Summary(str):
    """Immutable plain-text summary of a result that also carries its table (:meth:`to_frame`)."""

    def __new__(cls, text: str, table: pd.DataFrame):
        obj = super().__new__(cls, text)
        object.__setattr__(obj, "_table", table.copy())
        return obj

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Summary is immutable")

    def __reduce__(self):
        return (Summary, (self.text, self.__dict__["_table"]))

    @property
    def text(self) -> str:
        """The plain text, as a bare ``str``."""
        return str.__str__(self)

    def to_frame(self) -> pd.DataFrame:
        """The numbers behind the text (a fresh copy each call)."""
        return self.__dict__["_table"].copy()

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.text)}</pre>"


def scalar_frame(result: Any) -> pd.DataFrame:
    """One-row DataFrame of a dataclass result's scalar fields (numbers, text, flags), for results whose
    ``to_frame()`` needs arguments or that have none."""
    import dataclasses

    row = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if not f.name.startswith("_")
           and isinstance(getattr(result, f.name), (int, float, str, bool, type(None)))}
    return pd.DataFrame([row])


def summary_of(result: Any, text: str | None = None, table: pd.DataFrame | None = None, *,
               title: str | None = None) -> Summary:
    """The :class:`Summary` of a result: ``text`` (else ``title`` over the table printed in full) with
    ``table`` (``result.to_frame()`` when none)."""
    if table is None:
        table = result.to_frame()
    if text is None:
        title = title or type(result).__name__
        with pd.option_context("display.max_columns", None, "display.width", 120):
            text = f"{title}\n{table.to_string(max_rows=60)}"
    return Summary(text, table)
