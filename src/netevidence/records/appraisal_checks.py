"""Checks of risk-of-bias assessments against their tool (:mod:`netevidence.records.appraisal_tools`).

Errors: a tool that does not fit the design (``rob-wrong-tool``), a domain the tool does not have
(``rob-unknown-domain``), a domain given twice (``rob-repeated-domain``) or missing
(``rob-missing-domain``), domains out of the tool's order (``rob-domain-order``), a judgement outside
the tool's vocabulary (``rob-unknown-judgement``), two assessments of the same outcomes
(``rob-repeated-assessment``). Warnings: an overall judgement that the tool's rule does not give
(``rob-overall-rule``) and a study without any assessment (``no-risk-of-bias``; a warning so that new
records can be added before they are appraised).
"""

from __future__ import annotations

from .appraisal_tools import DOMAIN_ONLY_TERMS, TOOLS, tools_for
from .loaded import Reporter
from .schema import RiskOfBias, Record
from .vocabulary import did_you_mean

RULES = ("rob-wrong-tool", "rob-unknown-domain", "rob-repeated-domain", "rob-missing-domain", "rob-domain-order",
         "rob-unknown-judgement", "rob-repeated-assessment", "rob-overall-rule", "no-risk-of-bias")
"""The rule codes of this module's problems."""

NOT_APPRAISED_DESIGNS = frozenset({"narrative_review"})
"""Designs no appraisal tool applies to (a narrative review has no methods to appraise)."""


def is_comparative(record: Record) -> bool:
    """A record compares interventions when it has two or more arms or reports an effect against a comparator
    (a p-value between subgroups of one arm does not make it comparative)."""
    return len(record.arms) >= 2 or any(o.comparator is not None for o in record.outcomes)


def check_risk_of_bias(report: Reporter, record: Record) -> None:
    """Add the problems of a record's risk-of-bias assessments to ``report``."""
    if not record.risk_of_bias:
        if record.design not in NOT_APPRAISED_DESIGNS:
            fitting = tools_for(record.design, is_comparative(record))
            report.warning("no-risk-of-bias", ("design",), "the study has no risk-of-bias assessment",
                           f"add a 'risk_of_bias' block using {' or '.join(fitting)} (see docs/appraisal.md)")
        return
    covered: dict[str, int] = {}
    for i, assessment in enumerate(record.risk_of_bias):
        _check_assessment(report, record, ("risk_of_bias", i), assessment)
        for endpoint in assessment.endpoints or ["*"]:
            if endpoint in covered or (endpoint == "*" and covered) or "*" in covered:
                report.error("rob-repeated-assessment", ("risk_of_bias", i),
                             "two assessments cover the same outcomes",
                             "give each assessment its own 'endpoints', or keep one for the whole study")
                break
            covered[endpoint] = i


def _check_assessment(report: Reporter, record: Record, path: tuple[object, ...], rob: RiskOfBias) -> None:
    tool = TOOLS[rob.tool]
    fitting = tools_for(record.design, is_comparative(record))
    if rob.tool not in fitting:
        kind = "a comparative" if is_comparative(record) else "a single-arm"
        fix = f"use {' or '.join(fitting)}" if fitting else "remove the block: no appraisal tool applies to this design"
        report.error("rob-wrong-tool", path + ("tool",),
                     f"{tool.name} does not fit {kind} {record.design.replace('_', ' ')}", fix)
        return
    order = list(tool.domains)
    seen: dict[str, int] = {}
    judgements: dict[str, str] = {}
    last_index = -1
    for j, entry in enumerate(rob.domains):
        where = path + ("domains", j)
        if entry.domain not in tool.domains:
            report.error("rob-unknown-domain", where + ("domain",),
                         f"{tool.name} has no domain {entry.domain!r}{did_you_mean(entry.domain, order)}",
                         f"use one of: {', '.join(order)}")
            continue
        if entry.domain in seen:
            report.error("rob-repeated-domain", where + ("domain",),
                         f"the domain {entry.domain!r} is given twice (first at domains[{seen[entry.domain]}])",
                         "keep one judgement per domain")
            continue
        seen[entry.domain] = j
        index = order.index(entry.domain)
        if index < last_index:
            report.error("rob-domain-order", where + ("domain",),
                         f"the domain {entry.domain!r} comes after {order[last_index]!r}; {tool.name} lists it before",
                         f"list the domains in the tool's order: {', '.join(order)}")
        last_index = max(last_index, index)
        allowed = [t for t in tool.judgements
                   if entry.domain in DOMAIN_ONLY_TERMS.get((tool.id, t), frozenset({entry.domain}))]
        if entry.judgement not in allowed:
            report.error("rob-unknown-judgement", where + ("judgement",),
                         f"{entry.judgement!r} is not a {tool.name} judgement for {entry.domain!r}"
                         f"{did_you_mean(entry.judgement, allowed)}",
                         f"use one of: {', '.join(allowed)}")
            continue
        judgements[entry.domain] = entry.judgement
    missing = [d for d in order if d not in seen]
    if missing:
        report.error("rob-missing-domain", path + ("domains",),
                     f"{tool.name} domain(s) missing: {', '.join(missing)}",
                     "add a judgement for each (use 'no_information' when it cannot be judged)")
    if rob.overall not in tool.overall_judgements:
        report.error("rob-unknown-judgement", path + ("overall",),
                     f"{rob.overall!r} is not a {tool.name} overall judgement"
                     f"{did_you_mean(rob.overall, tool.overall_judgements)}",
                     f"use one of: {', '.join(tool.overall_judgements)}")
        return
    if len(judgements) == len(order):
        expected = tool.overall_rule([judgements[d] for d in order])
        if rob.overall not in expected:
            report.warning("rob-overall-rule", path + ("overall",),
                           f"the overall judgement {rob.overall!r} does not follow {tool.name}'s rule, which gives "
                           f"{' or '.join(sorted(expected))} for these domains",
                           f"check the domains, or explain the departure in 'support' ({tool.rule_text})")
