"""The output of `GET /api/v1/resource-requests/{id}/candidates/`: each candidate with every
factor's value (0..1), its weight and the facts behind it, so the ranking explains itself.

Read-only; built from `resourcing.selectors.candidates.Candidate` (see that module for how each
factor is computed).
"""

from rest_framework import serializers

from resourcing.selectors.candidates import WEIGHTS


def _share(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=6, decimal_places=4, read_only=True, **kwargs)


def _hours(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True, **kwargs)


class _Factor(serializers.Serializer):
    """One factor: its value, its weight in the score, and (in subclasses) its facts."""

    factor = ""
    weight = serializers.SerializerMethodField()

    def get_weight(self, candidate: object) -> str:
        return str(WEIGHTS[self.factor])


class _PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="person_id", read_only=True)
    name = serializers.CharField(read_only=True)


class _RoleSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="role_id", read_only=True)
    name = serializers.CharField(source="role_name", read_only=True)
    level = serializers.IntegerField(source="role_level", read_only=True)


class _SkillMatchSerializer(serializers.Serializer):
    skill_id = serializers.IntegerField(read_only=True)
    skill_name = serializers.CharField(read_only=True)
    min_level = serializers.IntegerField(read_only=True)
    level = serializers.IntegerField(read_only=True, help_text="The person's confirmed level.")
    meets_minimum = serializers.BooleanField(read_only=True)
    requires_certification = serializers.BooleanField(read_only=True)
    certification = serializers.CharField(read_only=True,
                                          help_text="A certificate valid on the start date.")


class _SkillsFactor(_Factor):
    factor = "skills"
    value = _share(source="skills")
    matches = _SkillMatchSerializer(source="skill_matches", many=True, read_only=True)


class _AvailabilityFactor(_Factor):
    factor = "availability"
    value = _share(source="availability")
    requested_hours = _hours()
    free_hours = _hours(help_text="Free of hard bookings, up to the requested hours.")


class _RoleFitFactor(_Factor):
    factor = "role_fit"
    value = _share(source="role_fit")
    role_level = serializers.IntegerField(read_only=True)


class _CostFactor(_Factor):
    factor = "cost"
    value = _share(source="cost")
    margin = _share(allow_null=True, help_text="(bill rate - cost rate) / bill rate.")
    cost_rate = serializers.DecimalField(max_digits=12, decimal_places=4, read_only=True,
                                         allow_null=True)
    currency = serializers.CharField(source="cost_currency", read_only=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        """A person's cost rate only for those who may see cost rates (the margin stays:
        staffing ranks by it, DOMAIN.md)."""
        fields = super().get_fields()
        request = self.context.get("request")
        if request is None or not request.user.has_perm("psa.view_costrate"):
            fields.pop("cost_rate")
            fields.pop("currency")
        return fields


class _UtilizationFactor(_Factor):
    factor = "utilization_gap"
    value = _share(source="utilization_gap_value")
    target = _hours(source="utilization_target", help_text="Percent.")
    actual = _hours(source="utilization_actual",
                    help_text="Billable percent over the last 4 weeks.")
    gap = _hours(source="utilization_gap", help_text="Percentage points below target.")


class _LocationFactor(_Factor):
    factor = "location"
    value = _share(source="location")
    country = serializers.CharField(read_only=True)


class _FactorsSerializer(serializers.Serializer):
    skills = _SkillsFactor(source="*", read_only=True)
    availability = _AvailabilityFactor(source="*", read_only=True)
    role_fit = _RoleFitFactor(source="*", read_only=True)
    cost = _CostFactor(source="*", read_only=True)
    utilization_gap = _UtilizationFactor(source="*", read_only=True)
    location = _LocationFactor(source="*", read_only=True)


class CandidateOutputSerializer(serializers.Serializer):
    """A ranked candidate: the person, their role, the score and every factor."""

    person = _PersonSerializer(source="*", read_only=True)
    role = _RoleSerializer(source="*", read_only=True)
    score = _share(help_text="Weighted sum of the factors' values, 0 to 1.")
    factors = _FactorsSerializer(source="*", read_only=True)
