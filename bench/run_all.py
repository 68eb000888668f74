"""Run every benchmark in this directory, one after the other, and print their reports.

Each benchmark times netevidence and its peers (metafor via Rscript, statsmodels, lifelines) in the same
run on the same machine and prints ratios; peers that are not installed are reported as skipped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"=== {script.name} ===", flush=True)
        status |= subprocess.call([sys.executable, str(script)])
        print(flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
