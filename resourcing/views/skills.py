"""Skills pages (issue #4): my skills and certifications, a person's skills for their manager
to confirm, and the catalogue with how many people hold each skill.

Thin views: writes go through resourcing.services.skills; a refused or invalid write shows its
sentence beside the field and writes nothing.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from psa.common.errors import DomainError
from psa.common.permissions import RequiredPermsMixin
from psa.models import Person
from psa.selectors.people import person_list
from resourcing.models import Certification, PersonSkill, Skill, SkillCategory
from resourcing.services.skills import (
    certification_add,
    person_skill_confirm,
    person_skill_set,
    skill_create,
)

LEVEL_CHOICES = [(n, f"{n} · {label}") for n, label in
                 ((1, "aware"), (2, "working"), (3, "practitioner"), (4, "expert"),
                  (5, "authority"))]
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class SkillLevelForm(forms.Form):
    """Add a skill, or change the level of one already held."""

    skill = forms.ModelChoiceField(queryset=Skill.objects.filter(is_active=True)
                                   .select_related("category"))
    level = forms.TypedChoiceField(coerce=int, choices=LEVEL_CHOICES)


class CertificationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Certificate")
    issuer = forms.CharField(max_length=200, required=False)
    skill = forms.ModelChoiceField(queryset=Skill.objects.filter(is_active=True),
                                   required=False, label="Proves skill")
    issued_date = forms.DateField(widget=DATE_INPUT, label="Issued")
    expires_date = forms.DateField(widget=DATE_INPUT, required=False, label="Expires")


class SkillCreateForm(forms.Form):
    category = forms.CharField(max_length=100, help_text="An existing or a new category.",
                               widget=forms.TextInput(attrs={"list": "skill-categories"}))
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


def show_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's sentence beside the field it names (or above the form)."""
    attr = getattr(error, "attr", None)
    form.add_error(attr if attr in form.fields else None, str(getattr(error, "detail", error)))


def _skills_of(person: Person) -> list[PersonSkill]:
    return list(PersonSkill.objects.filter(person=person)
                .select_related("skill__category", "confirmed_by")
                .order_by("skill__category__name", "skill__name"))


def _certifications_of(person: Person) -> list[Certification]:
    return list(Certification.objects.filter(person=person).select_related("skill")
                .order_by("expires_date", "name"))


class MySkillsView(RequiredPermsMixin, View):
    """GET: the signed-in person's skills and certificates; POST: set a level or add one."""

    required_perms = {"get": "resourcing.view_personskill",
                      "post": "resourcing.add_personskill"}

    def _person(self, request: HttpRequest) -> Person:
        person = getattr(request.user, "person", None)
        if person is None:
            raise Http404("Your login is not linked to a person.")
        return person

    def _render(self, request: HttpRequest, person: Person, *, level_form: forms.Form,
                cert_form: forms.Form, status: int = 200) -> HttpResponse:
        context = {"title": "My skills",
                   "context_line": "Your levels are proposed until your manager confirms them; "
                                   "a changed level needs confirming again.",
                   "person": person, "skills": _skills_of(person),
                   "certifications": _certifications_of(person),
                   "level_form": level_form, "cert_form": cert_form,
                   "can_edit": request.user.has_perm("resourcing.add_personskill")}
        return render(request, "resourcing/skills_mine.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        person = self._person(request)
        initial: dict[str, Any] = {}
        if request.GET.get("skill", "").isdigit():
            held = PersonSkill.objects.filter(person=person, skill_id=request.GET["skill"]).first()
            initial = {"skill": request.GET["skill"], "level": held.level if held else 3}
        return self._render(request, person, level_form=SkillLevelForm(initial=initial),
                            cert_form=CertificationForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        person = self._person(request)
        level_form, cert_form = SkillLevelForm(), CertificationForm()
        if request.POST.get("action") == "certification":
            cert_form = CertificationForm(request.POST)
            if cert_form.is_valid():
                try:
                    cert = certification_add(actor=request.user, person=person,
                                             **cert_form.cleaned_data)
                except DomainError as exc:
                    show_error(cert_form, exc)
                else:
                    messages.success(request, f"Added the certificate {cert.name}.")
                    return redirect("my-skills")
        else:
            level_form = SkillLevelForm(request.POST)
            if level_form.is_valid():
                try:
                    held = person_skill_set(actor=request.user, person=person,
                                            skill=level_form.cleaned_data["skill"],
                                            level=level_form.cleaned_data["level"])
                except DomainError as exc:
                    show_error(level_form, exc)
                else:
                    messages.success(request, f"{held.skill.name}: level {held.level}, "
                                              f"{held.get_status_display().lower()}.")
                    return redirect("my-skills")
        return self._render(request, person, level_form=level_form, cert_form=cert_form,
                            status=400)


class PersonSkillsView(RequiredPermsMixin, View):
    """GET: a person's skills with Confirm buttons where the user may confirm them;
    POST: confirm one level (their manager or staffing, never the person themself)."""

    required_perms = {"get": "resourcing.view_personskill",
                      "post": "resourcing.confirm_personskill"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = get_object_or_404(person_list(actor=request.user), pk=pk)
        own = person.user_id == request.user.pk
        rows = [{"held": held,
                 "can_confirm": not own and held.status == PersonSkill.Status.PROPOSED
                 and request.user.has_perm("resourcing.confirm_personskill", held)}
                for held in _skills_of(person)]
        context = {"title": f"{person.full_name} · skills", "person": person, "rows": rows,
                   "certifications": _certifications_of(person), "is_own": own,
                   "breadcrumbs": [("People", reverse("person-list")),
                                   (person.full_name, reverse("person-detail", args=[person.pk])),
                                   ("Skills", None)]}
        return render(request, "resourcing/skills_person.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = get_object_or_404(person_list(actor=request.user), pk=pk)
        held = get_object_or_404(PersonSkill.objects.select_related("skill", "person"),
                                 person=person, pk=request.POST.get("person_skill") or 0)
        try:
            person_skill_confirm(actor=request.user, person_skill=held)
        except DomainError as exc:
            messages.error(request, str(getattr(exc, "detail", exc)))
            response = self.get(request, pk)
            response.status_code = exc.http_status
            return response
        messages.success(request, f"Confirmed {person.full_name}'s {held.skill.name} at level "
                                  f"{held.level}.")
        return redirect("person-skills", pk=person.pk)


class SkillCatalogueView(RequiredPermsMixin, View):
    """GET: categories and skills with how many people hold each; POST: add a skill."""

    required_perms = {"get": "resourcing.view_skill", "post": "resourcing.add_skill"}

    def _render(self, request: HttpRequest, form: forms.Form, status: int = 200) -> HttpResponse:
        skills = (Skill.objects.select_related("category")
                  .annotate(holders_count=Count("holders"))
                  .order_by("category__name", "name"))
        categories: dict[str, list[Skill]] = {}
        for skill in skills:
            categories.setdefault(skill.category.name, []).append(skill)
        context = {"title": "Skills catalogue", "categories": categories,
                   "category_names": list(SkillCategory.objects.values_list("name", flat=True)),
                   "form": form if request.user.has_perm("resourcing.add_skill") else None}
        return render(request, "resourcing/skills_catalogue.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, SkillCreateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SkillCreateForm(request.POST)
        if form.is_valid():
            try:
                skill = skill_create(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, f"Added {skill.name} to {skill.category.name}.")
                return redirect("skill-catalogue")
        return self._render(request, form, status=400)
