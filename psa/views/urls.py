"""The browser pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from psa.views.clients import ClientDetailView, ClientListView, ContractDetailView
from psa.views.exchange_rates import ExchangeRateListView
from psa.views.home import AuditListView, HomeView, SearchView
from psa.views.people import PersonDetailView, PersonListView
from psa.views.projects import ProjectDetailView, ProjectListView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("search/", SearchView.as_view(), name="search"),
    path("accounts/login/",
         auth_views.LoginView.as_view(template_name="registration/login.html",
                                      redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("clients/", ClientListView.as_view(), name="client-list"),
    path("clients/export.csv", ClientListView.as_view(), {"export": True}, name="client-export"),
    path("clients/<id:pk>/", ClientDetailView.as_view(), name="client-detail"),
    path("contracts/<id:pk>/", ContractDetailView.as_view(), name="contract-detail"),
    path("exchange-rates/", ExchangeRateListView.as_view(), name="exchange-rate-list"),
    path("projects/", ProjectListView.as_view(), name="project-list"),
    path("projects/export.csv", ProjectListView.as_view(), {"export": True},
         name="project-export"),
    path("projects/<id:pk>/", ProjectDetailView.as_view(), name="project-detail"),
    path("people/", PersonListView.as_view(), name="person-list"),
    path("people/export.csv", PersonListView.as_view(), {"export": True}, name="person-export"),
    path("people/<id:pk>/", PersonDetailView.as_view(), name="person-detail"),
    path("audit/", AuditListView.as_view(), name="audit-list"),
    path("", include("psa.views.urls_time")),
    path("", include("psa.views.urls_expenses")),
    path("", include("psa.views.urls_approvals")),
]
