"""Markers for the test targets: `browser` (a real headless Chromium) is set here from the file a test is in, so the
fast target (scripts/test-fast.sh) can leave those out without each test naming it."""

from __future__ import annotations

import pytest

BROWSER_FILES = {"test_dashboard_browser.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in BROWSER_FILES:
            item.add_marker(pytest.mark.browser)
