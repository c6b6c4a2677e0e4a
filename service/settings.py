"""Settings: read once at start from `.env` and the environment into one typed, validated object.

Every setting is declared once below (name, type, default, range, one-line help); `.env.example` is checked against
this table by a test, so the two cannot drift. A bad value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from charge_logic.config import RuleConfig
from charge_logic.objective import Objective

ISOS = ("PJM", "ERCOT", "CAISO", "MISO", "NYISO", "ISONE", "SPP")
OBJECTIVES = ("auto", "load", "cost", "co2")
PRICE_SOURCES = ("none", "gridstatus_lmp", "comed")
CO2_SOURCES = ("none", "pjm_mer", "watttime")


class SettingsError(ValueError):
    """A setting is wrong; the message names it and says what it accepts."""


def _s(env: str, default: Any, help: str, *, low: float | None = None, high: float | None = None,
       choices: tuple[str, ...] | None = None, secret: bool = False, aliases: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"env": env, "help": help, "low": low, "high": high,
                                            "choices": choices, "secret": secret, "aliases": aliases})


@dataclass(frozen=True)
class Settings:
    # --- where and when
    time_zone: str = _s("TIME_ZONE", "America/New_York", "IANA time zone of home, e.g. Europe/Oslo")
    state_dir: str = _s("STATE_DIR", "./state", "folder for state.json, history, caches and tokens (kept private)")
    home_address: str = _s("TESLA_HOME_ADDRESS", "", "home address; trips are measured from here")
    home_latitude: float = _s("HOME_LATITUDE", 0.0, "home latitude; with HOME_LONGITUDE, decides 'at home' (0 = any)",
                              low=-90, high=90)
    home_longitude: float = _s("HOME_LONGITUDE", 0.0, "home longitude", low=-180, high=180)
    home_radius_m: float = _s("HOME_RADIUS_M", 300.0, "the car counts as at home within this distance", low=10,
                              high=100000)
    # --- the car
    tesla_backend: str = _s("TESLA_BACKEND", "teslapy", "teslapy (Owner API), fleet (Fleet API) or sim (simulated)",
                            choices=("teslapy", "fleet", "sim"))
    tesla_account_email: str = _s("TESLA_ACCOUNT_EMAIL", "", "Tesla account e-mail (teslapy backend)", secret=True)
    tesla_vin: str = _s("TESLA_VIN", "", "VIN of the car to manage; empty = the account's first car", secret=True)
    tesla_owner_base_url: str = _s("TESLA_OWNER_BASE_URL", "", "Owner API base URL; empty = teslapy's default")
    tesla_auth_url: str = _s("TESLA_AUTH_URL", "https://auth.tesla.com",
                             "Tesla SSO base URL: the sign-in page (China: https://auth.tesla.cn)")
    tesla_token_url: str = _s("TESLA_TOKEN_URL", "https://fleet-auth.prd.vn.cloud.tesla.com",
                              "where Fleet API tokens are exchanged and refreshed (China: https://auth.tesla.cn)")
    tesla_fleet_base_url: str = _s("TESLA_FLEET_BASE_URL", "https://localhost:4443",
                                   "Fleet API base: a regional host, or tesla-http-proxy for signed commands")
    tesla_fleet_ca_cert: str = _s("TESLA_FLEET_CA_CERT", "", "CA certificate file to trust for the proxy's TLS")
    tesla_client_id: str = _s("TESLA_CLIENT_ID", "", "Fleet API developer app client id", secret=True)
    tesla_client_secret: str = _s("TESLA_CLIENT_SECRET", "", "Fleet API developer app client secret", secret=True)
    tesla_redirect_uri: str = _s("TESLA_REDIRECT_URI", "http://localhost:8080/callback",
                                 "Fleet API app's allowed redirect URI, used once by `auth tesla`")
    tesla_fleet_audience: str = _s("TESLA_FLEET_AUDIENCE", "https://fleet-api.prd.na.vn.cloud.tesla.com",
                                   "your region's Fleet API host the token is for (na, eu or cn)")
    tesla_charge_schedules: bool = _s("TESLA_CHARGE_SCHEDULES", True,
                                      "on firmware 2024.26+, write the plan into the car as its own charge "
                                      "schedule (false: keep the older scheduled-departure commands)")
    car_ids: str = _s("CARS", "", "several cars: their ids, e.g. car1,car2, each with its own CAR2_VIN, CAR2_NAME, "
                      "… (see below); empty = one car, car1, from the settings here")
    circuit_max_amps: int = _s("CIRCUIT_MAX_AMPS", 0, "amps the cars' shared circuit or panel takes at once, all "
                               "cars together (0 = no shared limit: each charger keeps its MAX_AMPS)", low=0, high=400)
    vehicle_data_min_interval_min: float = _s("VEHICLE_DATA_MIN_INTERVAL_MIN", 10.0,
                                              "read billed vehicle data at most this often (minutes)", low=1,
                                              high=1440)
    vehicle_data_idle_interval_min: float = _s("VEHICLE_DATA_IDLE_INTERVAL_MIN", 30.0,
                                               "...and this often while it is not charging (so it can sleep), "
                                               "or charges by its own schedule", low=1, high=1440)
    vehicle_list_idle_min: float = _s("VEHICLE_LIST_IDLE_MIN", 60.0,
                                      "Fleet API, firmware 2024.26+: list the account's cars (billed as data) at "
                                      "most this often while nothing waits on the answer: the car asleep "
                                      "with the scheduler's schedule, or away outside the hours you come home "
                                      "(0 = every tick)", low=0, high=1440)
    # --- the grid
    grid_status_api_key: str = _s("GRID_STATUS_API_KEY", "", "GridStatus.io API key", secret=True,
                                  aliases=("GRIDSTATUS_API_KEY",))
    grid_iso: str = _s("GRID_ISO", "PJM", "grid operator: " + ", ".join(ISOS), choices=ISOS)
    grid_dataset: str = _s("GRID_DATASET", "", "override the GridStatus dataset id for the ISO's load forecast")
    grid_value_column: str = _s("GRID_VALUE_COLUMN", "", "override the dataset's load forecast column")
    gridstatus_base_url: str = _s("GRIDSTATUS_BASE_URL", "https://api.gridstatus.io", "GridStatus API base URL")
    grid_fetch_hours: float = _s("GRID_FETCH_HOURS", 3.0, "fetch the forecast at most this often (hours)", low=0.25,
                                 high=48)
    # --- what the planner minimises: the tariff, prices and CO₂ (service/signal_source.py)
    objective: str = _s("OBJECTIVE", "auto", "load, cost or co2: what the plan minimises (auto: cost when a tariff or "
                        "price source is set, else load); the others break its ties", choices=OBJECTIVES)
    tariff_file: str = _s("TARIFF_FILE", "", "a US utility rate saved from OpenEI's URDB (JSON: the API's reply or the "
                          "rate alone)")
    tariff_tou: str = _s("TARIFF_TOU", "", "a simple time-of-use tariff by hand, $/kWh: 'BASE, [jun-sep ]H1-H2 PRICE"
                         "[ weekdays|weekends], ...', e.g. '0.12, 16-21 0.38 weekdays'")
    tariff_label: str = _s("TARIFF_LABEL", "", "the URDB rate's label (the id ending its apps.openei.org address), "
                           "fetched once with OPENEI_API_KEY and kept")
    openei_api_key: str = _s("OPENEI_API_KEY", "", "OpenEI API key (free, openei.org/services/api/signup)",
                             secret=True)
    openei_base_url: str = _s("OPENEI_BASE_URL", "https://api.openei.org", "OpenEI API base URL")
    price_source: str = _s("PRICE_SOURCE", "none", "none, gridstatus_lmp (day-ahead hourly LMP of PRICE_LOCATION, "
                           "GRID_STATUS_API_KEY) or comed (ComEd's hourly pricing, no key)", choices=PRICE_SOURCES)
    price_dataset: str = _s("PRICE_DATASET", "", "override the GridStatus day-ahead LMP dataset (default: GRID_ISO's, "
                            "e.g. pjm_lmp_day_ahead_hourly)")
    price_location: str = _s("PRICE_LOCATION", "", "the LMP's location (zone or hub) as GridStatus names it, e.g. "
                             "PECO or WESTERN HUB")
    price_value_column: str = _s("PRICE_VALUE_COLUMN", "", "override the dataset's price column (default lmp, "
                                 "ERCOT spp)")
    comed_base_url: str = _s("COMED_BASE_URL", "https://hourlypricing.comed.com", "ComEd hourly pricing base URL")
    co2_source: str = _s("CO2_SOURCE", "none", "none, pjm_mer (PJM's marginal emission rates through GridStatus, "
                         "GRID_STATUS_API_KEY) or watttime (WattTime's marginal CO₂ forecast)", choices=CO2_SOURCES)
    co2_dataset: str = _s("CO2_DATASET", "pjm_marginal_emission_rates_5_min", "the GridStatus dataset of PJM's "
                          "marginal emission rates")
    co2_location: str = _s("CO2_LOCATION", "", "pjm_mer: one location's rates (GridStatus's name); empty = PJM-wide "
                           "average")
    watttime_username: str = _s("WATTTIME_USERNAME", "", "WattTime API user name", secret=True)
    watttime_password: str = _s("WATTTIME_PASSWORD", "", "WattTime API password", secret=True)
    watttime_region: str = _s("WATTTIME_REGION", "", "WattTime region, e.g. PJM_DC; empty = found from HOME_LATITUDE "
                              "and HOME_LONGITUDE")
    watttime_base_url: str = _s("WATTTIME_BASE_URL", "https://api.watttime.org", "WattTime API base URL")
    signal_fetch_hours: float = _s("SIGNAL_FETCH_HOURS", 3.0, "fetch prices and CO₂ at most this often (hours)",
                                   low=0.25, high=48)
    price_requests_per_month: int = _s("PRICE_REQUESTS_PER_MONTH", 800, "most price-source requests a month",
                                       low=0, high=1000000)
    co2_requests_per_month: int = _s("CO2_REQUESTS_PER_MONTH", 800, "most CO₂-source requests a month", low=0,
                                     high=1000000)
    # --- the calendar and the drive
    calendar_source: str = _s("CALENDAR_SOURCE", "auto", "auto, google, ical or none",
                              choices=("auto", "google", "ical", "none"))
    ical_url: str = _s("ICAL_URL", "", "a calendar's secret iCal address, or a path to an .ics file", secret=True)
    google_calendar_id: str = _s("GOOGLE_CALENDAR_ID", "primary", "Google calendar id")
    google_credentials_file: str = _s("GOOGLE_CREDENTIALS_FILE", "credentials.json",
                                      "OAuth client file from Google Cloud (desktop app)")
    google_token_file: str = _s("GOOGLE_TOKEN_FILE", "", "where the Google token is kept; empty = STATE_DIR/token.json")
    google_oauth_host: str = _s("GOOGLE_OAUTH_HOST", "localhost", "address `auth google` listens on for the redirect")
    google_oauth_port: int = _s("GOOGLE_OAUTH_PORT", 8085, "port `auth google` listens on", low=1, high=65535)
    google_calendar_base_url: str = _s("GOOGLE_CALENDAR_BASE_URL", "", "Calendar API endpoint; empty = Google's")
    google_token_url: str = _s("GOOGLE_TOKEN_URL", "", "where Google tokens are refreshed; empty = Google's")
    calendar_hours: float = _s("CALENDAR_HOURS", 48.0, "how far ahead events are read (hours)", low=1, high=24 * 14)
    calendar_include_declined: bool = _s("CALENDAR_INCLUDE_DECLINED", False, "count events you declined")
    calendar_include_free: bool = _s("CALENDAR_INCLUDE_FREE", True, "count events marked free (transparent)")
    google_maps_api_key: str = _s("GOOGLE_MAPS_API_KEY", "", "Google Maps key; empty = distances unknown",
                                  secret=True)
    maps_api: str = _s("MAPS_API", "routes", "routes (Routes API; new projects) or legacy (Distance Matrix, only "
                       "where already enabled: new projects cannot since Oct 2026)", choices=("routes", "legacy"))
    maps_base_url: str = _s("MAPS_BASE_URL", "https://maps.googleapis.com", "legacy Maps API base URL")
    routes_base_url: str = _s("ROUTES_BASE_URL", "https://routes.googleapis.com", "Routes API base URL")
    distance_cache_days: float = _s("DISTANCE_CACHE_DAYS", 30.0, "keep a destination's distance this long",
                                    low=0, high=365)
    # --- the rules
    policy: str = _s("POLICY", "planner", "planner (trip-aware, low-load hours) or seed (the original rules)",
                     choices=("planner", "seed"))
    short_risk_pct: float = _s("SHORT_RISK_PCT", 0.8, "planner, no trip ahead: % of plug-ins the learned risk price "
                               "aims to leave short so the rest waits for low load", low=0.1, high=20)
    min_soc: int = _s("MIN_SOC", 20, "below this % and plugged in: charge now at full power", low=0, high=100)
    full_power_limit: int = _s("FULL_POWER_LIMIT", 95, "a limit set at or above this %: charge now at full power",
                               low=50, high=100)
    default_departure: time = _s("DEFAULT_DEPARTURE", time(8, 0), "departure (HH:MM) when the calendar has nothing")
    latest_departure: time = _s("LATEST_DEPARTURE", time(10, 0), "scheduled departure is never later than this HH:MM")
    base_charge_limit: int = _s("BASE_CHARGE_LIMIT", 80, "everyday charge limit %", low=50, high=100)
    top_charge_limit: int = _s("TOP_CHARGE_LIMIT", 90, "highest limit % a long trip may raise it to", low=50, high=100)
    min_charge_limit: int = _s("MIN_CHARGE_LIMIT", 50, "never set a limit below this %", low=50, high=100)
    high_limit_hours: float = _s("HIGH_LIMIT_HOURS", 6.0, "go above BASE_CHARGE_LIMIT only this close to departure",
                                 low=0, high=48)
    departure_buffer_min: int = _s("DEPARTURE_BUFFER_MIN", 15, "leave this many minutes before the drive needs",
                                   low=0, high=240)
    forecast_days: float = _s("FORECAST_DAYS", 3.0, "days of forecast behind the mean and sigma", low=0.5, high=7)
    amps_pct_very_high_load: int = _s("AMPS_PCT_VERY_HIGH_LOAD", 25, "% of max amps above mean+sigma", low=0,
                                      high=100)
    amps_pct_high_load: int = _s("AMPS_PCT_HIGH_LOAD", 50, "% of max amps above the mean", low=0, high=100)
    amps_pct_low_load: int = _s("AMPS_PCT_LOW_LOAD", 75, "% of max amps below the mean", low=0, high=100)
    amps_pct_very_low_load: int = _s("AMPS_PCT_VERY_LOW_LOAD", 100, "% of max amps below mean-sigma", low=0, high=100)
    min_amps: int = _s("MIN_AMPS", 5, "lowest charging current the charger allows (A)", low=1, high=48)
    max_amps: int = _s("MAX_AMPS", 32, "highest charging current the wall charger allows (A)", low=1, high=80)
    battery_kwh: float = _s("BATTERY_KWH", 75.0, "usable battery capacity (kWh), until 3 charges at home measure it",
                            low=10, high=250)
    consumption_wh_per_km: float = _s("CONSUMPTION_WH_PER_KM", 170.0, "energy use per km driven (Wh)", low=50,
                                      high=600)
    reserve_soc: int = _s("RESERVE_SOC", 10, "SoC % to be back home with", low=0, high=50)
    events_horizon_hours: float = _s("EVENTS_HORIZON_HOURS", 36.0, "events further ahead do not shape tonight",
                                     low=1, high=24 * 7)
    # --- months unattended
    forecast_stale_hours: float = _s("FORECAST_STALE_HOURS", 24.0, "use the last good forecast this long", low=1,
                                     high=168)
    calendar_stale_hours: float = _s("CALENDAR_STALE_HOURS", 6.0, "use the last good calendar this long", low=0.5,
                                     high=168)
    vehicle_stale_hours: float = _s("VEHICLE_STALE_HOURS", 24.0, "health fails when no car data is this old",
                                    low=1, high=24 * 14)
    tesla_wakes_per_day: int = _s("TESLA_WAKES_PER_DAY", 4, "most car wakes a day", low=0, high=100)
    tesla_commands_per_day: int = _s("TESLA_COMMANDS_PER_DAY", 40, "most car commands a day", low=0, high=1000)
    gridstatus_requests_per_month: int = _s("GRIDSTATUS_REQUESTS_PER_MONTH", 240, "most GridStatus requests a month "
                                            "(own cap; the plan's limits come from GridStatus)", low=0, high=1000000)
    maps_calls_per_month: int = _s("MAPS_CALLS_PER_MONTH", 300, "most Maps calls a month", low=0, high=1000000)
    # --- several cars: CAR2_VIN=… as read from the environment and .env (not a setting of its own; see cars())
    car_env: tuple[tuple[str, str], ...] = field(default=(), metadata={"env": None, "secret": False, "aliases": ()})
    # --- the dashboard
    host: str = _s("HOST", "127.0.0.1", "address the dashboard listens on")
    port: int = _s("PORT", 8050, "port the dashboard listens on", low=1, high=65535)

    # ------------------------------------------------------------------ derived
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    @property
    def google_token_path(self) -> Path:
        """Where `auth google` leaves the Google token and the calendar reads it: GOOGLE_TOKEN_FILE, else
        STATE_DIR/token.json."""
        return Path(self.google_token_file) if self.google_token_file else self.state_path / "token.json"

    def rules(self) -> RuleConfig:
        """The thresholds as the pure core wants them."""
        names = ({f.name for f in fields(RuleConfig)} & {f.name for f in fields(self)}) - {"objective"}
        return RuleConfig(**{k: getattr(self, k) for k in names}, objective=self.chosen_objective)

    @property
    def has_tariff(self) -> bool:
        return bool(self.tariff_file or self.tariff_tou or self.tariff_label)

    @property
    def chosen_objective(self) -> Objective:
        """OBJECTIVE, `auto` read as cost when a tariff or a price source is set, else load."""
        if self.objective != "auto":
            return Objective(self.objective)
        return Objective.COST if self.has_tariff or self.price_source != "none" else Objective.LOAD

    def secrets(self) -> list[str]:
        """Values that must never be logged or written (non-empty secret settings), every car's too."""
        own = [getattr(self, f.name) for f in fields(self) if f.metadata["secret"] and getattr(self, f.name)
               and not (f.name == "ical_url" and not is_address(self.ical_url))]  # a file's path is no secret
        for key, value in self.car_env:
            suffix = _car_suffix(key, self.car_id_list())
            if suffix in CAR_SECRETS and value.strip() and (suffix != "ICAL_URL" or is_address(value)):
                own.append(value.strip())
        return own

    def car_id_list(self) -> tuple[str, ...]:
        """The cars' ids: CARS, or the one car of a single-car .env, car1."""
        ids = tuple(i.strip().lower() for i in self.car_ids.split(",") if i.strip())
        return ids or (FIRST_CAR,)

    def cars(self) -> tuple[CarSettings, ...]:
        """Each car's settings: the global ones with its own CARn_* keys in their place, and its own state folder
        (the first car keeps STATE_DIR's own files, so an install that had one car loses nothing)."""
        ids = self.car_id_list()
        given = dict(self.car_env)
        out = []
        token = self.google_token_file or str(self.google_token_path)  # one Google account for every calendar
        for n, car_id in enumerate(ids):
            values: dict[str, Any] = {}
            for suffix, name in CAR_FIELDS.items():
                raw = given.get(f"{car_id.upper()}_{suffix}")
                if raw is None or name is None or (raw.strip() == "" and type(SETTING_FIELDS[name].default) is not str):
                    continue
                values[name] = _parse(SETTING_FIELDS[name], raw, f"{car_id.upper()}_{suffix}")
            if n:  # its own folder, but the account's Google token
                values.update(state_dir=str(self.state_path / "cars" / car_id), google_token_file=token)
            car = replace(self, car_ids="", car_env=(), **values)
            name = (given.get(f"{car_id.upper()}_NAME") or "").strip()
            out.append(CarSettings(car_id, name, car))
        return tuple(out)


@dataclass(frozen=True)
class CarSettings:
    """One car of the site: its id (the key in CARS and in state.json), the name its owner gave it (empty: the car's
    own), and the settings as this car's link, calendar and planner see them."""

    id: str
    name: str
    settings: Settings


FIRST_CAR = "car1"
# A car's own keys, CAR2_VIN=…: the setting each stands for (NAME has no global one)
CAR_FIELDS: dict[str, str | None] = {
    "VIN": "tesla_vin", "NAME": None, "CALENDAR_SOURCE": "calendar_source", "ICAL_URL": "ical_url",
    "GOOGLE_CALENDAR_ID": "google_calendar_id", "DEFAULT_DEPARTURE": "default_departure",
    "CONSUMPTION_WH_PER_KM": "consumption_wh_per_km", "BATTERY_KWH": "battery_kwh", "MIN_AMPS": "min_amps",
    "MAX_AMPS": "max_amps"}
CAR_SECRETS = ("VIN", "ICAL_URL")
CAR_ID = re.compile(r"^[a-z][a-z0-9]{0,15}$")
SETTING_FIELDS = {f.name: f for f in fields(Settings)}


def _car_suffix(key: str, ids: tuple[str, ...]) -> str | None:
    """The per-car part of `key` (VIN of CAR2_VIN) when it belongs to one of the cars `ids`, else None."""
    for car_id in ids:
        prefix = car_id.upper() + "_"
        if key.upper().startswith(prefix) and key.upper()[len(prefix):] in CAR_FIELDS:
            return key.upper()[len(prefix):]
    return None


def is_address(source: str) -> bool:
    """An iCal source that is a web address (its path is the secret), not a local file."""
    return source.strip().lower().startswith(("http://", "https://", "webcal://"))


SPECS = {f.metadata["env"]: f for f in fields(Settings) if f.metadata["env"]}
ALIASES = {a: f.metadata["env"] for f in fields(Settings) for a in f.metadata["aliases"]}


def _parse(f: Any, raw: str, key: str | None = None) -> Any:
    """`raw` as the setting's type; an error names `key` (a car's own, CAR2_MAX_AMPS) or the setting."""
    name, md, kind = key or f.metadata["env"], f.metadata, type(f.default)
    raw = raw.strip()
    try:
        if kind is bool:
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind is time:
            hh, mm = raw.split(":")
            return time(int(hh), int(mm))
        value: Any = kind(raw)
    except (ValueError, TypeError):
        what = {bool: "true or false", time: "a time HH:MM, e.g. 07:30", int: "a whole number",
                float: "a number"}.get(kind, "text")
        raise SettingsError(f"{name}={raw!r} is not valid: it takes {what}") from None
    if isinstance(value, (int, float)) and (value != value or (md["low"] is not None and value < md["low"]) or (
            md["high"] is not None and value > md["high"])):
        raise SettingsError(f"{name}={raw} is out of range: it takes {_fmt(md['low'])} to {_fmt(md['high'])}")
    if md["choices"]:
        value = value.upper() if name == "GRID_ISO" else value.lower()
        if name == "GRID_ISO":
            value = {"ISO-NE": "ISONE", "NEISO": "ISONE", "ERCO": "ERCOT", "CISO": "CAISO", "NYIS": "NYISO"}.get(
                value, value)
        if value not in md["choices"]:
            raise SettingsError(f"{name}={raw!r} is not known: it takes one of {', '.join(md['choices'])}")
    return value


def _fmt(x: float | None) -> str:
    return "any" if x is None else (str(int(x)) if float(x).is_integer() else str(x))


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env",
                  **overrides: Any) -> Settings:
    """Settings from the environment, `.env` filling what the environment leaves unset (python-dotenv's rule)."""
    from dotenv import dotenv_values

    env = dict(os.environ if environ is None else environ)
    file_keys: dict[str, str | None] = {}
    if env_file is not None and Path(env_file).is_file():
        try:
            file_keys = dict(dotenv_values(env_file))
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{env_file} cannot be read: {exc}") from None
        for key, value in file_keys.items():
            env.setdefault(key, value or "")
        ids = _ids(env.get("CARS") or "")
        for key in file_keys:
            if key not in SPECS and key not in ALIASES and _car_suffix(key, ids) is None:
                raise SettingsError(_unknown(key, ids, str(env_file)))
    values: dict[str, Any] = {}
    for alias, name in ALIASES.items():
        if alias in env and name not in env:
            env[name] = env[alias]
    for name, f in SPECS.items():
        if name in env and env[name] is not None and (env[name].strip() != "" or type(f.default) is str):
            values[f.name] = _parse(f, env[name])
    ids = _ids(values.get("car_ids", ""))
    values["car_env"] = tuple(sorted((k.upper(), v or "") for k, v in env.items() if _car_suffix(k, ids)))
    values.update(overrides)
    settings = Settings(**values)
    _check(settings)
    return settings


def _ids(raw: str) -> tuple[str, ...]:
    """CARS as a list of ids, each checked: the one line names the id that is wrong."""
    ids = tuple(i.strip().lower() for i in raw.split(",") if i.strip())
    for car_id in ids:
        if not CAR_ID.match(car_id):
            raise SettingsError(f"CARS={raw!r}: {car_id!r} is not a car id; an id is a letter then up to 15 letters "
                                "or digits, e.g. CARS=car1,car2")
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise SettingsError(f"CARS={raw!r} lists {twice} twice")
    return ids


def _unknown(key: str, ids: tuple[str, ...], env_file: str) -> str:
    """The one line for a key in .env that is no setting: a misspelt one, or a car that CARS does not list."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9]{0,15})_(.+)$", key)
    if m and m.group(2).upper() in CAR_FIELDS and m.group(1).lower() not in ids and m.group(1).upper() not in (
            "TESLA", "GOOGLE", "GRID"):
        listed = f"CARS={','.join(ids)}" if ids else "CARS is empty"
        return (f"{key} in {env_file} is for a car {m.group(1).lower()}, which CARS does not list ({listed}): add "
                f"it to CARS or remove the line")
    known = list(SPECS) + list(ALIASES) + [f"{i.upper()}_{s}" for i in ids for s in CAR_FIELDS]
    close = difflib.get_close_matches(key.upper(), known, n=1, cutoff=0.6)
    hint = f" — did you mean {close[0]}?" if close else " (see .env.example for the list)"
    return f"unknown setting {key} in {env_file}{hint}"


def _check(s: Settings) -> None:
    try:
        ZoneInfo(s.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"TIME_ZONE={s.time_zone!r} is not a time zone: it takes an IANA name such as "
                            "America/New_York or Europe/Oslo") from None
    if s.min_amps > s.max_amps:
        raise SettingsError(f"MIN_AMPS={s.min_amps} is above MAX_AMPS={s.max_amps}: MIN_AMPS must be the smaller")
    if not s.min_charge_limit <= s.base_charge_limit <= s.top_charge_limit:
        raise SettingsError("BASE_CHARGE_LIMIT must lie between MIN_CHARGE_LIMIT and TOP_CHARGE_LIMIT "
                            f"(now {s.min_charge_limit} <= {s.base_charge_limit} <= {s.top_charge_limit})")
    if s.default_departure > s.latest_departure:
        raise SettingsError("DEFAULT_DEPARTURE must not be later than LATEST_DEPARTURE")
    _check_signal(s)
    _check_cars(s)


def _check_signal(s: Settings) -> None:
    """The objective's sources: each needs what it reads, and a tariff that does not parse stops start-up here."""
    tariffs = [k for k, v in (("TARIFF_FILE", s.tariff_file), ("TARIFF_TOU", s.tariff_tou),
                              ("TARIFF_LABEL", s.tariff_label)) if v]
    if len(tariffs) > 1:
        raise SettingsError(f"{' and '.join(tariffs)} are both set: keep the one tariff you are on")
    if s.tariff_label and not s.openei_api_key:
        raise SettingsError("TARIFF_LABEL needs OPENEI_API_KEY (free at openei.org/services/api/signup), or save the "
                            "rate as a file and set TARIFF_FILE")
    if s.tariff_file or s.tariff_tou:
        from charge_logic.tariff import TariffError, parse_tou
        from clients.openei import tariff_from_file

        try:
            tariff_from_file(s.tariff_file) if s.tariff_file else parse_tou(s.tariff_tou)
        except TariffError as exc:
            raise SettingsError(str(exc)) from None
    if s.price_source == "gridstatus_lmp":
        if not s.grid_status_api_key:
            raise SettingsError("PRICE_SOURCE=gridstatus_lmp needs GRID_STATUS_API_KEY")
        if not s.price_location.strip():
            raise SettingsError("PRICE_SOURCE=gridstatus_lmp needs PRICE_LOCATION: your zone or hub as GridStatus "
                                "names it (e.g. PECO, COMED, WESTERN HUB)")
    if s.co2_source == "pjm_mer" and not s.grid_status_api_key:
        raise SettingsError("CO2_SOURCE=pjm_mer needs GRID_STATUS_API_KEY")
    if s.co2_source == "watttime":
        if not (s.watttime_username and s.watttime_password):
            raise SettingsError("CO2_SOURCE=watttime needs WATTTIME_USERNAME and WATTTIME_PASSWORD")
        if not s.watttime_region and not (s.home_latitude or s.home_longitude):
            raise SettingsError("CO2_SOURCE=watttime needs WATTTIME_REGION, or HOME_LATITUDE and HOME_LONGITUDE to "
                                "find it")
    if s.objective == "cost" and not s.has_tariff and s.price_source == "none":
        raise SettingsError("OBJECTIVE=cost needs a tariff (TARIFF_FILE, TARIFF_TOU or TARIFF_LABEL) or a "
                            "PRICE_SOURCE")
    if s.objective == "co2" and s.co2_source == "none":
        raise SettingsError("OBJECTIVE=co2 needs CO2_SOURCE (pjm_mer or watttime)")



def _check_cars(s: Settings) -> None:
    """Each car's own values, checked as the global ones are, named by their own keys."""
    cars = s.cars()
    for car in cars:
        c, key = car.settings, car.id.upper()
        if c.min_amps > c.max_amps:
            raise SettingsError(f"{key}_MIN_AMPS / {key}_MAX_AMPS: the car's minimum ({c.min_amps} A) is above its "
                                f"maximum ({c.max_amps} A)")
        if c.default_departure > c.latest_departure:
            raise SettingsError(f"{key}_DEFAULT_DEPARTURE={c.default_departure:%H:%M} is later than "
                                f"LATEST_DEPARTURE={c.latest_departure:%H:%M}")
        if len(cars) > 1 and s.tesla_backend != "sim" and not c.tesla_vin:
            which = f"{key}_VIN (or TESLA_VIN)" if car is cars[0] else f"{key}_VIN"
            raise SettingsError(f"{which} is empty: with several cars (CARS={s.car_ids}) each car needs its VIN, or "
                                "the account's first car would be driven twice")
    vins = [c.settings.tesla_vin for c in cars if c.settings.tesla_vin]
    if len(set(vins)) != len(vins):
        raise SettingsError("two cars in CARS have the same VIN: give each car its own CARn_VIN")
    if s.circuit_max_amps and s.circuit_max_amps < max(c.settings.min_amps for c in cars):
        raise SettingsError(f"CIRCUIT_MAX_AMPS={s.circuit_max_amps} is below a car's MIN_AMPS: no car could charge")
