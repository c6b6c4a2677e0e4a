"""Which GridStatus dataset holds each ISO's load forecast, and which of its columns to read.

Checked against GridStatus's own material with the `search` tool:
- dataset ids: the GridStatus dataset catalog (gridstatus.io/datasets, "Load Forecast" rows: pjm_load_forecast,
  ercot_load_forecast, caiso_load_forecast, miso_load_forecast, nyiso_load_forecast, isone_load_forecast,
  spp_load_forecast), and docs.gridstatus.io/developers/concepts/publish-time, which queries load forecasts by
  publish time;
- columns: `load_forecast` (MW) is the system-wide column the PJM, ERCOT and CAISO datasets were checked to have.
  For the others the table is only a first guess: the dataset's own metadata (`GET /v1/datasets/{id}`, its
  `all_columns`, `time_index_column` and `publish_time_column`) decides, through `resolve`, before any query is sent.
Some ISOs publish sub-hourly rows; the grid source averages them into hours. GRID_DATASET / GRID_VALUE_COLUMN
override the table when GridStatus renames a dataset or a user wants a zone (e.g. ercot_load_forecast_by_forecast_zone
with column system_total).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from clients.gridstatus import DatasetInfo, NotFoundError


@dataclass(frozen=True)
class GridDataset:
    dataset: str
    value_column: str
    time_column: str = "interval_start_utc"
    publish_time_column: str | None = "publish_time_utc"
    column_set: bool = False  # the owner named the column (GRID_VALUE_COLUMN): never replaced by another


DATASETS: dict[str, GridDataset] = {
    "PJM": GridDataset("pjm_load_forecast", "load_forecast"),
    "ERCOT": GridDataset("ercot_load_forecast", "load_forecast"),
    "CAISO": GridDataset("caiso_load_forecast", "load_forecast"),
    "MISO": GridDataset("miso_load_forecast", "load_forecast"),
    "NYISO": GridDataset("nyiso_load_forecast", "load_forecast"),
    "ISONE": GridDataset("isone_load_forecast", "load_forecast"),
    "SPP": GridDataset("spp_load_forecast", "load_forecast"),
}

_NOT_VALUES = ("char", "text", "string", "time", "date", "bool")


def dataset_for(iso: str, dataset_override: str = "", column_override: str = "") -> GridDataset:
    """The table's entry for `iso`, with the settings' overrides applied."""
    iso = iso.upper()
    if iso not in DATASETS and not dataset_override:
        raise ValueError(f"GRID_ISO={iso!r} has no known GridStatus dataset: set GRID_DATASET and GRID_VALUE_COLUMN "
                         f"or use one of {', '.join(DATASETS)}")
    base = DATASETS.get(iso, GridDataset(dataset_override, "load_forecast"))
    return GridDataset(dataset_override.strip() or base.dataset, column_override.strip() or base.value_column,
                       base.time_column, base.publish_time_column, column_set=bool(column_override.strip()))


def value_columns(info: DatasetInfo) -> list[str]:
    """The columns that can hold a load figure: not the time columns, not text, dates or flags."""
    skip = {info.time_index_column, info.publish_time_column}
    return [c.name for c in info.columns if c.name not in skip and not c.is_datetime
            and not c.name.endswith(("_utc", "_local")) and not any(w in c.type.lower() for w in _NOT_VALUES)]


def resolve(ds: GridDataset, info: DatasetInfo) -> GridDataset:
    """The dataset as its metadata says it is: its own time columns, and the value column checked to exist. A table
    guess that is not there is replaced only when the dataset has exactly one value column; otherwise the error names
    GRID_VALUE_COLUMN and the columns to choose from."""
    names = {c.name for c in info.columns}
    values = value_columns(info)
    column = ds.value_column
    if column not in names:
        if ds.column_set or len(values) != 1:
            which = "GRID_VALUE_COLUMN" if ds.column_set else "the default column"
            raise NotFoundError(f"GridStatus dataset {ds.dataset} has no column {column!r} ({which}): set "
                                f"GRID_VALUE_COLUMN to one of {', '.join(values) or '(none listed)'}")
        column = values[0]
    return replace(ds, value_column=column, time_column=info.time_index_column or ds.time_column,
                   publish_time_column=info.publish_time_column)


# Day-ahead hourly prices ($/MWh) by ISO, checked against GridStatus's catalog and the gridstatusio examples (the
# hosted datasets share the columns interval_start_utc, location, location_type, lmp, energy, congestion, loss; ERCOT
# prices settlement points, its column is spp). The location is the owner's: a zone or hub name as the dataset has it.
PRICE_DATASETS: dict[str, GridDataset] = {
    "PJM": GridDataset("pjm_lmp_day_ahead_hourly", "lmp", publish_time_column=None),
    "ERCOT": GridDataset("ercot_spp_day_ahead_hourly", "spp", publish_time_column=None),
    "CAISO": GridDataset("caiso_lmp_day_ahead_hourly", "lmp", publish_time_column=None),
    "MISO": GridDataset("miso_lmp_day_ahead_hourly", "lmp", publish_time_column=None),
    "NYISO": GridDataset("nyiso_lmp_day_ahead_hourly", "lmp", publish_time_column=None),
    "ISONE": GridDataset("isone_lmp_day_ahead_hourly", "lmp", publish_time_column=None),
    "SPP": GridDataset("spp_lmp_day_ahead_hourly", "lmp", publish_time_column=None),
}
# PJM's five-minute marginal emission rates (lbs CO₂/MWh by pricing node), as GridStatus hosts them.
CO2_DATASET = GridDataset("pjm_marginal_emission_rates_5_min", "marginal_co2_rate", publish_time_column=None)


def price_dataset_for(iso: str, dataset_override: str = "", column_override: str = "") -> GridDataset:
    """The ISO's day-ahead price dataset, with PRICE_DATASET / PRICE_VALUE_COLUMN applied."""
    base = PRICE_DATASETS.get(iso.upper(), GridDataset(dataset_override, "lmp", publish_time_column=None))
    return GridDataset(dataset_override.strip() or base.dataset, column_override.strip() or base.value_column,
                       base.time_column, None, column_set=bool(column_override.strip()))
