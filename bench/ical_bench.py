"""How the iCal reader copes with a big feed: years of history in one 12 MB file, as a busy Google or Outlook
calendar exports it, plus one event repeating every second.

Run: python bench/ical_bench.py [--events 50000] [--keep FILE]. Each case runs in a fresh process: the first read,
a tick 14 minutes later with the feed unchanged, the same for a feed served over HTTP (with ETag), a read after the
feed changed, and a feed holding only the FREQ=SECONDLY series (begun a year before). Times are wall clock (`_s`,
`_ms`) and the process's CPU time (`_cpu_s`, steadier on a busy machine); memory is the process's peak resident size
(`peak_rss_mb`, getrusage), with its size after the imports before any read (`base_rss_mb`).
Targets (issue 16): first read under 3 s and 150 MB, an unchanged tick under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 06:00 in Los Angeles
ZONE = "America/Los_Angeles"

VTIMEZONE = """BEGIN:VTIMEZONE\r
TZID:America/Los_Angeles\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:-0800\r
TZOFFSETTO:-0700\r
TZNAME:PDT\r
DTSTART:19700308T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:-0700\r
TZOFFSETTO:-0800\r
TZNAME:PST\r
DTSTART:19701101T020000\r
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r
END:STANDARD\r
END:VTIMEZONE\r
"""


SECONDLY_FEED = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + VTIMEZONE +
                 "BEGIN:VEVENT\r\nUID:every-second@test\r\nSUMMARY:Ping\r\n"
                 "DTSTART;TZID=America/Los_Angeles:20251127T000000\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n"
                 "END:VEVENT\r\nEND:VCALENDAR\r\n")  # 172,800 instances in any 48 h, 31 million before the window


def big_feed(n: int, seed: int = 7, years: float = 7.0) -> str:
    """n events over `years` up to a month ahead, Google's export shape; some weekly series with moved
    instances; one FREQ=SECONDLY event over the window."""
    rnd = random.Random(seed)
    first = NOW - timedelta(days=years * 365)
    span = (NOW + timedelta(days=30) - first).total_seconds()
    out = ["BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n"
           "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Busy\r\nX-WR-TIMEZONE:America/Los_Angeles\r\n", VTIMEZONE]
    series: tuple[str, datetime] | None = None
    for i in range(n):
        start = first + timedelta(seconds=rnd.random() * span)
        start = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
        uid = f"{i:08d}-{rnd.getrandbits(48):012x}@google.com"
        extra = ""
        if i % 500 == 0:  # a weekly series...
            extra, series = "RRULE:FREQ=WEEKLY;COUNT=20\r\n", (uid, start)
        elif i % 500 == 1 and series:  # ...and its second instance moved, as Google exports it
            uid, extra = series[0], f"RECURRENCE-ID:{series[1] + timedelta(days=7):%Y%m%dT%H%M%SZ}\r\n"
        end = start + timedelta(minutes=rnd.choice((30, 45, 60, 90)))
        out.append(
            "BEGIN:VEVENT\r\n"
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n{extra}"
            f"DTSTAMP:20261120T120000Z\r\nUID:{uid}\r\n"
            "LAST-MODIFIED:20261120T120000Z\r\n"
            f"LOCATION:{rnd.randrange(1, 999)} Main St\\, Springfield\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\n"
            f"SUMMARY:Meeting {i}\r\nTRANSP:OPAQUE\r\n"
            "DESCRIPTION:Agenda in the invitation.\r\n"
            "END:VEVENT\r\n")
    out.append("BEGIN:VEVENT\r\nUID:every-second@test\r\nSUMMARY:Ping\r\n"
               "DTSTART;TZID=America/Los_Angeles:20261126T000000\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n"
               "END:VEVENT\r\n")
    out.append("END:VCALENDAR\r\n")
    return "".join(out)


def measure(case: str, path: str) -> None:
    """One case in this process: prints a JSON line."""
    sys.path.insert(0, str(ROOT))
    from zoneinfo import ZoneInfo

    from clients.ical_calendar import ICalCalendar

    zone = ZoneInfo(ZONE)
    source = path
    server = None
    if case.startswith("http"):
        from tests.fakes.http import FakeServer, Reply

        body = Path(path).read_bytes()
        etag = '"v1"'
        server = FakeServer()
        server.route("GET", r"/feed\.ics", lambda req: Reply(304, b"") if req.headers.get("If-None-Match") == etag
                     else Reply(200, body, {"Content-Type": "text/calendar; charset=UTF-8", "ETag": etag}))
        server.start()
        source = server.url + "/feed.ics"
    if case == "secondly":
        source = str(Path(path).with_name("secondly.ics"))
        Path(source).write_text(SECONDLY_FEED, encoding="utf-8", newline="")
    cal = ICalCalendar(source, zone)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    events = cal.events(NOW, NOW + timedelta(hours=48))
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    result: dict = {"case": case, "first_s": round(first, 3), "first_cpu_s": round(first_cpu, 3),
                    "events": len(events), "problems": list(cal.problems), "base_rss_mb": round(base_rss, 1)}
    if case in ("unchanged", "http"):
        ticks = []
        for k in range(1, 11):
            t = NOW + timedelta(minutes=14 * k)
            t0 = time.perf_counter()
            cal.events(t, t + timedelta(hours=48))
            ticks.append(time.perf_counter() - t0)
        result["tick_ms_median"] = round(sorted(ticks)[len(ticks) // 2] * 1000, 1)
        result["tick_ms_max"] = round(max(ticks) * 1000, 1)
    if case == "changed":
        with open(path, "a", encoding="utf-8") as f:
            f.write("\r\n")  # any edit: a new content hash
        t0, c0 = time.perf_counter(), time.process_time()
        cal.events(NOW, NOW + timedelta(hours=48))
        result["changed_s"] = round(time.perf_counter() - t0, 3)
        result["changed_cpu_s"] = round(time.process_time() - c0, 3)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if server is not None:
        server.stop()
    print(json.dumps(result))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--keep", help="also write the generated feed here")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        measure(args.case, args.path)
        return 0
    text = big_feed(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.ics"
        path.write_text(text, encoding="utf-8", newline="")
        if args.keep:
            Path(args.keep).write_text(text, encoding="utf-8", newline="")
        print(f"feed: {args.events} events, {path.stat().st_size / 1e6:.1f} MB")
        for case in ("unchanged", "http", "changed", "secondly"):
            proc = subprocess.run([sys.executable, __file__, "--case", case, "--path", str(path)],
                                  capture_output=True, text=True, check=True)
            print(proc.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
