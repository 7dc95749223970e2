"""Admin pages for the delivery core: search, filters, autocomplete; states are read-only."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from psa import admin_expenses, admin_outbox, models


@admin.register(models.LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "country", "base_currency", "invoice_prefix", "is_active")
    search_fields = ("code", "name")
    list_filter = ("country", "base_currency", "is_active")


@admin.register(models.Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ("legal_entity", "month", "status", "closed_at", "closed_by")
    list_filter = ("legal_entity", "status")
    # Closing and reopening are audited services (issue #6), never a form edit.
    readonly_fields = ("status", "closed_at", "closed_by")
    date_hierarchy = "month"


class RateCardLineInline(admin.TabularInline):
    model = models.RateCardLine
    extra = 0
    autocomplete_fields = ("role",)


class RateCardOverrideInline(admin.TabularInline):
    model = models.RateCardOverride
    extra = 0
    autocomplete_fields = ("person",)


@admin.register(models.RateCard)
class RateCardAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "currency", "client", "is_active")
    list_filter = ("kind", "currency", "is_active")
    search_fields = ("code", "name")
    autocomplete_fields = ("client",)
    inlines = (RateCardLineInline, RateCardOverrideInline)


@admin.register(models.Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "legal_entity",
        "currency",
        "payment_terms_days",
        "tax_rate",
        "is_active",
    )
    list_filter = ("legal_entity", "currency", "is_active")
    search_fields = ("code", "name", "billing_contact_email")
    autocomplete_fields = ("rate_card",)


class ChangeOrderInline(admin.TabularInline):
    model = models.ChangeOrder
    extra = 0
    fields = ("reference", "value_change_amount", "budget_hours_change", "effective_date", "status")
    readonly_fields = ("status",)


@admin.register(models.Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "client",
        "billing_model",
        "revenue_method",
        "currency",
        "value_amount",
        "status",
    )
    list_filter = ("billing_model", "revenue_method", "status", "legal_entity", "currency")
    search_fields = ("code", "name", "client__name")
    autocomplete_fields = ("client", "rate_card")
    readonly_fields = ("status",)
    inlines = (ChangeOrderInline,)


@admin.register(models.ChangeOrder)
class ChangeOrderAdmin(admin.ModelAdmin):
    list_display = ("contract", "reference", "value_change_amount", "effective_date", "status")
    list_filter = ("status",)
    search_fields = ("reference", "contract__code")
    autocomplete_fields = ("contract",)
    # Approval moves money on the contract: only its service may change the state.
    readonly_fields = ("status", "decided_at", "decided_by", "created_by")


class TaskInline(admin.TabularInline):
    model = models.Task
    extra = 0
    fields = ("wbs_code", "name", "parent", "is_billable", "is_open", "budget_hours")
    show_change_link = True


class MilestoneInline(admin.TabularInline):
    model = models.Milestone
    extra = 0
    fields = ("name", "due_date", "amount", "currency", "requires_acceptance", "status")
    readonly_fields = ("status",)


class ProjectMemberInline(admin.TabularInline):
    model = models.ProjectMember
    extra = 0
    autocomplete_fields = ("person", "role")


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "client", "manager", "status", "start_date", "end_date")
    list_filter = ("status", "legal_entity", "service_line", "is_internal")
    search_fields = ("code", "name", "client__name")
    autocomplete_fields = ("contract", "client", "manager")
    list_select_related = ("client", "manager")
    inlines = (ProjectMemberInline, MilestoneInline, TaskInline)


@admin.register(models.Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("project", "wbs_code", "name", "is_billable", "is_open", "budget_hours")
    list_filter = ("is_billable", "is_open")
    search_fields = ("name", "wbs_code", "project__code")
    autocomplete_fields = ("project", "parent")
    list_select_related = ("project",)


@admin.register(models.Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("project", "name", "due_date", "amount", "currency", "status")
    list_filter = ("status", "requires_acceptance")
    search_fields = ("name", "project__code")
    autocomplete_fields = ("project",)
    readonly_fields = ("status", "completed_at", "completed_by", "accepted_at", "accepted_by")
    list_select_related = ("project",)


@admin.register(models.Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level")
    search_fields = ("code", "name")


class CostRateInline(admin.TabularInline):
    model = models.CostRate
    extra = 0


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = (
        "employee_number",
        "full_name",
        "role",
        "legal_entity",
        "country",
        "employment_status",
        "manager",
    )
    list_filter = ("employment_status", "legal_entity", "role", "country")
    search_fields = ("employee_number", "first_name", "last_name", "email")
    autocomplete_fields = ("user", "manager", "role")
    list_select_related = ("role", "legal_entity", "manager")
    inlines = (CostRateInline,)


class ApiTokenCreateForm(forms.ModelForm):
    """Issue a token: the raw value is shown once after saving and never stored."""

    scopes_text = forms.CharField(
        required=False, label="Scopes", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Permissions the token may use, one per line (e.g. psa.view_project); "
                  "empty means everything its user may do.")

    class Meta:
        model = models.ApiToken
        fields = ("user", "name", "expires_at")

    def clean_scopes_text(self) -> list[str]:
        from psa.roles import MATRIX

        scopes = [line.strip() for line in self.cleaned_data["scopes_text"].splitlines()
                  if line.strip()]
        unknown = sorted(set(scopes) - set(MATRIX))
        if unknown:
            raise forms.ValidationError(f"Unknown permissions: {', '.join(unknown)}")
        return scopes


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    autocomplete_fields = ("user",)
    # The digest never leaves the database; the raw token is shown once, when it is created.
    readonly_fields = ("user", "name", "prefix", "digest", "scopes", "created_at",
                       "last_used_at", "expires_at", "revoked_at")
    actions = ("revoke",)

    def get_form(self, request: HttpRequest, obj: object = None, **kwargs: object) -> type:
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return () if obj is None else self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "expires_at", "scopes_text")
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: models.ApiToken, form: forms.Form,
                   change: bool) -> None:
        from psa.common.tokens import api_token_create

        if change:
            return  # tokens are immutable; revoke and issue a new one instead
        # The default lifetime unless the form names an expiry (set just below).
        token, raw = api_token_create(user=form.cleaned_data["user"],
                                      name=form.cleaned_data["name"],
                                      scopes=form.cleaned_data["scopes_text"])
        if form.cleaned_data.get("expires_at"):
            token.expires_at = form.cleaned_data["expires_at"]
            token.save(update_fields=["expires_at"])
        obj.pk = token.pk
        messages.warning(request, f"Copy the token now; it is not shown again: {raw}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        from psa.common.tokens import api_token_revoke

        for token in queryset:
            api_token_revoke(token=token)


@admin.register(models.ExternalRef)
class ExternalRefAdmin(admin.ModelAdmin):
    list_display = ("system", "external_id", "content_type", "object_id", "created_at")
    list_filter = ("system", "content_type")
    search_fields = ("external_id",)


admin.site.site_header = "PSA administration"
admin.site.site_title = "PSA admin"

__all__ = ["admin_expenses", "admin_outbox"]  # imported for their registrations
