"""Rule checks that fail a build (like ROBOT's ``verify``): every ``*-violation`` query must return nothing."""

from __future__ import annotations

from typing import NamedTuple

from amurkg.catalog import CannedQuery, list_queries
from amurkg.graph import KnowledgeGraph
from amurkg.results import SelectResult, format_result


class CheckOutcome(NamedTuple):
    """One check: the query that ran and the offending rows it returned (none when it passes)."""

    check: CannedQuery
    rows: SelectResult

    @property
    def passed(self) -> bool:
        """True when the check found nothing wrong."""
        return not self.rows.rows


def run_checks(kg: KnowledgeGraph) -> list[CheckOutcome]:
    """Run every canned ``*-violation`` query against the graph."""
    outcomes = []
    for canned in list_queries():
        if canned.is_violation_check:
            result = kg.run(canned.name)
            assert isinstance(result, SelectResult)
            outcomes.append(CheckOutcome(canned, result))
    return outcomes


def format_checks(outcomes: list[CheckOutcome]) -> str:
    """One line per check, the offending rows under each failed one, then a summary line."""
    lines = []
    for outcome in outcomes:
        mark = "ok  " if outcome.passed else "FAIL"
        lines.append(f"{mark}  {outcome.check.name}  {outcome.check.title}")
        if not outcome.passed:
            lines += ["      " + line for line in format_result(outcome.rows, "table").splitlines()]
    failed = sum(not o.passed for o in outcomes)
    lines.append(f"{len(outcomes) - failed} of {len(outcomes)} checks passed")
    return "\n".join(lines) + "\n"
