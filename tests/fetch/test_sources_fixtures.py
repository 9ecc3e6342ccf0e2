"""The recorded HTTP answers are current: regenerating them from the thread mail changes nothing."""

from __future__ import annotations

from tests import http_fixtures_gen


def test_routes_json_is_up_to_date() -> None:
    current = (http_fixtures_gen.HTTP / "routes.json").read_text()
    assert current == http_fixtures_gen.render(), "run: python -m tests.http_fixtures_gen"


def test_the_incomplete_series_has_the_patchew_shape() -> None:
    data = http_fixtures_gen.build()
    head = data["threads"]["kvm-dirty-ring-v4"][0]
    detail = next(r["json"] for r in data["routes"] if r["path"] == f"/api/v1/projects/1/series/{head}/")
    assert (detail["num_patches"], detail["total_patches"], detail["is_complete"]) == (4, 13, False)
