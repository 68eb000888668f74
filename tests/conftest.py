import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def evidence_dir() -> Path:
    return ROOT / "evidence"


WORKSPACE_STUDIES = ("braat-2020", "sartori-laser", "pickens-2021", "strosberg-2006")


@pytest.fixture
def workspace_studies() -> tuple[str, ...]:
    """The records the ``workspace`` fixture copies."""
    return WORKSPACE_STUDIES


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A small evidence base (four shipped records and the shared citations) in ``evidence/`` and one
    specification in ``analyses/``, in a temporary directory."""
    ev = tmp_path / "evidence"
    ev.mkdir()
    for sid in WORKSPACE_STUDIES:
        shutil.copy(ROOT / "evidence" / f"{sid}.yaml", ev)
    shutil.copy(ROOT / "evidence" / "sources.yaml", ev)
    an = tmp_path / "analyses"
    an.mkdir()
    shutil.copy(ROOT / "analyses" / "symptom-response.yaml", an)
    return tmp_path
