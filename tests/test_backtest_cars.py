"""`backtest --cars 2 --circuit-amps A`: two cars on one circuit, every figure of a tiny pair worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from backtest.cars import cars_metrics, pair_sessions, replay_cars
from backtest.cli import main
from backtest.data import HOUR, Grid, Session

ZONE = ZoneInfo("UTC")
DAY = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
KW = 0.24  # kW a amp at the benchmark's 240 V


def at(h: float) -> float:
    return DAY + h * HOUR


def grid() -> Grid:
    """Two days: 100 MW until 20:00 of the first day, 50 MW after; the forecast says the same."""
    load = tuple(100.0 if h < 20 else 50.0 for h in range(48))
    return Grid(DAY, load, load)


def session(i: int, station: str, arrive: float, leave: float, kwh: float) -> Session:
    return Session(i, f"s{i}", station, at(arrive), at(leave), None, None, kwh)


# Car 1 plugs in at 18:00 and leaves at 20:00 wanting 15.36 kWh (two hours at 32 A); car 2 plugs in at 18:15 and
# leaves at 23:00 wanting as much. On a 48 A circuit they cannot both draw 32 A.
PAIR = [session(0, "A", 18, 20, 15.36), session(1, "B", 18.25, 23, 15.36)]


@pytest.fixture(scope="module")
def result():
    sites, unpaired = pair_sessions(PAIR, ZONE)
    assert unpaired == 0 and [s.stations for s in sites] == [("A", "B")]
    return replay_cars(grid(), sites, ZONE, 48, progress=False)


def test_the_circuit_is_never_exceeded_and_the_car_leaving_first_is_ready(result) -> None:
    planner = result.outcomes["planner"]
    assert planner.over_circuit_ticks == 0
    assert planner.peak_amps == 48  # 32 + 16 while both charge: the circuit is what limits them
    # A household planner that has learned nothing charges at once; the site plan keeps car 1 (its plan started
    # first) at 32 A and gives car 2 the 16 A left, then all 32 A from the tick car 1 has left (20:00)
    assert planner.delivered[0] == pytest.approx(15.36)  # 2 h × 32 A: ready when it leaves at 20:00
    assert planner.delivered[1] == pytest.approx(15.36)  # 1.75 h × 16 A = 6.72, the other 8.64 at 32 A after 20:00
    assert planner.lw[1] == pytest.approx(6.72 * 100 + 8.64 * 50)
    # commands: car 1 one window; car 2 "16 A, then 32 A where car 1's own day-long window ends" (2) and "32 A" at
    # 20:00 (1); both cars awake (just plugged in, or charging) each time
    assert planner.commands == {0: 1, 1: 3} and planner.wakes == {0: 0, 1: 0}


def test_immediate_splits_the_circuit_evenly_and_the_oracle_respects_it(result) -> None:
    imm, orc = result.outcomes["immediate"], result.outcomes["oracle"]
    # immediate: car 1 alone 18:00-18:15 at 32 A (1.92 kWh), then both at 24 A until car 1 leaves (1.75 h × 5.76 kW)
    assert imm.delivered[0] == pytest.approx(1.92 + 10.08)
    assert imm.delivered[1] == pytest.approx(15.36)  # 10.08 by 20:00, the other 5.28 at 32 A
    assert imm.lw[1] == pytest.approx(10.08 * 100 + 5.28 * 50)
    assert imm.peak_amps == 48 and imm.over_circuit_ticks == 0
    # oracle: car 1 can only charge before 20:00 (all of it, at 32 A), car 2 waits for the 50 MW hours
    assert orc.delivered == {0: pytest.approx(15.36), 1: pytest.approx(15.36)}
    assert orc.lw[1] == pytest.approx(15.36 * 50)
    assert orc.peak_amps <= 48 and orc.over_circuit_ticks == 0


def test_metrics_per_car_and_for_the_site(result) -> None:
    m = cars_metrics(result)
    site, car2 = m["site"], m["per_car"]["car 2"]
    lw_imm = (12.0 * 100 + 10.08 * 100 + 5.28 * 50) / (12.0 + 15.36)
    lw_orc = (15.36 * 100 + 15.36 * 50) / 30.72
    lw_pla = (15.36 * 100 + 6.72 * 100 + 8.64 * 50) / 30.72
    assert site["planner"]["load_weighted_mw"] == pytest.approx(lw_pla)
    assert site["planner"]["capture"] == pytest.approx((lw_imm - lw_pla) / (lw_imm - lw_orc))
    c_imm, c_pla = (10.08 * 100 + 5.28 * 50) / 15.36, (6.72 * 100 + 8.64 * 50) / 15.36
    assert car2["planner"]["capture"] == pytest.approx((c_imm - c_pla) / (c_imm - 50.0))
    # deliverable is what charging at once on the shared circuit gave: 12.0 kWh to car 1, which the planner beats
    assert site["planner"]["deliverable_kwh"] == pytest.approx(12.0 + 15.36)
    assert site["planner"]["ready_rate"] == 1.0 and site["planner"]["shortfall_pct"] == 0.0
    assert site["planner"]["commands_per_session"] == 2.0
    assert site["planner"]["over_circuit_ticks"] == 0 and site["immediate"]["peak_amps"] == 48


def test_pairing_ranks_stations_by_first_arrival_and_leaves_out_what_no_pair_covers() -> None:
    sessions = [session(0, "late", 30, 31, 5), session(1, "first", 1, 3, 5), session(2, "second", 2, 4, 5),
                session(3, "first", 2.5, 5, 5),  # starts before its own station's previous session ended
                session(4, "third", 5, 6, 5), session(5, "second", 40, 41, 5)]
    sites, unpaired = pair_sessions(sessions, ZONE)
    # "first" and "second" pair (the first two to arrive), over day 1, the only day both are in use: "second" on day
    # 2 is left out, and so is "first"'s double booking; "third" (day 1) and "late" (day 2) share no day: no site
    assert [s.stations for s in sites] == [("first", "second")]
    assert [[x.session_id for x in car] for car in sites[0].sessions] == [["s1"], ["s2"]]
    assert unpaired == 4


def write_files(tmp_path):
    g = tmp_path / "grid.csv"
    g.write_text("interval_start_utc,load_mw,load_forecast_mw\n" + "".join(
        f"{datetime.fromtimestamp(DAY + h * HOUR, UTC):%Y-%m-%dT%H:%M:%SZ},{v},{v}\n"
        for h, v in enumerate(grid().load)))
    s = tmp_path / "sessions.csv"
    s.write_text("session_id,station_id,arrival,departure,estimated_departure,requested_energy_kwh,"
                 "delivered_energy_kwh\n" + "".join(
                     f"{x.session_id},{x.station_id},{datetime.fromtimestamp(x.arrival, UTC).isoformat()},"
                     f"{datetime.fromtimestamp(x.departure, UTC).isoformat()},,,{x.delivered_energy_kwh}\n"
                     for x in PAIR))
    return str(g), str(s)


def test_the_command_line_writes_site_and_per_car_figures(tmp_path, capsys) -> None:
    g, s = write_files(tmp_path)
    out = tmp_path / "out.json"
    assert main(["--grid", g, "--sessions", s, "--tz", "UTC", "--cars", "2", "--circuit-amps", "48", "--quiet",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["sessions"] == 2 and data["sites"] == 1 and data["circuit_amps"] == 48
    assert data["policies"]["planner"]["over_circuit_ticks"] == 0
    assert set(data["per_car"]) == {"car 1", "car 2"}
    assert "2 cars on 48 A" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--cars", "3", "--circuit-amps", "48"], "--cars 3: the backtest pairs charge points two by two"),
    (["--cars", "2", "--circuit-amps", "4"], "--circuit-amps 4 is below one car's minimum of 5 A"),
    (["--cars", "2"], "--cars 2 needs --circuit-amps"),
    (["--circuit-amps", "48"], "give it with --cars 2"),
    (["--cars", "2", "--circuit-amps", "48", "--policy", "cheapest"], "not cheapest"),
])
def test_a_two_car_run_it_cannot_do_is_named(tmp_path, capsys, args, message) -> None:
    g, s = write_files(tmp_path)
    assert main(["--grid", g, "--sessions", s, "--tz", "UTC", "--quiet", *args]) == 2
    assert message in capsys.readouterr().err


def test_the_oracle_moves_a_car_out_of_a_cheap_hour_the_other_car_needs_more() -> None:
    # Car 1 plugs in 00:00-03:00, car 2 only 02:00-03:00, each wanting 7.68 kWh (one hour at 32 A), on 32 A. The
    # cheapest hour is 02:00 (10 MW); car 1 also has 00:00 (20 MW) and 01:00 (30 MW). Filling the cheapest hour
    # first gives 02:00 to whoever comes first; the oracle must end with car 2 in 02:00 and car 1 in 00:00.
    load = (20.0, 30.0, 10.0) + (40.0,) * 45
    g = Grid(DAY, load, load)
    pair = [session(0, "A", 0, 3, 7.68), session(1, "B", 2, 3, 7.68)]
    sites, _ = pair_sessions(pair, ZONE)
    orc = replay_cars(g, sites, ZONE, 32, progress=False).outcomes["oracle"]
    assert orc.delivered == {0: pytest.approx(7.68), 1: pytest.approx(7.68)}
    assert orc.lw == {0: pytest.approx(7.68 * 20), 1: pytest.approx(7.68 * 10)}
    assert orc.peak_amps <= 32


def test_on_a_circuit_for_both_cars_the_references_are_the_one_car_benchmarks() -> None:
    # 64 A lets both cars draw 32 A: each session's immediate and oracle must be what BENCHMARK.md's one-car
    # references give it (backtest.policies, replayed by backtest.replay)
    from backtest.policies import make_policies
    from backtest.replay import replay

    load = tuple(float(50 + (h * 37) % 60) for h in range(48))
    g = Grid(DAY, load, load)
    pair = [session(0, "A", 1.5, 9.25, 20.0), session(1, "B", 3.1, 7.0, 12.0), session(2, "A", 12, 20.5, 30.0),
            session(3, "B", 14.4, 23.5, 25.0)]
    sites, _ = pair_sessions(pair, ZONE)
    two = replay_cars(g, sites, ZONE, 64, progress=False).outcomes
    one = replay(g, pair, make_policies(["immediate", "oracle"]), ZONE, progress=False).outcomes
    for name in ("immediate", "oracle"):
        assert two[name].delivered == {i: pytest.approx(v) for i, v in enumerate(one[name].delivered)}, name
        assert two[name].lw == {i: pytest.approx(v) for i, v in enumerate(one[name].lw)}, name
