"""The daemon's month of money saved, measured: a night on a TOU tariff (the simulated car plugged in at 18:00 on a
weekday, planned into the 00:00-07:00 off-peak hours) is counted at what its energy cost in the hours it took it,
against the same energy at once from 18:00 at the charger's full power; a restart keeps the month, a corrupt
savings.json is moved aside and the month rebuilt from the session log and the readings (saying so), nothing else
lost; a new month starts at 0; without a price the month stays null. And the night's CO₂ beside its cost where a CO₂
series is set (CO2_SOURCE)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from charge_logic.power import CHARGE_EFFICIENCY
from charge_logic.tariff import parse_tou
from dashboard.state import read_snapshot
from service.coordinator import Coordinator
from service.savings_store import SavingsStore
from service.session_log import SessionLog
from tests.clock import Clock
from tests.fakes import watttime as fwt
from tests.fakes.comed import FakeComEd
from tests.fakes.http import Reply
from tests.fakes.watttime import FakeWattTime
from tests.test_dashboard_cars import by_id, drawn, walk
from tests.test_signal_source import EVENING, NY, TOU, flat, make

TICK = timedelta(minutes=14)
KG_PER_LB = 0.45359237


def night(tmp_path: Path, clock: Clock, **env: str) -> Coordinator:
    """18:00 to 08:00 of a tick every 14 minutes, then the car leaves; the daemon as it ran."""
    car = make(tmp_path, clock, **env)
    while clock() < EVENING + timedelta(hours=14):
        car.tick(clock())
        clock.advance(minutes=14)
    car.link.vehicle.plug(False)
    car.tick(clock())
    return car


def month_of(car: Coordinator, clock: Clock) -> dict[str, Any]:
    return flat(car.tick(clock()).state)["savings"]["month"]


def at_once_cost(start: datetime, kwh: float, kw: float) -> float:
    """The tariff's bill for `kwh` from `start` at `kw`, minute by minute: the figure worked out apart."""
    tariff, cost, t, left = parse_tou(TOU), 0.0, start, kwh
    while left > 1e-9:
        step = min(left, kw / 60)
        cost += step * tariff.price_at(t.astimezone(NY))
        left -= step
        t += timedelta(minutes=1)
    return cost


def test_a_night_on_a_tou_tariff_is_counted_at_what_it_cost_against_charging_at_once(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    car = night(tmp_path, clock, TARIFF_TOU=TOU)
    session = car.session_log.sessions[-1]
    assert session.departure is not None
    kwh = session.taken_kwh()  # at the wall (the car counted CHARGE_EFFICIENCY of it)
    assert kwh == pytest.approx(session.energy_added_kwh / CHARGE_EFFICIENCY)
    month = month_of(car, clock)
    assert (month["month"], month["sessions"], month["unpriced"], month["note"]) == ("2026-11", 1, 0, None)
    assert month["kwh"] == pytest.approx(kwh, abs=0.05)
    assert month["cost_usd"] == pytest.approx(kwh * 0.11, abs=0.01)  # all of it taken off-peak
    kw = 32 * 240 / 1000  # the sim's charger: MAX_AMPS 32 at 240 V
    assert month["now_cost_usd"] == pytest.approx(at_once_cost(EVENING, kwh, kw), abs=0.02)  # 18:00 in the 0.45 peak
    assert month["saved_usd"] == pytest.approx(month["now_cost_usd"] - month["cost_usd"], abs=0.01)
    assert month["saved_usd"] > 5
    assert month["saved_co2_kg"] is None  # no CO₂ series: unknown, not 0
    on_disk = json.loads((tmp_path / "savings.json").read_text())
    assert (tmp_path / "savings.json").stat().st_mode & 0o077 == 0  # private, as the other per-car files
    assert [p["arrival"] for p in on_disk["plug_ins"]] == [session.arrival]


def test_a_restart_keeps_the_month_and_a_corrupt_file_is_rebuilt_saying_so(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    car = night(tmp_path, clock, TARIFF_TOU=TOU)
    before = month_of(car, clock)
    sessions, planner = (tmp_path / "sessions.json").read_bytes(), (tmp_path / "planner.json").read_bytes()

    clock.advance(hours=2)
    restarted = make(tmp_path, clock, TARIFF_TOU=TOU)
    restarted.link.vehicle.plug(False)
    kept = month_of(restarted, clock)
    assert kept == before

    (tmp_path / "savings.json").write_text('{"version": 1, "plug_ins": [{"arrival": ')  # a write cut short
    clock.advance(hours=1)
    rebuilt_car = make(tmp_path, clock, TARIFF_TOU=TOU)
    rebuilt_car.link.vehicle.plug(False)
    rebuilt = month_of(rebuilt_car, clock)
    assert (rebuilt["sessions"], rebuilt["unpriced"]) == (1, 0)
    # re-measured from the readings of every tick (their power), not from the lost per-hour count: within cents
    assert rebuilt["saved_usd"] == pytest.approx(before["saved_usd"], abs=0.15)
    assert rebuilt["kwh"] == pytest.approx(before["kwh"], abs=0.05)
    assert rebuilt["note"].startswith("savings.json is not JSON (moved aside): this month was rebuilt from the "
                                      "session log"), rebuilt["note"]
    assert len(list(tmp_path.glob("savings.json.corrupt-*"))) == 1
    assert (tmp_path / "sessions.json").read_bytes() == sessions  # nothing else lost
    assert (tmp_path / "planner.json").read_bytes() == planner
    assert json.loads((tmp_path / "savings.json").read_text())["version"] == 1  # and written afresh

    clock.now = datetime(2026, 12, 1, 8, 0, tzinfo=NY)  # the 1st: a new month starts at 0, its note gone
    december = month_of(rebuilt_car, clock)
    assert (december["month"], december["sessions"], december["saved_usd"], december["note"]) == ("2026-12", 0,
                                                                                                   0.0, None)


def test_a_file_of_another_shape_is_rebuilt_too_and_a_plug_in_no_reading_covers_counts_without_a_price(
        tmp_path: Path) -> None:
    clock = Clock(EVENING)
    car = night(tmp_path, clock, TARIFF_TOU=TOU)
    state = json.loads((tmp_path / "state.json").read_text())
    state["vehicles"][0]["history"] = []  # the readings are gone too: the energy is known, not its hours
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "savings.json").write_text('{"version": 1, "plug_ins": [{"kw": "fast"}]}')
    restarted = make(tmp_path, clock, TARIFF_TOU=TOU)
    restarted.link.vehicle.plug(False)
    month = month_of(restarted, clock)
    assert (month["sessions"], month["unpriced"], month["saved_usd"]) == (1, 1, 0.0)
    assert month["kwh"] == pytest.approx(car.session_log.sessions[-1].taken_kwh(), abs=0.05)
    assert "could not be used (a plug-in cannot be read" in month["note"]
    assert "1 plug-in from before" in month["note"] and "could not be re-measured" in month["note"]


def test_without_a_price_the_month_stays_null(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    car = make(tmp_path, clock, OBJECTIVE="load")
    for _ in range(3):
        state = flat(car.tick(clock()).state)
        clock.advance(minutes=14)
    assert state["savings"] is None
    kept = json.loads((tmp_path / "savings.json").read_text())["plug_ins"]  # the plug-in is measured, unpriced
    assert len(kept) == 1 and kept[0]["price"] == {}


def test_the_nights_co2_beside_its_cost_where_a_co2_series_is_set(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    plain = flat(make(tmp_path / "plain", clock, TARIFF_TOU=TOU).tick(clock()).state)["savings"]["night"]
    assert plain["cost_usd"] > 0 and (plain["co2_kg"], plain["now_co2_kg"]) == (None, None)
    with FakeWattTime() as wt:
        wt.now = EVENING.astimezone(UTC)
        car = make(tmp_path / "co2", clock, TARIFF_TOU=TOU, CO2_SOURCE="watttime", WATTTIME_USERNAME=fwt.USER,
                   WATTTIME_PASSWORD=fwt.PASSWORD, WATTTIME_BASE_URL=wt.url, WATTTIME_REGION="PJM_DC")
        state = flat(car.tick(clock()).state)
    n = state["savings"]["night"]
    assert state["signal"]["objective"] == "cost"  # planned on price; CO₂ is counted beside it
    assert (n["cost_usd"], n["now_cost_usd"]) == (plain["cost_usd"], plain["now_cost_usd"])
    kwh = n["cost_usd"] / 0.11  # the plan is all off-peak (test_signal_source)
    rates = [fwt.moer_at(EVENING.astimezone(UTC) + timedelta(hours=h)) * KG_PER_LB / 1000 for h in range(24)]
    assert min(rates) - 0.01 <= n["co2_kg"] / kwh <= max(rates) + 0.01  # kg/kWh of the fake's hours, not $/kWh
    assert min(rates) - 0.01 <= n["now_co2_kg"] / kwh <= max(rates) + 0.01


def test_a_comed_customers_bill_is_never_the_delivery_tariff_alone(tmp_path: Path) -> None:
    """ComEd's hourly price is the supply part, TARIFF_TOU the delivery added to it: with ComEd down the plan falls
    back to the tariff, but nothing is counted at a price the owner does not pay."""
    clock = Clock(EVENING)
    with FakeComEd() as comed:
        comed.now = clock.now
        env = {"PRICE_SOURCE": "comed", "COMED_BASE_URL": comed.url, "TARIFF_TOU": "0.08"}
        up = flat(make(tmp_path / "up", clock, **env).tick(clock()).state)
        comed.inject(Reply(503, "<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}))
        down = flat(make(tmp_path / "down", clock, **env).tick(clock()).state)
    night = up["savings"]["night"]
    assert night["cost_usd"] > 0 and night["now_cost_usd"] > 0
    assert up["savings"]["month"] == {**up["savings"]["month"], "sessions": 0, "saved_usd": 0.0}
    assert down["signal"]["source"] == "tariff"  # planned on the tariff alone, and says so
    assert down["savings"] is None


def test_the_dashboard_shows_the_months_figures_the_daemon_wrote(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    car = night(tmp_path, clock, TARIFF_TOU=TOU)
    month = month_of(car, clock)
    parts = drawn(read_snapshot(tmp_path / "state.json"))
    assert by_id(parts, "month-saved-car1").children == f"${month['saved_usd']:.2f}"
    notes = [c.children for c in walk([by_id(parts, "savings-car1")]) if c.className == "tile-note"]
    assert notes == ["over 1 plug-in"]  # the car has left: no night to show, the month stays


def test_a_plug_in_of_the_30th_charged_over_midnight_counts_in_each_month_by_the_hours_it_took(
        tmp_path: Path) -> None:
    """Plugged in on Monday, November 30 at 21:00 and planned into the off-peak from 00:00: December shows the energy
    (all taken after midnight, at 0.11) and the night's whole saving against charging at once from 21:00; November,
    whose hours the plan took nothing in, shows none of it."""
    start = datetime(2026, 11, 30, 21, 0, tzinfo=NY)
    clock = Clock(start)
    car = make(tmp_path, clock, TARIFF_TOU=TOU)
    while clock() < start + timedelta(hours=11):
        car.tick(clock())
        clock.advance(minutes=14)
    car.link.vehicle.plug(False)
    kwh = car.session_log.sessions[-1].taken_kwh()
    kw = 32 * 240 / 1000
    december = month_of(car, clock)  # what the owner sees on the morning of the 1st
    assert (december["month"], december["sessions"], december["unpriced"]) == ("2026-12", 1, 0)
    assert december["kwh"] == pytest.approx(kwh, abs=0.05)  # nothing taken before midnight: all December's
    assert december["cost_usd"] == pytest.approx(kwh * 0.11, abs=0.01)
    whole = at_once_cost(start, kwh, kw) - kwh * 0.11  # 21:00 on at full power: three hours at 0.32 first
    assert whole > 1.0
    assert december["saved_usd"] == pytest.approx(whole, abs=0.02)
    parts = drawn(read_snapshot(tmp_path / "state.json"))
    assert by_id(parts, "month-saved-car1").children == f"${whole:.2f}"

    kept = SavingsStore(tmp_path)  # November, from the file the daemon keeps: nothing of this night
    assert kept.load(clock())[0]
    november = kept.month(datetime(2026, 11, 30, 23, 59, tzinfo=NY), NY, price_known=True, co2_known=False)
    assert november is not None and (november.month, november.sessions, november.kwh) == ("2026-11", 0, 0.0)


def test_a_plug_in_that_began_two_months_ago_is_kept_while_it_has_a_share_of_the_month(tmp_path: Path) -> None:
    """Parked on October 28 and plugged in until December 2: its energy of December 1 counts in December, and the
    store keeps it; a plug-in that ended in October is let go."""
    tou = parse_tou(TOU)

    def record(arrival: datetime, departure: datetime, hours: list[datetime]) -> dict[str, Any]:
        taken = {str(math.floor(h.timestamp() / 3600)): 7.2 for h in hours}
        price = {h: [tou.price_at(datetime.fromtimestamp(int(h) * 3600, UTC).astimezone(NY)), True] for h in taken}
        return {"arrival": arrival.isoformat(), "kw": 7.2, "taken": taken, "price": price,
                "departure": departure.isoformat()}

    long_stay = record(datetime(2026, 10, 28, 18, 0, tzinfo=NY), datetime(2026, 12, 2, 7, 0, tzinfo=NY),
                       [datetime(2026, 12, 1, h, 0, tzinfo=NY) for h in (1, 2)])
    october = record(datetime(2026, 10, 5, 18, 0, tzinfo=NY), datetime(2026, 10, 6, 7, 0, tzinfo=NY),
                     [datetime(2026, 10, 6, 1, 0, tzinfo=NY)])
    (tmp_path / "savings.json").write_text(json.dumps({"version": 1, "plug_ins": [long_stay, october]}))
    now = datetime(2026, 12, 2, 12, 0, tzinfo=NY)
    store = SavingsStore(tmp_path)
    december = store.tick(now, NY, SessionLog(tmp_path, 75.0, now), None, 32, [], [], [],
                          lambda a, b: {math.floor(t.timestamp() / 3600): p for t, p in tou.hourly(a, b, NY)})
    kept = json.loads((tmp_path / "savings.json").read_text())["plug_ins"]
    assert [p["arrival"] for p in kept] == [long_stay["arrival"]]
    assert december is not None and (december.month, december.sessions) == ("2026-12", 1)
    assert december.kwh == pytest.approx(14.4)
    # charging at once from October 28 would have been done that evening: December has the energy, its cost and the
    # whole saving against it
    at_once = 14.4 * tou.price_at(datetime(2026, 10, 28, 18, 0, tzinfo=NY))
    assert (december.cost_usd, december.saved_usd) == (pytest.approx(14.4 * 0.11), pytest.approx(at_once - 14.4 * 0.11))
