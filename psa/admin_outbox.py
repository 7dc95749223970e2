"""Admin pages for the outbox: events and their deliveries, read-only, with a Replay action."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from psa.common.errors import StateConflictError
from psa.models import Delivery, OutboxEvent


class DeliveryInline(admin.TabularInline):
    """The event's deliveries, one per subscriber."""

    model = Delivery
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("subscriber", "state", "attempts", "max_attempts", "next_attempt_at",
              "succeeded_at", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """The outbox as written by the services; nothing here is editable."""

    list_display = ("id", "type", "aggregate_type", "aggregate_id", "correlation_id",
                    "created_at")
    list_filter = ("type", "aggregate_type")
    search_fields = ("=event_id", "=correlation_id", "=aggregate_id")
    date_hierarchy = "created_at"
    readonly_fields = ("event_id", "type", "aggregate_type", "aggregate_id", "payload",
                       "correlation_id", "created_at")
    inlines = (DeliveryInline,)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Each (event, subscriber) delivery, its state and last error; dead ones can be replayed."""

    list_display = ("id", "event_type", "subscriber", "state", "attempts", "max_attempts",
                    "next_attempt_at", "short_error", "updated_at")
    list_filter = ("state", "subscriber", "event__type")
    list_select_related = ("event",)
    search_fields = ("=event__event_id", "=event__correlation_id", "subscriber")
    readonly_fields = ("event", "subscriber", "state", "attempts", "max_attempts",
                       "next_attempt_at", "leased_until", "last_error", "last_error_context",
                       "succeeded_at", "created_at", "updated_at")
    actions = ("replay",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description="last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="Replay selected deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        """Send each selected dead or failed delivery round again (`psa.replay_delivery`)."""
        from psa.events import delivery_replay

        replayed, refused = 0, []
        for delivery in queryset.select_related("event"):
            if not request.user.has_perm("psa.replay_delivery", delivery):
                refused.append(f"#{delivery.pk}: not allowed")
                continue
            try:
                delivery_replay(delivery=delivery, actor=request.user)
            except StateConflictError as exc:
                refused.append(f"#{delivery.pk}: {exc.detail}")
            else:
                replayed += 1
        if replayed:
            self.message_user(request, f"{replayed} delivery(ies) replayed.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not replayed: " + "; ".join(refused), messages.WARNING)
