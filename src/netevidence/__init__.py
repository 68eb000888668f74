"""netevidence: curated evidence and meta-analysis for liver-directed and nuclear-medicine therapy of
neuroendocrine neoplasm liver metastases."""

from importlib import import_module

__all__ = ["EvidenceBase", "EvidenceError", "Problem", "load_evidence", "validate_evidence"]
__version__ = "0.1.0"

# The public names are imported on first use, so that ``import netevidence`` (and the command line's
# --help) stays fast: the record machinery needs pydantic and pandas.
_LAZY = {
    "EvidenceBase": ".evidence",
    "load_evidence": ".evidence",
    "EvidenceError": ".records",
    "Problem": ".records",
    "validate_evidence": ".records",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netevidence' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
