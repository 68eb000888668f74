"""Risk-of-bias and quality appraisal tools: their domains in order, vocabularies and overall rules.

This module is the one place that holds these facts; the record schema, the checks, the tables, the
plots and the GRADE proposal all read them from here. Each tool is described as published:

* **RoB 2** (Sterne JAC et al. RoB 2: a revised tool for assessing risk of bias in randomised trials.
  BMJ 2019;366:l4898; guidance at riskofbias.info, methods.cochrane.org/bias): five domains (the
  randomisation process; deviations from intended interventions; missing outcome data; measurement of
  the outcome; selection of the reported result), each judged *low risk*, *some concerns* or *high
  risk*. Overall: low when every domain is low; high when any domain is high (or when several domains
  have some concerns that together lower confidence substantially); otherwise some concerns.
* **ROBINS-I** (Sterne JAC et al. ROBINS-I: a tool for assessing risk of bias in non-randomised studies
  of interventions. BMJ 2016;355:i4919): seven domains (confounding; selection of participants;
  classification of interventions; deviations from intended interventions; missing data; measurement of
  outcomes; selection of the reported result), each *low*, *moderate*, *serious*, *critical* or
  *no information*. Overall: the most severe domain judgement; *no information* when there is no sign of
  serious or critical risk but information is lacking in one or more domains.
* **JBI checklist for case series** (Munn Z et al. Methodological quality of case series studies: an
  introduction to the JBI critical appraisal tool. JBI Evid Synth 2020;18(10):2127-2133): ten
  questions (clear inclusion criteria; condition measured in a standard, reliable way; valid methods to
  identify the condition; consecutive inclusion; complete inclusion; demographics reported; clinical
  information reported; outcomes or follow-up reported; site or clinic demographics reported; appropriate
  statistical analysis), each *yes*, *no*, *unclear* or *not applicable*. JBI sets no scoring rule; the
  overall risk here follows a convention common in reviews that use the checklist, stated so it can be
  checked: the share of applicable questions answered *yes* is >= 70% -> low, 50-69% -> moderate,
  < 50% -> high.
* **AMSTAR 2** (Shea BJ et al. AMSTAR 2: a critical appraisal tool for systematic reviews that include
  randomised or non-randomised studies of healthcare interventions, or both. BMJ 2017;358:j4008):
  sixteen items, each *yes*, *partial yes* or *no* (items 11, 12 and 15 also *no meta-analysis
  conducted*); items 2, 4, 7, 9, 11, 13 and 15 are critical. Overall confidence: high (no or one
  non-critical weakness), moderate (more than one non-critical weakness), low (one critical flaw),
  critically low (more than one critical flaw). A *no* is a flaw (critical item) or weakness (other
  items).

The judgement ``no_information`` is admitted in every domain of every tool, for a domain that cannot
be judged from what was read (for ROBINS-I it is the tool's own term; JBI's own term is ``unclear``).
Where the tool has no such term, the overall rule reads it as the tool's cautious answer: *some
concerns* for RoB 2, *no* for AMSTAR 2 (which asks reviewers to answer *no* when an item is not
reported).

Every judgement also maps to one of five **levels** shared by all tools and used for colours and
shares (as robvis draws them): ``low``, ``moderate``, ``high``, ``critical`` and ``no_information``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

LEVELS: tuple[str, ...] = ("low", "moderate", "high", "critical", "no_information", "not_applicable")
"""Levels shared by all tools, from least to most concern, then the two that are not a risk."""

HIGH_LEVELS = frozenset({"high", "critical"})
"""Levels counted as high risk of bias (e.g. by GRADE's risk-of-bias domain)."""


@dataclass(frozen=True)
class AppraisalTool:
    """One published appraisal tool.

    ``domains`` maps the domain id (as written in records) to its label, in the tool's order;
    ``judgements`` and ``overall_judgements`` map each allowed term to its display label; ``levels``
    maps every term (domain and overall) to a shared level; ``designs`` lists the record designs the
    tool is meant for; ``overall_rule`` returns the overall judgements the tool's rule allows for a
    sequence of domain judgements (several where the tool leaves room for the reviewer's judgement)."""

    id: str
    name: str
    citation: str
    domains: Mapping[str, str]
    judgements: Mapping[str, str]
    overall_judgements: Mapping[str, str]
    levels: Mapping[str, str]
    designs: frozenset[str]
    comparative: bool | None
    rule_text: str
    overall_rule: Callable[[Sequence[str]], frozenset[str]]

    def label(self, term: str) -> str:
        return {**self.judgements, **self.overall_judgements}.get(term, term)


def _rob2_overall(judgements: Sequence[str]) -> frozenset[str]:
    terms = ["some_concerns" if j == "no_information" else j for j in judgements]
    if "high" in terms:
        return frozenset({"high"})
    concerns = terms.count("some_concerns")
    if concerns >= 2:
        return frozenset({"some_concerns", "high"})
    if concerns == 1:
        return frozenset({"some_concerns"})
    return frozenset({"low"})


_ROBINS_ORDER = ("low", "moderate", "serious", "critical")


def _robins_overall(judgements: Sequence[str]) -> frozenset[str]:
    known = [j for j in judgements if j in _ROBINS_ORDER]
    worst = max(known, key=_ROBINS_ORDER.index) if known else "no_information"
    if "no_information" in judgements and worst in ("low", "moderate", "no_information"):
        # Lacking information without a sign of serious risk: 'no information' (or the worst seen).
        return frozenset({"no_information", worst})
    return frozenset({worst})


def jbi_share_yes(judgements: Sequence[str]) -> float | None:
    """Share of applicable JBI questions answered 'yes' (``None`` when none is applicable)."""
    applicable = [j for j in judgements if j != "not_applicable"]
    return sum(j == "yes" for j in applicable) / len(applicable) if applicable else None


def _jbi_overall(judgements: Sequence[str]) -> frozenset[str]:
    share = jbi_share_yes(judgements)
    if share is None:
        return frozenset({"no_information"})
    return frozenset({"low" if share >= 0.7 else "moderate" if share >= 0.5 else "high"})


AMSTAR2_CRITICAL = frozenset({"protocol", "search", "excluded_list", "rob_technique", "meta_methods",
                              "rob_interpretation", "publication_bias"})


def _amstar2_overall_for(domains: Sequence[str]) -> Callable[[Sequence[str]], frozenset[str]]:
    def rule(judgements: Sequence[str]) -> frozenset[str]:
        flaws = weaknesses = 0
        for domain, judgement in zip(domains, judgements):
            if judgement in ("no", "no_information"):
                if domain in AMSTAR2_CRITICAL:
                    flaws += 1
                else:
                    weaknesses += 1
        if flaws > 1:
            return frozenset({"critically_low"})
        if flaws == 1:
            return frozenset({"low"})
        return frozenset({"moderate" if weaknesses > 1 else "high"})
    return rule


_ROB2_DOMAINS = MappingProxyType({
    "randomisation": "Randomisation process",
    "deviations": "Deviations from intended interventions",
    "missing_data": "Missing outcome data",
    "measurement": "Measurement of the outcome",
    "reported_result": "Selection of the reported result",
})
_ROBINS_DOMAINS = MappingProxyType({
    "confounding": "Confounding",
    "selection": "Selection of participants",
    "classification": "Classification of interventions",
    "deviations": "Deviations from intended interventions",
    "missing_data": "Missing data",
    "measurement": "Measurement of outcomes",
    "reported_result": "Selection of the reported result",
})
_JBI_DOMAINS = MappingProxyType({
    "inclusion_criteria": "Clear inclusion criteria",
    "condition_measured": "Condition measured reliably",
    "condition_identified": "Valid identification of the condition",
    "consecutive": "Consecutive inclusion",
    "complete": "Complete inclusion",
    "demographics": "Demographics reported",
    "clinical_information": "Clinical information reported",
    "outcomes_reported": "Outcomes or follow-up reported",
    "site_reported": "Site or clinic demographics reported",
    "statistics": "Appropriate statistical analysis",
})
_AMSTAR2_DOMAINS = MappingProxyType({
    "pico": "PICO components",
    "protocol": "Protocol before the review",
    "design_selection": "Study designs explained",
    "search": "Comprehensive search",
    "duplicate_selection": "Study selection in duplicate",
    "duplicate_extraction": "Data extraction in duplicate",
    "excluded_list": "Excluded studies listed and justified",
    "study_detail": "Included studies described",
    "rob_technique": "Risk-of-bias technique",
    "funding_sources": "Funding of included studies",
    "meta_methods": "Meta-analysis methods",
    "rob_impact": "Impact of risk of bias on the synthesis",
    "rob_interpretation": "Risk of bias in the interpretation",
    "heterogeneity": "Heterogeneity explained",
    "publication_bias": "Publication bias investigated",
    "conflicts": "Conflicts of interest reported",
})

NO_INFORMATION = "no_information"

JUDGED_FROM: Mapping[str, str] = MappingProxyType({
    "full_text": "the full text",
    "abstract": "the abstract",
    "secondary_report": "a review's description of the study",
})
"""What an assessment was judged from (``judged_from:``), with the words the report uses. A
``secondary_report`` is a review's account of the study, read when no page with the study's own abstract
could be found: domains that account does not describe are judged ``no_information`` (``unclear`` in the
JBI checklist)."""

TOOLS: Mapping[str, AppraisalTool] = MappingProxyType({
    "rob2": AppraisalTool(
        id="rob2", name="RoB 2", citation="Sterne et al., BMJ 2019;366:l4898",
        domains=_ROB2_DOMAINS,
        judgements=MappingProxyType({"low": "Low", "some_concerns": "Some concerns", "high": "High",
                                     NO_INFORMATION: "No information"}),
        overall_judgements=MappingProxyType({"low": "Low", "some_concerns": "Some concerns", "high": "High"}),
        levels=MappingProxyType({"low": "low", "some_concerns": "moderate", "high": "high",
                                 NO_INFORMATION: "no_information"}),
        designs=frozenset({"rct"}), comparative=True,
        rule_text="low if every domain is low; high if any is high (or if several have some concerns); "
                  "otherwise some concerns ('no information' counts as some concerns)",
        overall_rule=_rob2_overall,
    ),
    "robins_i": AppraisalTool(
        id="robins_i", name="ROBINS-I", citation="Sterne et al., BMJ 2016;355:i4919",
        domains=_ROBINS_DOMAINS,
        judgements=MappingProxyType({"low": "Low", "moderate": "Moderate", "serious": "Serious",
                                     "critical": "Critical", NO_INFORMATION: "No information"}),
        overall_judgements=MappingProxyType({"low": "Low", "moderate": "Moderate", "serious": "Serious",
                                             "critical": "Critical", NO_INFORMATION: "No information"}),
        levels=MappingProxyType({"low": "low", "moderate": "moderate", "serious": "high", "critical": "critical",
                                 NO_INFORMATION: "no_information"}),
        designs=frozenset({"prospective_cohort", "retrospective_cohort"}), comparative=True,
        rule_text="the most severe domain judgement; 'no information' when information is lacking and no "
                  "domain is serious or critical",
        overall_rule=_robins_overall,
    ),
    "jbi_case_series": AppraisalTool(
        id="jbi_case_series", name="JBI case series checklist",
        citation="Munn et al., JBI Evid Synth 2020;18(10):2127-2133",
        domains=_JBI_DOMAINS,
        judgements=MappingProxyType({"yes": "Yes", "no": "No", "unclear": "Unclear",
                                     "not_applicable": "Not applicable", NO_INFORMATION: "No information"}),
        overall_judgements=MappingProxyType({"low": "Low", "moderate": "Moderate", "high": "High",
                                             NO_INFORMATION: "No information"}),
        levels=MappingProxyType({"yes": "low", "no": "high", "unclear": "moderate", "not_applicable": "not_applicable",
                                 NO_INFORMATION: "no_information", "low": "low", "moderate": "moderate",
                                 "high": "high"}),
        designs=frozenset({"case_series", "prospective_cohort", "retrospective_cohort"}), comparative=False,
        rule_text="share of applicable questions answered yes: >= 70% low, 50-69% moderate, < 50% high "
                  "(a convention; JBI sets no score)",
        overall_rule=_jbi_overall,
    ),
    "amstar2": AppraisalTool(
        id="amstar2", name="AMSTAR 2", citation="Shea et al., BMJ 2017;358:j4008",
        domains=_AMSTAR2_DOMAINS,
        judgements=MappingProxyType({"yes": "Yes", "partial_yes": "Partial yes", "no": "No",
                                     "no_meta_analysis": "No meta-analysis conducted",
                                     NO_INFORMATION: "No information"}),
        overall_judgements=MappingProxyType({"high": "High", "moderate": "Moderate", "low": "Low",
                                             "critically_low": "Critically low"}),
        # Overall AMSTAR 2 confidence is the inverse of risk: high confidence = low risk.
        levels=MappingProxyType({"yes": "low", "partial_yes": "moderate", "no": "high",
                                 "no_meta_analysis": "not_applicable", NO_INFORMATION: "no_information",
                                 "high": "low", "moderate": "moderate", "low": "high", "critically_low": "critical"}),
        designs=frozenset({"systematic_review", "meta_analysis"}), comparative=None,
        rule_text="critical items 2, 4, 7, 9, 11, 13, 15: more than one critical flaw critically low; one "
                  "critical flaw low; more than one non-critical weakness moderate; otherwise high",
        overall_rule=_amstar2_overall_for(tuple(_AMSTAR2_DOMAINS)),
    ),
})

# Only items 11, 12 and 15 of AMSTAR 2 may be answered 'no meta-analysis conducted'.
DOMAIN_ONLY_TERMS: Mapping[tuple[str, str], frozenset[str]] = MappingProxyType({
    ("amstar2", "no_meta_analysis"): frozenset({"meta_methods", "rob_impact", "publication_bias"}),
})


def tools_for(design: str, comparative: bool) -> tuple[str, ...]:
    """The tools that fit a record's design (and, for cohorts, whether it compares arms)."""
    out = []
    for tool in TOOLS.values():
        if design not in tool.designs:
            continue
        if design in ("prospective_cohort", "retrospective_cohort") and tool.comparative is not None \
                and tool.comparative != comparative:
            continue
        out.append(tool.id)
    return tuple(out)


def level_of(tool: str, term: str) -> str:
    """The shared level of a tool's judgement (domain or overall)."""
    return TOOLS[tool].levels[term]
