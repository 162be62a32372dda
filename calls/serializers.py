from __future__ import annotations

from typing import Any

from rest_framework import serializers

from calls.models import Call, CallEvent


class CallSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", read_only=True)
    rate = serializers.DecimalField(max_digits=14, decimal_places=8, read_only=True, allow_null=True)
    price = serializers.DecimalField(max_digits=14, decimal_places=8, read_only=True, allow_null=True)

    class Meta:
        model = Call
        fields = [
            "id", "uuid", "conversation_uuid", "interaction", "direction", "from_number", "to_number",
            "endpoint_type", "status", "outcome", "started_at", "ringing_at", "answered_at", "completed_at",
            "duration", "rate", "price", "network", "disconnected_by", "detail", "sip_code",
            "machine_detection", "machine_sub_state", "agent", "last_event_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class CallEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallEvent
        fields = ["id", "kind", "status", "timestamp", "received_at", "payload"]
        read_only_fields = fields


class CallDetailSerializer(CallSerializer):
    events = serializers.SerializerMethodField()

    class Meta(CallSerializer.Meta):
        fields = [*CallSerializer.Meta.fields, "events"]
        read_only_fields = fields

    def get_events(self, call: Call) -> list[dict[str, Any]]:
        from calls.selectors import call_events

        return CallEventSerializer(call_events(call=call), many=True).data  # type: ignore[return-value]


class TransferSerializer(serializers.Serializer):
    ncco = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=False)
    url = serializers.URLField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("ncco")) == bool(attrs.get("url")):
            raise serializers.ValidationError("Give exactly one of 'ncco' (a list of actions) or 'url'.")
        return attrs
