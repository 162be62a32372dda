from django.contrib import admin

from calls.models import Call, CallEvent, Interaction


class CallEventInline(admin.TabularInline):
    model = CallEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "status", "timestamp", "received_at", "payload"]
    fields = readonly_fields


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["uuid", "direction", "from_number", "to_number", "status", "outcome", "agent", "created_at"]
    list_filter = ["direction", "status", "outcome"]
    search_fields = ["uuid", "conversation_uuid", "from_number", "to_number"]
    readonly_fields = [f.name for f in Call._meta.fields]
    inlines = [CallEventInline]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["id", "direction", "customer_number", "started_at", "ended_at"]
    readonly_fields = ["direction", "customer_number", "started_at", "ended_at", "created_at"]
