"""Which GridStatus dataset holds each ISO's load forecast, and in which column.

Checked against GridStatus's own material with the `search` tool (2026-11-27):
- dataset ids: the GridStatus dataset catalog (gridstatus.io/datasets, "Load Forecast" rows: pjm_load_forecast,
  ercot_load_forecast, caiso_load_forecast, miso_load_forecast, nyiso_load_forecast, isone_load_forecast,
  spp_load_forecast), and docs.gridstatus.io/developers/concepts/publish-time, which queries load forecasts with
  `publish_time=latest_report`;
- columns: `interval_start_utc` is the time index of these datasets and `load_forecast` the system-wide forecast in
  MW (docs.gridstatus.io/developers/concepts/query-parameters shows `columns=interval_start_utc,...`; the published
  table schemas list interval_start_utc, interval_end_utc, publish_time_utc, load_forecast).
Some ISOs publish sub-hourly rows; the grid source averages them into hours. GRID_DATASET / GRID_VALUE_COLUMN
override the table when GridStatus renames a dataset or a user wants a zone (e.g. ercot_load_forecast_by_forecast_zone
with column system_total).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GridDataset:
    dataset: str
    value_column: str
    time_column: str = "interval_start_utc"


DATASETS: dict[str, GridDataset] = {
    "PJM": GridDataset("pjm_load_forecast", "load_forecast"),
    "ERCOT": GridDataset("ercot_load_forecast", "load_forecast"),
    "CAISO": GridDataset("caiso_load_forecast", "load_forecast"),
    "MISO": GridDataset("miso_load_forecast", "load_forecast"),
    "NYISO": GridDataset("nyiso_load_forecast", "load_forecast"),
    "ISONE": GridDataset("isone_load_forecast", "load_forecast"),
    "SPP": GridDataset("spp_load_forecast", "load_forecast"),
}


def dataset_for(iso: str, dataset_override: str = "", column_override: str = "") -> GridDataset:
    """The table's entry for `iso`, with the settings' overrides applied."""
    iso = iso.upper()
    if iso not in DATASETS and not dataset_override:
        raise ValueError(f"GRID_ISO={iso!r} has no known GridStatus dataset: set GRID_DATASET and GRID_VALUE_COLUMN "
                         f"or use one of {', '.join(DATASETS)}")
    base = DATASETS.get(iso, GridDataset(dataset_override, "load_forecast"))
    return GridDataset(dataset_override.strip() or base.dataset, column_override.strip() or base.value_column,
                       base.time_column)
