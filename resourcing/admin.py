"""Admin registrations for resourcing's tables (read and fix by hand; services do the rules)."""

from django.contrib import admin

from resourcing.models import (
    Assignment,
    Certification,
    PersonSkill,
    RequestSkill,
    ResourceRequest,
    Skill,
    SkillCategory,
)


@admin.register(SkillCategory)
class SkillCategoryAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name"]


@admin.register(PersonSkill)
class PersonSkillAdmin(admin.ModelAdmin):
    list_display = ["person", "skill", "level", "status"]
    list_filter = ["status"]
    raw_id_fields = ["person", "skill", "confirmed_by"]


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["person", "name", "issuer", "issued_date", "expires_date"]
    raw_id_fields = ["person", "skill"]


class RequestSkillInline(admin.TabularInline):
    model = RequestSkill
    raw_id_fields = ["skill"]
    extra = 0


@admin.register(ResourceRequest)
class ResourceRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "deal_name", "role", "hours_per_week", "start_date",
                    "end_date", "status"]
    list_filter = ["status", "is_tentative", "priority"]
    raw_id_fields = ["project", "role", "requested_by"]
    inlines = [RequestSkillInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["person", "project", "start_date", "end_date", "hours_per_week", "booking",
                    "overbooking_confirmed"]
    list_filter = ["booking", "overbooking_confirmed"]
    raw_id_fields = ["person", "project", "role", "request", "created_by"]
