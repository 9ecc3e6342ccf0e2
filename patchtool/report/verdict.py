"""Why a report says PASS or FAIL, in words: the failed stages first, then the findings counted."""

from __future__ import annotations

from patchtool.report.records import FAILED, BuildView, FindingView, StageView

_NOUNS = (("error", "error", "errors"), ("warning", "warning", "warnings"), ("info", "note", "notes"))


def _stage_reason(stage: StageView, build: BuildView | None) -> str:
    detail = stage.detail.strip()
    if stage.name == "build":
        first = build.first_error if build is not None and build.first_error else detail
        return f"build failed: {first}" if first and first != "failed" else "build failed"
    if stage.name == "test":
        return f"test {detail}" if detail else "tests failed"
    if stage.name == "parse":
        return f"incomplete series ({detail})" if detail else "the series could not be read"
    if stage.name == "apply":
        return f"apply: {detail}" if detail else "does not apply"
    return f"{stage.name}: {detail}" if detail else f"{stage.name} failed"


def count_phrase(findings: tuple[FindingView, ...]) -> str:
    """`1 error, 2 warnings` (only the non-zero counts), or "" when there are no findings."""
    parts = []
    for severity, one, many in _NOUNS:
        n = sum(f.severity == severity for f in findings)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def verdict_reasons(
    stages: tuple[StageView, ...], findings: tuple[FindingView, ...], build: BuildView | None
) -> tuple[str, ...]:
    """Each failed stage in pipeline order, then what the checks found."""
    reasons = [_stage_reason(s, build) for s in stages if s.state == FAILED and s.name != "checks"]
    counted = count_phrase(findings)
    return (*reasons, counted) if counted else tuple(reasons)
