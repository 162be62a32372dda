"""Recorded Voice API event sequences (shapes from voice-api.md section 4), for replay tests."""

from __future__ import annotations

from typing import Any

CONV_IN = "CON-5c7f1a2e-0000-4000-8000-000000000001"
CONV_OUT = "CON-5c7f1a2e-0000-4000-8000-000000000002"
INBOUND = "aaaaaaaa-0000-4000-8000-000000000001"
AGENT_LEG = "aaaaaaaa-0000-4000-8000-000000000002"
OUTBOUND = "bbbbbbbb-0000-4000-8000-000000000001"
BUSY = "cccccccc-0000-4000-8000-000000000001"
REJECTED = "dddddddd-0000-4000-8000-000000000001"


def _status(uuid: str, conv: str, status: str, at: str, direction: str, frm: str, to: str, **extra: Any) -> dict:
    return {
        "from": frm,
        "to": to,
        "uuid": uuid,
        "conversation_uuid": conv,
        "status": status,
        "direction": direction,
        "timestamp": at,
        **extra,
    }


def inbound_call() -> list[dict[str, Any]]:
    """A caller reaches us, is answered, an agent leg is connected, both hang up."""
    caller = ("447700900123", "447700900000")
    agent = ("447700900000", "447700900555")
    return [
        _status(INBOUND, CONV_IN, "started", "2026-11-23T10:00:00.000Z", "inbound", *caller),
        _status(INBOUND, CONV_IN, "ringing", "2026-11-23T10:00:00.000Z", "inbound", *caller),
        _status(INBOUND, CONV_IN, "answered", "2026-11-23T10:00:01.250Z", "inbound", *caller,
                start_time=None, rate=None, network=None),
        _status(AGENT_LEG, CONV_IN, "started", "2026-11-23T10:00:05.000Z", "outbound", *agent),
        _status(AGENT_LEG, CONV_IN, "ringing", "2026-11-23T10:00:05.100Z", "outbound", *agent),
        _status(AGENT_LEG, CONV_IN, "answered", "2026-11-23T10:00:08.000Z", "outbound", *agent),
        {"call_uuid": AGENT_LEG, "conversation_uuid": CONV_IN, "status": "human", "timestamp": "2026-11-23T10:00:09.000Z"},  # noqa: E501
        {"speech": {"results": []}, "dtmf": {"digits": "1", "timed_out": False}, "from": caller[0], "to": caller[1],
         "uuid": INBOUND, "conversation_uuid": CONV_IN, "timestamp": "2026-11-23T10:00:04.000Z"},
        _status(AGENT_LEG, CONV_IN, "completed", "2026-11-23T10:02:08.000Z", "outbound", *agent,
                start_time="2026-11-23T10:00:08.000Z", end_time="2026-11-23T10:02:08.000Z", duration="120",
                rate="0.01270000", price="0.02540000", network="23410", disconnected_by="user", sip_code=200),
        _status(INBOUND, CONV_IN, "completed", "2026-11-23T10:02:08.500Z", "inbound", *caller,
                start_time="2026-11-23T10:00:01.000Z", end_time="2026-11-23T10:02:08.000Z", duration="127",
                rate="0.00450000", price="0.00952500", network="GB-FIXED", disconnected_by="platform", sip_code=200),
    ]  # fmt: skip


def outbound_calls() -> list[dict[str, Any]]:
    """One answered outbound leg with machine detection, one busy, one rejected."""
    ours = ("447700900000", "447700900777")
    return [
        _status(OUTBOUND, CONV_OUT, "started", "2026-11-23T11:00:00.000Z", "outbound", *ours),
        _status(OUTBOUND, CONV_OUT, "ringing", "2026-11-23T11:00:00.500Z", "outbound", *ours),
        _status(OUTBOUND, CONV_OUT, "answered", "2026-11-23T11:00:03.000Z", "outbound", *ours),
        {"call_uuid": OUTBOUND, "conversation_uuid": CONV_OUT, "status": "machine", "sub_state": "beep_start",
         "timestamp": "2026-11-23T11:00:05.000Z"},
        {"recording_url": "https://api.nexmo.com/v1/files/0e1f", "recording_uuid": "r-1", "size": 26000,
         "start_time": "2026-11-23T11:00:03Z", "end_time": "2026-11-23T11:00:20Z", "uuid": OUTBOUND,
         "conversation_uuid": CONV_OUT, "timestamp": "2026-11-23T11:00:21.000Z"},
        _status(OUTBOUND, CONV_OUT, "completed", "2026-11-23T11:00:20.000Z", "outbound", *ours,
                start_time="2026-11-23T11:00:03.000Z", end_time="2026-11-23T11:00:20.000Z", duration="17",
                rate="0.10000000", price="0.02833333", network="23420", disconnected_by="user"),
        _status(BUSY, "CON-busy", "started", "2026-11-23T11:05:00.000Z", "outbound", *ours),
        _status(BUSY, "CON-busy", "ringing", "2026-11-23T11:05:00.300Z", "outbound", *ours),
        _status(BUSY, "CON-busy", "busy", "2026-11-23T11:05:02.000Z", "outbound", *ours, sip_code=486),
        _status(BUSY, "CON-busy", "completed", "2026-11-23T11:05:02.000Z", "outbound", *ours, duration="0",
                sip_code=200),
        _status(REJECTED, "CON-rej", "started", "2026-11-23T11:06:00.000Z", "outbound", "447700900000", "4477009",
                ),
        _status(REJECTED, "CON-rej", "rejected", "2026-11-23T11:06:00.100Z", "outbound", "447700900000", "4477009",
                detail="invalid_number", sip_code=603),
    ]  # fmt: skip
