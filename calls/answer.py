"""What a leg does when it is answered: decided from the database only, never over the network."""

from __future__ import annotations

from typing import Any

from calls.models import Call
from contactcenter.voice import ncco

NOT_IN_SERVICE = "Sorry, the number you have called is not in service. Goodbye."


def not_in_service() -> list[dict[str, Any]]:
    return ncco.build(ncco.Talk(NOT_IN_SERVICE, language="en-GB"))


def answer_ncco(call: Call) -> list[dict[str, Any]]:
    """The NCCO for ``call``: the one stored when we placed it, else a polite not-in-service message.

    Numbers and IVR flows (later issues) decide inbound calls here.
    """
    if call.answer_ncco:
        return list(call.answer_ncco)
    return not_in_service()


# Every NCCO this module can emit, for the conformance test against the official models.
EMITTED = {"not_in_service": not_in_service}
