from __future__ import annotations

from datetime import date

from trolydvc.locality import load_locality
from trolydvc.tracking.demo import (
    AGENCY_CODES,
    DEMO_MARK,
    SHOWCASE,
    SHOWCASE_PHONE_LAST4,
    generate_demo_rows,
    load_demo_data,
)
from trolydvc.tracking.lookup import is_national_code, lookup
from trolydvc.tracking.lookup_guard import RateLimiter
from trolydvc.tracking.stats import Period, compute_report

TODAY = date(2026, 11, 2)


def test_demo_rows_are_deterministic_and_realistic() -> None:
    a = generate_demo_rows(600, today=TODAY)
    assert a == generate_demo_rows(600, today=TODAY)
    assert a != generate_demo_rows(600, today=TODAY, seed=1)
    codes = [r["code"] for r in a]
    assert len(set(codes)) == len(codes)
    assert all(is_national_code(c) for c in codes)
    assert set(SHOWCASE) <= set(codes)
    online = sum(r["channel"] == "online" for r in a) / len(a)
    assert 0.1 < online < 0.3
    from trolydvc.catalog import load_catalog

    catalog = load_catalog()
    assert all(catalog.get(r["procedure_code"]) is not None for r in a)


def test_load_demo_data_replaces_earlier_demo_rows(db_url: str) -> None:
    first = load_demo_data(300, today=TODAY, url=db_url)
    assert first.errors == 0 and first.imported == 300 + len(SHOWCASE)
    second = load_demo_data(300, today=TODAY, url=db_url)
    assert second.removed == 300 + len(SHOWCASE)
    report = compute_report(Period.between(date(2026, 1, 1), TODAY), url=db_url)
    assert 250 < report.totals.received <= 300
    assert report.totals.on_time > 0.9 * report.totals.resolved
    result = lookup(
        SHOWCASE[2],
        sender_id="t",
        phone_last4=SHOWCASE_PHONE_LAST4,
        limiter=RateLimiter(),
        url=db_url,
    )
    assert result.kind == "verified" and "Chờ bổ sung" in result.text


def test_cli_demo_data_if_empty(db_url: str) -> None:
    from click.testing import CliRunner

    from trolydvc.cli import main

    runner = CliRunner()
    first = runner.invoke(
        main, ["demo-data", "--count", "50", "--today", "2026-11-02", "--if-empty"]
    )
    assert first.exit_code == 0, first.output
    assert SHOWCASE[0] in first.output and SHOWCASE_PHONE_LAST4 in first.output
    second = runner.invoke(main, ["demo-data", "--if-empty"])
    assert second.exit_code == 0 and "không nạp dữ liệu mẫu" in second.output
    bad = runner.invoke(main, ["demo-data", "--today", "hôm qua"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_demo_dossiers_are_received_by_communes_of_locality_yml() -> None:
    locality = load_locality()  # the shipped one: Quảng Trị, generated from the 2025 units
    first = [c.name for c in locality.communes[:4]]
    rows = generate_demo_rows(400, today=TODAY)
    agencies = {r["code"].split("-")[0]: (r["agency"], r["commune"]) for r in rows}
    assert sorted(agencies) == AGENCY_CODES
    for code, name in zip(AGENCY_CODES, first, strict=True):
        agency, commune = agencies[code]
        assert agency == f"UBND {name[:1].lower()}{name[1:]}"  # "UBND phường Đồng Thuận"
        assert name.endswith(f" {commune}") and locality.find_commune(commune) is not None
    # the demo stays marked as such: removing it never touches a real dossier
    assert all(DEMO_MARK in r["code"] for r in rows)
