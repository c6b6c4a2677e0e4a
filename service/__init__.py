"""The daemon's side: settings, state file, the coordinator that owns every side effect, the demo."""
