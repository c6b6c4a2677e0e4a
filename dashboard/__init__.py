"""The dashboard: a Dash app that shows what the scheduler decided and why, reading only STATE_DIR/state.json."""
