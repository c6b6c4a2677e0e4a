"""The charging benchmark of /BENCHMARK.md: replay real plug-in sessions against real grid load and forecast."""
