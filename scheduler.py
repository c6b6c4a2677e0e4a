"""The charge scheduler daemon: `python scheduler.py -v -i 14` (see README.md), plus its subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import schedule

import cli
from service.client_io import ClientIO
from service.settings import Settings, SettingsError, load_settings
from service.state_file import unusable_state_dir

if TYPE_CHECKING:  # imported where used: `--help` and the subcommands start without them
    from clients.vehicle import Vehicle
    from service.site import Site
    from service.sources import ForecastProvider, TripProvider

log = logging.getLogger("scheduler")


class RedactSecrets(logging.Filter):
    """Replaces every configured secret (tokens, keys, e-mail, VIN) in a log record with ***."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = redact(record.getMessage(), self.secrets)
            if record.exc_info:
                msg += "\n" + redact(logging.Formatter().formatException(record.exc_info), self.secrets)
                record.exc_info, record.exc_text = None, None
            record.msg, record.args = msg, None
        return True


def redact(text: str, secrets: list[str]) -> str:
    """Every secret of 4+ characters in `text` becomes ***."""
    for s in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def fail(message: str, secrets: list[str]) -> int:
    """The one line a person sees when the scheduler cannot start; exit code 2."""
    print(f"error: {redact(message, secrets)}", file=sys.stderr)
    return 2


def setup_logging(verbose: bool, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("urllib3", "googleapiclient", "teslapy", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def global_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    """The options every command takes; on a subcommand (suppress=True) they default to nothing, so
    `events --state-dir X` and `--state-dir X events` mean the same and neither undoes the other."""
    def d(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    p.add_argument("-v", "--verbose", action="store_true", default=d(False),
                   help="print one line a tick: car, decision, reasons")
    p.add_argument("--demo", action="store_true", default=d(False),
                   help="the embedded demo: simulated car, sample calendar, a real week of grid forecast (no "
                        "credentials, no network), its state in STATE_DIR/demo unless --state-dir says where")
    p.add_argument("--state-dir", metavar="DIR", default=d(None),
                   help="where state.json, the caches and tokens live (default STATE_DIR, ./state)")
    p.add_argument("--env-file", metavar="FILE", default=d(None), help="settings file (default .env)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scheduler.py",
        description="Decides when and how fast a Tesla charges at home, from your tariff, prices or the grid's CO₂ "
                    "(OBJECTIVE=cost|co2|load: TARIFF_FILE or TARIFF_TOU, PRICE_SOURCE, CO2_SOURCE), the grid's load "
                    "forecast, your calendar and the car's state. Settings come from .env (see .env.example).",
        epilog="One car: TESLA_VIN, ICAL_URL or GOOGLE_CALENDAR_ID, DEFAULT_DEPARTURE, MAX_AMPS, ... as in "
               ".env.example. Several cars on one Tesla account: CARS=car1,car2 and a block a car, CAR2_VIN, "
               "CAR2_NAME, CAR2_ICAL_URL or CAR2_GOOGLE_CALENDAR_ID, CAR2_DEFAULT_DEPARTURE, "
               "CAR2_CONSUMPTION_WH_PER_KM, CAR2_BATTERY_KWH, CAR2_MAX_AMPS (each falls back to the global one); "
               "CIRCUIT_MAX_AMPS=48 when they share a circuit: their planned amps never add up to more.")
    global_options(p)
    p.add_argument("-i", "--interval", type=float, default=14.0, metavar="MINUTES",
                   help="minutes between ticks (default 14)")
    p.add_argument("--once", action="store_true", help="run one tick, write the state file and exit")
    p.add_argument("--demo-speed", type=float, default=10.0, metavar="X",
                   help="with --demo: the simulated clock runs X times faster than the wall clock (default 10)")
    p.add_argument("--demo-cars", type=int, choices=(1, 2), default=2, metavar="N",
                   help="with --demo: two simulated cars of two drivers on one 48 A circuit (default), or 1")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    cli.register_all(sub, lambda parser: global_options(parser, suppress=True))
    return p


def make_coordinator(args: argparse.Namespace, settings: Settings,
                     io: ClientIO | None = None) -> tuple[Site, Callable[[], datetime]]:
    """The daemon, as every run builds it (the soak too, with its own clock, sleeps and timeouts in `io`): a site of
    one car (a single-car .env) or several (CARS), each car a Coordinator with its own link, calendar and learning."""
    from service.coordinator import Coordinator
    from service.signal_source import make_signal_source
    from service.site import Site
    from service.state_file import ensure_private_dir
    from service.vehicle_link import VehicleLink

    state_dir = ensure_private_dir(Path(settings.state_dir))
    account = None
    clock: Callable[[], datetime]
    forecast: ForecastProvider | None
    vehicles: list[Vehicle] = []
    trip_sources: list[TripProvider | None] = []
    if args.demo:
        from service.demo import DemoClock, DemoForecast, demo_car, demo_settings, demo_trips, demo_vehicle

        settings, cars = demo_settings(settings, getattr(args, "demo_cars", 2))
        clock = DemoClock(args.demo_speed, start=_demo_start(state_dir))
        forecast, mode = DemoForecast(), "demo"
        for car in cars:
            car_dir = _car_dir(state_dir, car.settings)
            vehicles.append(demo_vehicle(clock, settings.zone, car_dir, demo_car(car.id)))
            trip_sources.append(demo_trips(settings.zone, car_dir, settings.calendar_hours, demo_car(car.id).calendar))
    else:
        from clients.vehicle_factory import make_vehicle
        from service.grid_source import make_forecast_provider
        from service.trip_source import make_trip_provider

        io = io or ClientIO()
        client_io = io

        def wall_clock() -> datetime:
            return client_io.clock() if client_io.clock is not None else datetime.now(UTC)

        clock = wall_clock

        cars = settings.cars()
        for car in cars:
            _car_dir(state_dir, car.settings)
        if len(cars) > 1 and settings.tesla_backend in ("teslapy", "fleet"):
            from clients.tesla_account import TeslaAccount
            from clients.tesla_common import TeslaVehicle

            backend = make_vehicle(settings, **io.vehicle_kw(settings.tesla_backend))
            assert isinstance(backend, TeslaVehicle)
            account = TeslaAccount(backend)  # one sign-in, one vehicle list a tick for every car
            vehicles = [account.car(car.settings.tesla_vin) for car in cars]
        else:
            vehicles = [make_vehicle(car.settings, **io.vehicle_kw(settings.tesla_backend)) for car in cars]
        forecast = make_forecast_provider(settings, interval_min=args.interval, io=io)
        trip_sources = [make_trip_provider(car.settings, interval_min=args.interval, io=io) for car in cars]
        mode = "live"
    coordinators = []
    for i, (car, vehicle, trips) in enumerate(zip(cars, vehicles, trip_sources, strict=True)):
        link = VehicleLink.from_settings(vehicle, car.settings, interval_min=args.interval)  # backoff: one tick
        coordinators.append(Coordinator(car.settings, link, forecast if i == 0 else None, trips, mode=mode,
                                        interval_min=args.interval, car_id=car.id, name=car.name,
                                        state_path=state_dir / "state.json", first=i == 0))
    minimised = make_signal_source(settings, interval_min=args.interval, io=io or ClientIO())  # tariff, price, CO₂
    site = Site(settings, coordinators, forecast, mode=mode, interval_min=args.interval,
                state_path=state_dir / "state.json", account=account, signal=minimised)
    return site, clock


def _car_dir(state_dir: Path, car_settings: Settings) -> Path:
    """A car's own folder (the first car's is STATE_DIR itself), private like it."""
    from service.state_file import ensure_private_dir

    path = Path(car_settings.state_dir)
    if path.resolve() != state_dir.resolve():
        ensure_private_dir(path.parent)
    return ensure_private_dir(path)


def _demo_start(state_dir: Path) -> datetime:
    """Carry on from the simulated car's own clock if an earlier demo run left it ahead of the wall clock."""
    import json

    now = datetime.now(UTC)
    try:
        saved = datetime.fromisoformat(json.loads((state_dir / "demo_car.json").read_text())["clock"])
        return max(now, saved)
    except (OSError, ValueError, KeyError, TypeError):
        return now


def describe(result, zone) -> str:
    """One readable line: the car, then the decision, then its reasons."""
    v, d = result.vehicle, result.decision
    local = result.at.astimezone(zone)
    if v is None or v.battery_level is None:
        car = f"car {v.state if v else 'unknown'}, no charge data yet"
    else:
        plug = "plugged in" if v.plugged_in else "unplugged"
        car = f"car {v.battery_level}% (limit {v.charge_limit_soc}%), {plug}, {v.charging_state}"
        if v.charging:
            car += f" at {v.charger_actual_current} A"
    parts = [d.mode.replace("_", " ")]
    if d.charge_now is not None:
        parts.append("charge now" if d.charge_now else "stop charging")
    if d.amps is not None:
        parts.append(f"{d.amps} A")
    if d.charge_limit is not None:
        parts.append(f"limit {d.charge_limit}%")
    if d.departure is not None:
        parts.append(f"depart {d.departure.astimezone(local.tzinfo):%a %H:%M}")
    sent = [s["name"] for s in result.report.sent if s["ok"]]
    acted = f"sent {', '.join(sent)}" if sent else "nothing sent"
    if result.report.woke:
        acted = "woke the car, " + acted
    return f"{local:%a %H:%M} | {car} | {', '.join(parts)} | {acted} | " + join_reasons(d.reasons)


def join_reasons(reasons: Sequence[str], sep: str = "; ") -> str:
    """Reasons on one line: a reason written as a sentence loses its full stop before the separator (never '.;')."""
    return sep.join(r.rstrip().removesuffix(".") if i < len(reasons) - 1 else r for i, r in enumerate(reasons))


def run_daemon(args: argparse.Namespace, settings: Settings) -> int:
    from clients.vehicle import VehicleError
    from service.state_file import StateDirLock, StateDirLocked, ensure_private_dir

    try:
        lock = StateDirLock(ensure_private_dir(Path(settings.state_dir)))
        lock.acquire()
    except StateDirLocked as exc:
        return fail(str(exc), settings.secrets())
    try:
        try:
            site, clock = make_coordinator(args, settings)
        except (VehicleError, SettingsError) as exc:  # no token, a refused key, a broken credentials file
            return fail(str(exc), settings.secrets())
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: finishing the tick and stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        def tick() -> None:
            try:
                result = site.tick(clock())
                several = len(result.cars) > 1
                for car, r in zip(site.cars, result.cars, strict=True):
                    if r is not None:
                        log.info("%s%s", f"{car.car_id}: " if several else "", describe(r, settings.zone))
            except Exception:  # one bad tick must not end months of unattended running
                log.exception("tick failed; the next tick will try again")

        tick()
        if args.once:
            return 0
        schedule.clear()
        schedule.every(args.interval * 60).seconds.do(tick)
        while not stop.is_set():
            schedule.run_pending()
            stop.wait(0.5)
        return 0
    finally:
        lock.release()


DEMO_SUBDIR = "demo"  # the demo's own state folder, under STATE_DIR: never the live scheduler's
DEMO_COMMANDS = ("events", "health")  # the subcommands that have a demo to look at


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error("-i/--interval takes a number of minutes above 0")
    if not args.demo_speed > 0:  # also catches nan
        parser.error("--demo-speed takes a number above 0 (1 = the wall clock's pace)")
    if args.demo and args.command and args.command not in DEMO_COMMANDS:
        parser.error(f"--demo does not apply to {args.command}: it runs the daemon, events or health on the demo")
    env_file = args.env_file or ".env"
    if args.env_file and not Path(args.env_file).is_file():
        print(f"error: --env-file {args.env_file}: no such file", file=sys.stderr)
        return 2
    overrides = {"state_dir": args.state_dir} if args.state_dir else {}
    if args.demo:
        overrides.setdefault("time_zone", "America/New_York")
    try:
        settings = load_settings(env_file=env_file, **overrides)
        if args.demo and not args.state_dir:
            settings = dataclasses.replace(settings, state_dir=str(Path(settings.state_dir) / DEMO_SUBDIR))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.verbose, settings.secrets())
    if args.command in ("auth", "events"):  # they keep tokens and caches in the state folder
        problem = unusable_state_dir(Path(settings.state_dir))
        if problem:
            return fail(problem, settings.secrets())
    if args.command:
        args.settings = settings
        return int(args.func(args))
    problem = state_dir_problem(Path(settings.state_dir), demo=args.demo)
    if problem:
        return fail(problem, settings.secrets())
    return run_daemon(args, settings)


def state_dir_problem(state_dir: Path, demo: bool) -> str | None:
    """Why the daemon must not start on this folder: unusable, or the demo's and the live run's state mixed."""
    from service.state_file import holds_demo_state, holds_live_state, mark_demo_dir

    if demo and holds_live_state(state_dir):
        return (f"{state_dir} holds a live scheduler's state: the demo keeps a folder of its own (leave out "
                "--state-dir to use STATE_DIR/demo, or name an empty folder)")
    if not demo and holds_demo_state(state_dir):
        return (f"{state_dir} holds the demo's state (written by --demo): a live run would inherit its history, "
                "plug-in sessions and call counts; set STATE_DIR (or --state-dir) to another folder, or delete "
                "this one")
    problem = unusable_state_dir(state_dir)
    if problem:
        return problem
    if demo:
        mark_demo_dir(state_dir)
    return None


def entry() -> int:
    """main() for a terminal: Ctrl-C outside a tick, or `| head` closing the pipe, ends quietly, not in a trace."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


if __name__ == "__main__":
    sys.exit(entry())
