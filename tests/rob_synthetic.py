"""Synthetic but coherent risk-of-bias tables (overall judgements follow each tool's rule) for plot tests."""

import numpy as np
import pandas as pd

from netevidence.records.appraisal_tools import TOOLS

NAMES = ["Adams", "Bauer", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen",
         "Kowalski", "Larsen", "Moreau", "Nakamura", "Olsen", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka"]


def synthetic_table(n: int, tool_id: str = "robins_i", seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tool = TOOLS[tool_id]
    terms = [t for t in tool.judgements if t not in ("no_meta_analysis",)]
    probs = np.array([12.0, 4.0, 1.0, 0.4, 0.6][:len(terms)])
    probs /= probs.sum()
    rows = []
    for i in range(n):
        name = f"{NAMES[i % len(NAMES)]}{'-' + 'Villanueva' if i % 7 == 3 else ''} {2000 + (i * 7) % 24}"
        judgements = list(rng.choice(terms, size=len(tool.domains), p=probs))
        overall = sorted(tool.overall_rule(judgements))[-1]
        for j, (domain, judgement) in enumerate(zip(tool.domains, judgements)):
            rows.append({"study_id": f"s{i}", "study_name": name, "assessment": 1, "endpoints": "", "tool": tool_id,
                         "domain_number": j + 1, "domain": domain, "judgement": judgement,
                         "level": tool.levels[judgement], "overall": overall, "overall_level": tool.levels[overall]})
    return pd.DataFrame(rows)
