"""The only door to the Vonage Voice API (plus the Applications and Numbers APIs).

``get_client()`` returns a configured ``VoiceClient``; ``ncco`` builds and validates NCCOs;
``signatures`` verifies signed webhooks; ``errors`` holds the typed errors. Importing this
package loads neither Django nor httpx: the client module is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contactcenter.voice.client import VoiceClient, get_client

__all__ = ["VoiceClient", "get_client"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from contactcenter.voice import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
