"""Pictures for weeks: the per-day costs add up to the run's totals, days follow the endpoint's
wall clock (DST), and a long run is drawn as days, not minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icpilot.policy import load_policy
from icpilot.settings import DEFAULT_POLICY_PATH

from simulator import scenarios
from simulator.backtest import write
from simulator.pictures import daily_costs, hour_grid, local_days, run_start

BERLIN = ZoneInfo("Europe/Berlin")


def test_days_follow_the_minutes_as_the_engine_counted_them() -> None:
    """Started in UTC, minutes are elapsed time: Berlin's last Sunday of October has 25 hours.
    Started in Berlin, Python adds minutes on the wall clock, as the engine and the demand
    generators do: every local day has 1,440 of the run's minutes."""
    utc_start = datetime(2026, 10, 23, 22, tzinfo=UTC)  # Sat 24 Oct 00:00 in Berlin
    groups = local_days(utc_start, 3 * 1440 + 60, "Europe/Berlin")
    assert [(d, len(m)) for d, m in groups] == [
        (date(2026, 10, 24), 1440),
        (date(2026, 10, 25), 1500),  # 02:00-03:00 twice
        (date(2026, 10, 26), 1440),
    ]
    wall_start = datetime(2026, 10, 24, tzinfo=BERLIN)
    assert [len(m) for _d, m in local_days(wall_start, 3 * 1440, "Europe/Berlin")] == [1440, 1440, 1440]
    report = {"start": wall_start.isoformat(), "start_zone": "Europe/Berlin"}
    assert run_start(report) + timedelta(days=2) == datetime(2026, 10, 26, tzinfo=BERLIN)
    days, grid = hour_grid([1.0] * (3 * 1440 + 60), utc_start, "Europe/Berlin")
    assert days == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)] and all(len(r) == 24 for r in grid)


def test_daily_costs_split_the_minutes_by_day() -> None:
    start = datetime(2026, 11, 2, tzinfo=BERLIN)
    groups = local_days(start, 2 * 1440, "Europe/Berlin")
    instances = [1] * 1440 + [2] * 1440
    penalty = [0.0] * 2880
    penalty[10], penalty[2000] = 0.5, 1.25
    assert daily_costs(instances, penalty, 6.0, groups) == ([144.0, 288.0], [0.5, 1.25])


@pytest.fixture(scope="module")
def trickle_week(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:  # type: ignore[type-arg]
    policy = load_policy(Path(DEFAULT_POLICY_PATH))
    report = scenarios.report(policy, scenarios.build("trickle"), score_from_day=2, optimum_seconds=1)
    out = tmp_path_factory.mktemp("week")
    _, png = write(report, out)
    return report, png


def test_the_days_add_up_to_every_strategys_scored_total(trickle_week: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    report, _ = trickle_week
    series = report["_series"]
    groups = local_days(run_start(report), report["minutes"], report["timezone"])
    scored = report["scored_from_minute"]
    price = report["cost_model"]["instance_price_per_hour"]
    for name, row in report["strategies"].items():
        instances = [0 if m < scored else n for m, n in enumerate(series["instances"][name])]
        instance_usd, penalty_usd = daily_costs(instances, series["penalty"][name], price, groups)
        assert sum(instance_usd) == pytest.approx(row["instance_usd"], abs=0.02), name
        assert sum(penalty_usd) == pytest.approx(row["penalty_usd"], abs=0.02), name
        assert sum(series["penalty"][name][:scored]) == 0, name  # history is not the score


def test_a_week_is_drawn_as_days(trickle_week: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    report, png = trickle_week
    assert report["minutes"] == 7 * 1440 and report["timezone"] == "Europe/Berlin"
    assert png.stat().st_size > 20_000
    from matplotlib.image import imread

    height, width, _ = imread(png).shape
    assert height > width  # one cost panel per strategy and the day-by-hour maps, stacked
    assert timedelta(minutes=report["minutes"]) > timedelta(days=2)
