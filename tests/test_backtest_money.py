"""The backtest in money (BENCHMARK.md, "Money") on the hand-worked files of tests/test_backtest.py.

tou.txt: $0.30/kWh, but $0.10 in the hours 02 and 03 (zone UTC); price.csv: the same prices as an hourly series.
Loads 00..07 = 100, 80, 60, 70, —, 90, 85, 130 (hour 04 delivers nothing). Full power 7.68 kW.
  immediate: S1 00–01 @0.30: 7.68·0.30 = 2.304.  S2 01:30–03:30: 3.84·0.30 + 7.68·0.10 + 3.84·0.10 = 2.304.
             S3 05:00 @0.30: 5·0.30 = 1.5.  cost_per_kwh = 6.108 / 28.04
  oracle (--objective cost): S1 the cheapest hour, 02 and 03 tie at 0.10, the lower load (02) wins: 0.768.
             S2 every minute is needed: 2.304.  S3 05–07 all 0.30: 1.5.  cost_per_kwh = 4.572 / 28.04
  from2 (starts at 02:00): S1 0.768; S2 02:00–03:30, 11.52 kWh @0.10 = 1.152; S3 as immediate 1.5.
             cost_per_kwh = 3.42 / 24.2;  cost_capture = (6.108/28.04 − 3.42/24.2) / (6.108/28.04 − 4.572/28.04)
With --objective load the oracle fills the lowest-load hours instead (S3: 06 @85, the same $0.30): the same bill here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backtest.data import load_grid, load_sessions, zone_of
from backtest.metrics import metrics
from backtest.policies import Immediate, Oracle
from backtest.prices import price_series, tariff_prices
from backtest.replay import replay
from charge_logic.config import RuleConfig
from charge_logic.household_planner import HouseholdPlanner
from charge_logic.models import ForecastPoint, VehicleSnapshot
from charge_logic.objective import Objective, planning_series
from charge_logic.tariff import parse_tou
from charge_logic.vehicle_plan import plan_for_vehicle
from tests.test_backtest import From

DATA = Path(__file__).parent / "data" / "backtest"
ROOT = Path(__file__).parent.parent
UTC = zone_of("UTC")

IMMEDIATE = 6.108 / 28.04
ORACLE = 4.572 / 28.04
FROM2 = 3.42 / 24.2


def money_run(prices_of, objective=Objective.COST):
    grid = load_grid(str(DATA / "grid.csv"))
    sessions, skipped = load_sessions(str(DATA / "sessions.csv"), UTC, grid)
    return metrics(replay(grid, sessions, [Immediate(), Oracle(objective), From(2)], UTC, skipped=skipped,
                          progress=False, prices=prices_of(grid)))


@pytest.mark.parametrize("prices_of", [
    lambda grid: tariff_prices(str(DATA / "tou.txt"), grid, UTC),
    lambda grid: price_series(str(DATA / "price.csv"), grid),
], ids=["tariff", "price"])
def test_cost_per_kwh_and_cost_capture_match_the_hand_worked_answers(prices_of):
    table = money_run(prices_of)
    assert table["immediate"]["cost_per_kwh"] == pytest.approx(IMMEDIATE)
    assert table["oracle"]["cost_per_kwh"] == pytest.approx(ORACLE)
    assert table["from2"]["cost_per_kwh"] == pytest.approx(FROM2)
    assert table["from2"]["cost_capture"] == pytest.approx((IMMEDIATE - FROM2) / (IMMEDIATE - ORACLE))
    assert table["immediate"]["cost_capture"] == pytest.approx(0.0) and table["oracle"]["cost_capture"] == 1.0
    assert table["from2"]["load_weighted_mw"] == pytest.approx(1640.4 / 24.2)  # the load metrics stay beside


def test_no_money_metrics_without_a_tariff_or_price():
    grid = load_grid(str(DATA / "grid.csv"))
    sessions, skipped = load_sessions(str(DATA / "sessions.csv"), UTC, grid)
    table = metrics(replay(grid, sessions, [Immediate(), Oracle()], UTC, skipped=skipped, progress=False))
    assert "cost_per_kwh" not in table["immediate"]


def test_cli_objective_cost_with_a_tariff_writes_the_money_metrics(tmp_path):
    out = tmp_path / "m.json"
    r = subprocess.run([sys.executable, "-m", "backtest", "--quiet", "--grid", str(DATA / "grid.csv"),
                        "--sessions", str(DATA / "sessions.csv"), "--tz", "UTC", "--policy", "immediate",
                        "--tariff", str(DATA / "tou.txt"), "--objective", "cost", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "$/kWh" in r.stdout and "cost_capt" in r.stdout
    table = json.loads(out.read_text())["policies"]
    assert table["oracle"]["cost_per_kwh"] == pytest.approx(ORACLE)


def cli_error(tmp_path, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "backtest", "--quiet", "--grid", str(DATA / "grid.csv"),
                        "--sessions", str(DATA / "sessions.csv"), "--tz", "UTC", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_cli_errors_for_a_bad_tariff_name_the_file_and_what_is_wrong(tmp_path):
    no_structure = tmp_path / "rate.json"
    no_structure.write_text(json.dumps({"items": [{"label": "x", "name": "E-1"}]}))
    said = cli_error(tmp_path, "--tariff", str(no_structure), "--objective", "cost")
    assert "rate.json" in said and "energyratestructure" in said

    bad_month = tmp_path / "short.json"
    bad_month.write_text(json.dumps({"energyratestructure": [[{"rate": 0.1}]], "energyweekdayschedule": [[0] * 24],
                                     "energyweekendschedule": [[0] * 24] * 12}))
    said = cli_error(tmp_path, "--tariff", str(bad_month))
    assert "short.json" in said and "energyweekdayschedule" in said and "12 months" in said

    not_json = tmp_path / "broken.json"
    not_json.write_text("{")
    said = cli_error(tmp_path, "--tariff", str(not_json))
    assert "broken.json" in said and "not JSON" in said

    tou = tmp_path / "tou.txt"
    tou.write_text("0.12, 16-21 dear\n")
    said = cli_error(tmp_path, "--tariff", str(tou))
    assert "tou.txt" in said and "'dear'" in said

    said = cli_error(tmp_path, "--tariff", str(tmp_path / "missing.json"))
    assert "missing.json" in said


def test_cli_errors_for_a_bad_price_file_and_a_cost_objective_without_prices(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text("interval_start_utc,price\n2020-01-01T00:00:00Z,cheap\n")
    said = cli_error(tmp_path, "--price", str(bad))
    assert "p.csv:2" in said and "'cheap'" in said
    mwh = tmp_path / "mwh.csv"
    mwh.write_text("interval_start_utc,price\n2020-01-01T00:00:00Z,45.2\n")
    assert "$/kWh" in cli_error(tmp_path, "--price", str(mwh))
    assert "--tariff" in cli_error(tmp_path, "--objective", "cost")


# ---------------------------------------------------------------- the daemon's planner on a TOU price
LA = ZoneInfo("America/Los_Angeles")
TOU = parse_tou("0.30, 16-21 0.55, 0-6 0.12", "test")  # off-peak 00–06 at $0.12, peak 16–21


def car(now: datetime) -> VehicleSnapshot:
    return VehicleSnapshot("…0001", "car", "online", read_at=now, battery_level=40, charge_limit_soc=80,
                           charging_state="Stopped", charge_current_request_max=32, charger_voltage=240,
                           charger_phases=1, conn_charge_cable="SAE")


def test_the_planner_on_a_tou_price_plans_into_the_off_peak_hours_and_says_what_it_saves():
    now = datetime(2024, 3, 5, 18, 10, tzinfo=LA)  # plugged in at peak, a weekday
    start = now.astimezone(ZoneInfo("UTC")).replace(minute=0)
    price = [ForecastPoint(t, p) for t, p in TOU.hourly(start, start + timedelta(hours=36), LA)]
    load = [ForecastPoint(start + timedelta(hours=h), 20_000.0 + 10 * h) for h in range(36)]
    config = RuleConfig(objective=Objective.COST, default_departure=RuleConfig.default_departure)
    plan = plan_for_vehicle(now, car(now), planning_series(Objective.COST, load, price), (), config, LA)
    first = min(w.start for w in plan.windows).astimezone(LA)
    assert first.hour == 0 and first.date() == (now + timedelta(days=1)).date(), plan.windows
    said = " ".join(plan.reasons)
    assert "lowest price" in said and "$/kWh" in said
    saving = next(r for r in plan.reasons if r.startswith("waiting until 00:00 saves $"))
    # 40 % → 80 % of 75 kWh at the wall: at once it runs 18:10–~22:30 (peak then $0.30), planned all at $0.12
    usd = float(saving.split("$")[1].split()[0])
    assert 3.0 < usd < 12.0, saving


def test_the_household_planner_on_a_tou_price_waits_for_the_off_peak_hours():
    """A household that always stays overnight, plugged in at the peak: the plan waits for the off-peak hours (the
    load forecast, lower later in the night, only breaks the ties between them) and says what that saves."""
    planner = HouseholdPlanner()
    from charge_logic.household import PastSession

    past = []
    for d in range(60):
        a = datetime(2024, 1, 1, 18, tzinfo=LA) + timedelta(days=d, minutes=(d * 7) % 60)
        past.append(PastSession("home", a, a + timedelta(hours=13), 12.0))
    planner.learn(past)
    now = datetime(2024, 3, 5, 18, 20, tzinfo=LA)
    start = now.astimezone(ZoneInfo("UTC")).replace(minute=0)
    price = [ForecastPoint(t, p) for t, p in TOU.hourly(start, start + timedelta(hours=36), LA)]
    load = [ForecastPoint(start + timedelta(hours=h), 20_000.0 - 50 * h) for h in range(36)]  # lower later
    config = RuleConfig(objective=Objective.COST)
    plan = plan_for_vehicle(now, car(now), planning_series(Objective.COST, load, price), (), config, LA,
                            plugged_at=now, household=planner)
    first = min(w.start for w in plan.windows).astimezone(LA)
    assert first.date() == (now + timedelta(days=1)).date() and first.hour <= 1, plan.reasons  # 33 kWh by 06:00
    assert any(r.startswith(f"waiting until {first:%H:%M} saves $") for r in plan.reasons), plan.reasons


def test_the_planning_series_is_the_price_with_ties_broken_by_load_and_falls_back_to_what_is_there():
    t0 = datetime(2024, 3, 5, 0, tzinfo=ZoneInfo("UTC"))
    price = [ForecastPoint(t0 + timedelta(hours=h), p) for h, p in enumerate((0.30, 0.10, 0.10, 0.30))]
    load = [ForecastPoint(t0 + timedelta(hours=h), mw) for h, mw in enumerate((900.0, 700.0, 600.0, 800.0))]
    series = [p.load_mw for p in planning_series(Objective.COST, load, price)]
    assert max(abs(a - b.load_mw) for a, b in zip(series, price, strict=True)) <= 1e-6 * 0.2 + 1e-12  # ties only
    assert sorted(range(4), key=lambda h: series[h])[:2] == [2, 1]  # equal prices: the lower load first
    assert [p.load_mw for p in planning_series(Objective.COST, [], price)] == [0.30, 0.10, 0.10, 0.30]  # grid down
    assert planning_series(Objective.COST, load, []) == load  # no price: the load forecast, the car still plans
    on_load = planning_series(Objective.LOAD, load, price)  # the load objective: the price only breaks its ties
    assert max(abs(a.load_mw - b.load_mw) for a, b in zip(on_load, load, strict=True)) <= 1e-6 * 300 + 1e-9
