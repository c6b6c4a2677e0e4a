"""OBJECTIVE and the tariff, price and CO₂ settings: the objective an owner gets, and one line naming what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charge_logic.objective import Objective
from service.settings import SettingsError, load_settings
from tests.fakes.openei import SAMPLE_RATE


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(env, env_file=None)


def test_the_objective_is_cost_once_a_tariff_or_a_price_is_set_else_load() -> None:
    assert settings().rules().objective is Objective.LOAD
    assert settings(TARIFF_TOU="0.12, 16-21 0.38").rules().objective is Objective.COST
    assert settings(PRICE_SOURCE="comed").rules().objective is Objective.COST
    assert settings(TARIFF_TOU="0.12, 16-21 0.38", OBJECTIVE="load").rules().objective is Objective.LOAD
    assert settings(CO2_SOURCE="watttime", WATTTIME_USERNAME="u", WATTTIME_PASSWORD="p", WATTTIME_REGION="PJM_DC",
                    OBJECTIVE="co2").rules().objective is Objective.CO2


@pytest.mark.parametrize(("env", "names"), [
    ({"OBJECTIVE": "money"}, "OBJECTIVE='money' is not known: it takes one of auto, load, cost, co2"),
    ({"PRICE_SOURCE": "nordpool"}, "PRICE_SOURCE='nordpool' is not known"),
    ({"CO2_SOURCE": "electricitymaps"}, "CO2_SOURCE='electricitymaps' is not known"),
    ({"OBJECTIVE": "cost"}, "OBJECTIVE=cost needs a tariff"),
    ({"OBJECTIVE": "co2"}, "OBJECTIVE=co2 needs CO2_SOURCE"),
    ({"TARIFF_TOU": "0.12, 16-25 0.38"}, "TARIFF_TOU: '16-25 0.38': hour 25 is not 0-24"),
    ({"TARIFF_TOU": "0.12", "TARIFF_LABEL": "abc", "OPENEI_API_KEY": "k"}, "TARIFF_TOU and TARIFF_LABEL are both set"),
    ({"TARIFF_LABEL": "abc"}, "TARIFF_LABEL needs OPENEI_API_KEY"),
    ({"PRICE_SOURCE": "gridstatus_lmp"}, "PRICE_SOURCE=gridstatus_lmp needs GRID_STATUS_API_KEY"),
    ({"PRICE_SOURCE": "gridstatus_lmp", "GRID_STATUS_API_KEY": "k"}, "needs PRICE_LOCATION"),
    ({"CO2_SOURCE": "pjm_mer"}, "CO2_SOURCE=pjm_mer needs GRID_STATUS_API_KEY"),
    ({"CO2_SOURCE": "watttime"}, "CO2_SOURCE=watttime needs WATTTIME_USERNAME and WATTTIME_PASSWORD"),
    ({"CO2_SOURCE": "watttime", "WATTTIME_USERNAME": "u", "WATTTIME_PASSWORD": "p"}, "needs WATTTIME_REGION"),
    ({"SIGNAL_FETCH_HOURS": "0"}, "SIGNAL_FETCH_HOURS=0 is out of range"),
])
def test_a_bad_signal_setting_is_one_line_naming_it(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as err:
        settings(**env)
    assert names in str(err.value) and "\n" not in str(err.value)


def test_a_tariff_file_that_does_not_parse_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    bad = dict(SAMPLE_RATE, energyweekdayschedule=SAMPLE_RATE["energyweekdayschedule"][:11])
    path = tmp_path / "rate.json"
    path.write_text(json.dumps({"items": [bad]}))
    with pytest.raises(SettingsError, match=r"TARIFF_FILE=rate.json: energyweekdayschedule is 11 months"):
        settings(TARIFF_FILE=str(path))
    with pytest.raises(SettingsError, match=r"TARIFF_FILE=.*missing.json: cannot be read"):
        settings(TARIFF_FILE=str(tmp_path / "missing.json"))
    path.write_text(json.dumps({"items": [SAMPLE_RATE]}))
    assert settings(TARIFF_FILE=str(path)).rules().objective is Objective.COST
