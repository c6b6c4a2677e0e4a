"""BENCHMARK.md's metrics, by their exact names, from a replay's per-session figures."""

from __future__ import annotations

from backtest.replay import READY_SHARE, Result

METRICS = ("load_weighted_mw", "capture", "deliverable_kwh", "ready_rate", "shortfall_pct", "commands_per_session",
           "wakes_per_session", "runtime_s")
MONEY = ("cost_per_kwh", "cost_capture")  # with a tariff or price (BENCHMARK.md, "Money")


def load_weighted(result: Result, name: str) -> float:
    out = result.outcomes[name]
    energy = sum(out.delivered)
    return sum(out.lw) / energy if energy > 0 else float("nan")


def cost_per_kwh(result: Result, name: str) -> float:
    """Σ(energy × price of its hour) / Σ energy, over the energy of hours whose price is known ($/kWh)."""
    out = result.outcomes[name]
    energy = sum(out.priced)
    return sum(out.cost) / energy if energy > 0 else float("nan")


def metrics(result: Result) -> dict[str, dict[str, float]]:
    n = max(1, result.sessions)
    deliverable = result.deliverable
    total_deliverable = sum(deliverable)
    lw_imm = load_weighted(result, "immediate") if "immediate" in result.outcomes else float("nan")
    lw_orc = load_weighted(result, "oracle") if "oracle" in result.outcomes else float("nan")
    table: dict[str, dict[str, float]] = {}
    for name, out in result.outcomes.items():
        lw = load_weighted(result, name)
        gain = lw_imm - lw_orc
        ready = sum(1 for d, got in zip(deliverable, out.delivered, strict=True) if got >= READY_SHARE * d - 1e-9)
        short = sum(max(0.0, d - got) for d, got in zip(deliverable, out.delivered, strict=True))
        table[name] = {
            "load_weighted_mw": lw,
            "capture": (lw_imm - lw) / gain if gain > 0 else float("nan"),
            "deliverable_kwh": total_deliverable,
            "ready_rate": ready / n,
            "shortfall_pct": 100.0 * short / total_deliverable if total_deliverable > 0 else 0.0,
            "commands_per_session": sum(out.commands) / n,
            "wakes_per_session": sum(out.wakes) / n,
            "runtime_s": out.seconds,
        }
    if result.priced:
        c_imm = cost_per_kwh(result, "immediate") if "immediate" in result.outcomes else float("nan")
        c_orc = cost_per_kwh(result, "oracle") if "oracle" in result.outcomes else float("nan")
        gain = c_imm - c_orc
        for name in result.outcomes:
            c = cost_per_kwh(result, name)
            table[name]["cost_per_kwh"] = c
            table[name]["cost_capture"] = (c_imm - c) / gain if gain > 0 else float("nan")
    return table


def format_table(table: dict[str, dict[str, float]], title: str = "") -> str:
    heads: tuple[str, ...] = ("policy", "load_w_MW", "capture", "ready", "short_%", "cmd/sess", "wake/sess", "time_s")
    keys: tuple[str, ...] = ("load_weighted_mw", "capture", "ready_rate", "shortfall_pct", "commands_per_session",
                             "wakes_per_session", "runtime_s")
    fmt: tuple[str, ...] = ("{:.1f}", "{:.3f}", "{:.4f}", "{:.2f}", "{:.2f}", "{:.3f}", "{:.1f}")
    if table and all("cost_per_kwh" in row for row in table.values()):
        heads = heads[:3] + ("$/kWh", "cost_capt") + heads[3:]
        keys = keys[:2] + MONEY + keys[2:]
        fmt = fmt[:2] + ("{:.4f}", "{:.3f}") + fmt[2:]
    lines = [title] if title else []
    lines.append("| " + " | ".join(heads) + " |")
    lines.append("|" + "|".join("---" for _ in heads) + "|")
    for name, row in table.items():
        cells = [name] + [f.format(row[k]) for k, f in zip(keys, fmt, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
