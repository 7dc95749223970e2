"""Resource request pages (issue #4): create and edit a request on a project or a pipeline
deal, with up to five required skills and minimum levels; cancel it.

Thin views: writes go through resourcing.services.requests. A project manager (OWN scope) may
only open requests on the projects they manage: the permission is checked on the new row
inside the transaction, so a refusal writes nothing.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from psa.common.errors import DomainError
from psa.common.permissions import RequiredPermsMixin
from psa.models import Project, Role
from psa.rules import visible
from resourcing.errors import NotAllowedError
from resourcing.models import ResourceRequest, Skill
from resourcing.services.requests import request_cancel, request_create, request_update
from resourcing.views.skills import DATE_INPUT, LEVEL_CHOICES, show_error

MAX_SKILLS = 5
FORM_FIELDS = ("project", "deal_name", "deal_ref", "probability", "role", "hours_per_week",
               "start_date", "end_date", "country", "remote_ok", "priority", "bill_rate",
               "currency", "notes")


class ResourceRequestForm(forms.ModelForm):
    """The request's own fields; the service applies the rules between them."""

    class Meta:
        model = ResourceRequest
        fields = FORM_FIELDS
        widgets = {"start_date": DATE_INPUT, "end_date": DATE_INPUT,
                   "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"deal_name": "Pipeline deal", "deal_ref": "Deal id in the CRM",
                  "probability": "Probability (%)", "remote_ok": "Remote is fine",
                  "bill_rate": "Bill rate (per hour)"}

    def __init__(self, *args: Any, projects: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].required = False
        self.fields["project"].help_text = "Or name a pipeline deal below."
        self.fields["role"].queryset = Role.objects.order_by("level", "name")

    def _post_clean(self) -> None:
        """Leave the rules to the service (model validation would duplicate them)."""


class RequiredSkillForm(forms.Form):
    skill = forms.ModelChoiceField(queryset=Skill.objects.filter(is_active=True),
                                   required=False)
    min_level = forms.TypedChoiceField(coerce=int, choices=LEVEL_CHOICES, initial=3,
                                       label="Minimum level")


RequiredSkillFormSet = forms.formset_factory(RequiredSkillForm, extra=MAX_SKILLS,
                                             max_num=MAX_SKILLS, validate_max=True)


def _skills_from(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    return [{"skill": f.cleaned_data["skill"], "min_level": f.cleaned_data["min_level"]}
            for f in formset.forms if f.cleaned_data.get("skill")]


def _projects(user: Any) -> Any:
    return visible(Project.objects.order_by("code"), user, "psa.view_project")


def _data(form: ResourceRequestForm) -> dict[str, Any]:
    data = {name: form.cleaned_data[name] for name in FORM_FIELDS}
    data["is_tentative"] = data["project"] is None or data["probability"] < 100
    return data


class _RequestFormMixin:
    template = "resourcing/request_form.html"

    def _render(self, request: HttpRequest, form: ResourceRequestForm,
                formset: forms.BaseFormSet, demand: ResourceRequest | None,
                status: int = 200) -> HttpResponse:
        title = "New resource request" if demand is None else "Edit resource request"
        context = {"title": title, "form": form, "formset": formset, "demand": demand,
                   "may_cancel": demand is not None
                   and demand.status != ResourceRequest.Status.CANCELLED,
                   "breadcrumbs": [("Staffing", reverse("staffing-board")), (title, None)]}
        return render(request, self.template, context, status=status)


class RequestCreateView(_RequestFormMixin, RequiredPermsMixin, View):
    required_perms = {"get": "resourcing.add_resourcerequest",
                      "post": "resourcing.add_resourcerequest"}

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"project": request.GET.get("project")} if request.GET.get("project") else {}
        form = ResourceRequestForm(projects=_projects(request.user), initial=initial)
        return self._render(request, form, RequiredSkillFormSet(prefix="skills"), None)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ResourceRequestForm(request.POST, projects=_projects(request.user))
        formset = RequiredSkillFormSet(request.POST, prefix="skills")
        if form.is_valid() and formset.is_valid():
            try:
                with transaction.atomic():
                    demand = request_create(actor=request.user, data=_data(form),
                                            skills=_skills_from(formset))
                    if not request.user.has_perm("resourcing.add_resourcerequest", demand):
                        raise NotAllowedError("You may open requests only on the projects "
                                              "you manage.", attr="project")
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, f"Opened a request for a {demand.role.name}.")
                return redirect(reverse("staffing-board") + f"?request={demand.pk}")
        return self._render(request, form, formset, None, status=400)


class RequestEditView(_RequestFormMixin, RequiredPermsMixin, View):
    required_perms = {"get": "resourcing.change_resourcerequest",
                      "post": "resourcing.change_resourcerequest"}

    def _demand(self, request: HttpRequest, pk: int) -> ResourceRequest:
        demand = get_object_or_404(ResourceRequest.objects.select_related("project", "role"),
                                   pk=pk)
        if not request.user.has_perm("resourcing.change_resourcerequest", demand):
            raise Http404("No such request.")
        return demand

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        demand = self._demand(request, pk)
        form = ResourceRequestForm(instance=demand, projects=_projects(request.user))
        initial = [{"skill": rs.skill_id, "min_level": rs.min_level}
                   for rs in demand.required_skills.all()]
        formset = RequiredSkillFormSet(prefix="skills", initial=initial)
        return self._render(request, form, formset, demand)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        demand = self._demand(request, pk)
        if request.POST.get("action") == "cancel":
            try:
                request_cancel(actor=request.user, request=demand)
            except DomainError as exc:
                messages.error(request, str(getattr(exc, "detail", exc)))
                return redirect("request-edit", pk=demand.pk)
            messages.success(request, "Cancelled the request.")
            return redirect("staffing-board")
        form = ResourceRequestForm(request.POST, instance=demand,
                                   projects=_projects(request.user))
        formset = RequiredSkillFormSet(request.POST, prefix="skills")
        if form.is_valid() and formset.is_valid():
            try:
                with transaction.atomic():
                    demand = request_update(actor=request.user, request=demand,
                                            data=_data(form), skills=_skills_from(formset),
                                            expected_version=request.POST.get("version") or None)
                    if not request.user.has_perm("resourcing.change_resourcerequest", demand):
                        raise NotAllowedError("You may move requests only to projects you "
                                              "manage.", attr="project")
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, "Saved the request.")
                return redirect(reverse("staffing-board") + f"?request={demand.pk}")
        return self._render(request, form, formset, demand, status=400)
