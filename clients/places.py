"""Which event locations are places one drives to: video links, "Zoom", phone numbers and blanks are not."""

from __future__ import annotations

import re

_URL = re.compile(r"(?i)\b(?:https?://|www\.|[a-z0-9-]+\.(?:zoom\.us|webex\.com)|meet\.google\.com|"
                  r"teams\.microsoft\.com|teams\.live\.com)\S*")
_FILLER = {
    "zoom", "teams", "microsoft", "google", "meet", "meeting", "hangouts", "hangout", "webex", "skype", "online",
    "virtual", "video", "call", "conference", "phone", "tel", "tbd", "tba", "n/a", "na", "none", "id", "passcode",
    "password", "pin", "join", "dial", "in", "link", "facetime", "whatsapp", "slack", "huddle", "remote", "web",
    "and", "or", "via", "on", "the",
}


def is_place(location: str | None) -> bool:
    """True when the text could be geocoded to somewhere a car goes."""
    text = _URL.sub(" ", location or "").lower()
    if text.strip().startswith("tel:"):
        return False
    words = [w for w in re.split(r"[^\w/]+", text) if w and w not in _FILLER]
    letters = sum(1 for w in words for ch in w if ch.isalpha())
    return letters >= 3


def normalize(location: str) -> str:
    """One cache key per destination however it is typed: case, spaces and trailing punctuation ignored."""
    text = " ".join(location.replace("\n", ", ").split()).strip(" ,;.").lower()
    return re.sub(r"\s*,\s*", ", ", text)
