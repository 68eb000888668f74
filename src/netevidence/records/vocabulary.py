"""Controlled vocabularies of the evidence record format.

Every term a record may use for a design, modality, endpoint, statistic, time unit or aggregation is
listed here, with a one-line meaning. The record schema (:mod:`netevidence.records.schema`) builds its
literal types from these tables, and the documentation in ``docs/evidence-format.md`` lists the same
terms, so adding a term here is the one change needed to admit it.
"""

from __future__ import annotations

import difflib
from types import MappingProxyType
from typing import Mapping

DESIGNS: Mapping[str, str] = MappingProxyType(
    {
        "rct": "randomised controlled trial",
        "prospective_cohort": "prospective cohort or single-arm trial",
        "retrospective_cohort": "retrospective cohort",
        "case_series": "case series",
        "systematic_review": "systematic review without pooled estimates",
        "meta_analysis": "systematic review with meta-analysis (pooled estimates)",
        "narrative_review": "narrative review summarising other studies",
    }
)

MODALITIES: Mapping[str, str] = MappingProxyType(
    {
        "prrt": "peptide receptor radionuclide therapy, intravenous",
        "prrt_intra_arterial": "peptide receptor radionuclide therapy, hepatic intra-arterial",
        "sirt": "90Y selective internal radiation therapy (radioembolisation), sphere type unspecified or mixed",
        "sirt_resin": "90Y radioembolisation with resin microspheres",
        "sirt_glass": "90Y radioembolisation with glass microspheres",
        "tae": "transarterial (bland) embolisation",
        "tace": "transarterial chemoembolisation, technique unspecified or mixed",
        "ctace": "conventional (lipiodol) transarterial chemoembolisation",
        "deb_tace": "drug-eluting bead transarterial chemoembolisation",
        "rfa": "radiofrequency ablation",
        "mwa": "microwave ablation",
        "laser_ablation": "laser ablation",
        "ire": "irreversible electroporation",
        "cryoablation": "cryoablation",
        "resection": "liver resection",
        "somatostatin_analogue": "somatostatin analogue (e.g. octreotide LAR)",
        "everolimus": "everolimus",
    }
)

ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        "orr": "objective response rate (complete + partial response)",
        "dcr": "disease control rate (complete + partial response + stable disease)",
        "response_complete": "complete response",
        "response_partial": "partial response",
        "response_stable": "stable disease",
        "response_progressive": "progressive disease",
        "symptom_response": "improvement or relief of hormonal / carcinoid symptoms",
        "symptom_recurrence": "recurrence of symptoms after improvement",
        "symptom_response_duration": "duration of symptom improvement",
        "pfs": "progression-free survival",
        "os": "overall survival",
        "rfs": "recurrence-free survival",
        "hepatic_pfs": "hepatic progression-free survival",
        "local_recurrence_free": "local recurrence-free survival",
        "ttp": "time to progression",
        "ttd_qol": "time to deterioration of health-related quality of life (qualifier names the scale)",
        "recurrence": "recurrence after treatment (any site)",
        "technical_efficacy": "technical success / efficacy of the ablation",
        "primary_efficacy": "primary efficacy (complete ablation after the first session)",
        "secondary_efficacy": "secondary efficacy (complete ablation after repeat sessions)",
        "treatment_success": "success of treatment given with curative intent",
        "complication_major": "major complications",
        "complication_any": "complications of any grade",
        "complication_procedure": "procedure-related complications (e.g. radioembolisation-related)",
        "toxicity_grade3plus": "grade 3 or higher toxicity (qualifier names the toxicity)",
        "toxicity_clinical": "clinical toxicity of any grade",
        "toxicity_dose_modifying": "toxicity leading to dose modification",
        "adverse_event": "a named adverse event of any grade (qualifier names it)",
        "post_embolisation_syndrome": "post-embolisation syndrome",
        "death_treatment_related": "death attributed to treatment",
        "deaths": "deaths by a time point or at an analysis",
        "progression_or_death": "progression or death events (PFS events)",
        "follow_up": "duration of follow-up",
        "crossover": "control patients who later received the experimental treatment",
    }
)

STATISTICS: Mapping[str, str] = MappingProxyType(
    {
        "count": "events out of n, as counts (optionally with the printed percent)",
        "events": "a number of events (e.g. deaths) reported without its denominator",
        "proportion": "a percent as printed, with its denominator when known",
        "hazard_ratio": "hazard ratio with CI and/or p",
        "odds_ratio": "odds ratio with CI and/or p",
        "median_time": "median time to event, with CI or 'not reached'",
        "survival_at": "survival probability (percent) at a time point",
        "rmst": "restricted mean survival time of one arm up to a horizon",
        "rmst_difference": "difference in restricted mean survival time between two arms",
        "range": "lowest and highest value across studies",
        "median_of_studies": "median of a quantity across studies",
        "p_value": "a p-value of a between-arm test reported without an effect estimate",
    }
)

AGGREGATIONS: Mapping[str, str] = MappingProxyType(
    {
        "primary": "computed from the study's own patients",
        "pooled": "a published pooled estimate from a meta-analysis (fixed or random effects, with k)",
        "median_of_studies": "the median of a quantity across the studies of a review",
        "range_of_studies": "the lowest and highest value across the studies of a review",
        "unspecified": "a summary across the studies of a review whose method is not stated",
    }
)

POOLED_MODELS: Mapping[str, str] = MappingProxyType(
    {
        "fixed": "fixed (common) effect model",
        "random": "random-effects model",
        "unknown": "model not stated in the source",
    }
)

TIME_UNITS: Mapping[str, str] = MappingProxyType(
    {"days": "days", "weeks": "weeks", "months": "months", "years": "years"}
)

# Units of values that are not times (for `range` and `median_of_studies` statistics).
VALUE_UNITS: Mapping[str, str] = MappingProxyType(
    {"percent": "percent", **TIME_UNITS, "count": "a count"}
)

SOURCE_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "primary": "the study's own publication (full text, abstract, registry or publisher page)",
        "secondary": "another publication reporting the study's numbers (e.g. a review)",
    }
)

SEARCH_TOPICS: Mapping[str, str] = MappingProxyType(
    {
        "sirt": "90Y radioembolisation (resin and glass)",
        "transarterial": "bland embolisation and chemoembolisation (TAE, cTACE, DEB-TACE)",
        "ablation": "thermal ablation (radiofrequency, microwave, laser) and irreversible electroporation",
        "prrt": "peptide receptor radionuclide therapy, intravenous and intra-arterial",
        "seed": "the seed review and the studies it cites",
    }
)

# Where a search was run. PRISMA 2020 counts the first two as databases, the others as other methods.
SEARCH_SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "PubMed": "PubMed (database)",
        "PMC": "PubMed Central (database)",
        "journal pages": "journal web pages (other methods)",
        "conference abstracts": "conference abstract collections (other methods)",
        "citation searching": "reference lists of other publications (other methods)",
    }
)
DATABASE_SOURCES = frozenset({"PubMed", "PMC"})

P_RELATIONS: Mapping[str, str] = MappingProxyType({"=": "equal to", "<": "less than", "<=": "at most"})

# Months per unit, for converting reported times to a common scale (1 year = 12 months,
# 1 month = 365.25 / 12 days).
MONTHS_PER_UNIT: Mapping[str, float] = MappingProxyType(
    {"days": 12.0 / 365.25, "weeks": 7.0 * 12.0 / 365.25, "months": 1.0, "years": 12.0}
)


def did_you_mean(word: str, choices: object) -> str:
    """A ' (did you mean 'x'?)' suffix for the closest term, or '' when none is close."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    if not close and word.lower() != word:
        close = difflib.get_close_matches(word.lower(), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _short_labels(terms: Mapping[str, str]) -> dict[str, str]:
    """Each term's label up to its first comma, unless another term's label shares that start, in which case
    the full label (so "peptide receptor radionuclide therapy, intravenous" and "..., hepatic intra-arterial"
    stay apart)."""
    head = {t: label.split(",")[0] for t, label in terms.items()}
    counts: dict[str, int] = {}
    for h in head.values():
        counts[h] = counts.get(h, 0) + 1
    return {t: (head[t] if counts[head[t]] == 1 else terms[t]) for t in terms}


SHORT_MODALITIES: Mapping[str, str] = MappingProxyType(_short_labels(MODALITIES))


def modality_label(value: object) -> str:
    """The display label of a modality term, or of a combination written ``a+b`` ("a + b"): short where
    that is unambiguous. The one place the report, the plots and the specifications take it from."""
    return " + ".join(SHORT_MODALITIES.get(t, t) for t in str(value).split("+"))
