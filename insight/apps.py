from django.apps import AppConfig


class InsightConfig(AppConfig):
    """Read-only measures over every other app: the executive dashboard, project health and
    risk, the lifecycle measures. Nothing imports it; it writes nothing."""

    name = "insight"
    verbose_name = "Insight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from insight.selectors.project_money import project_money_for
        from psa.extensions import ProjectPanel, register_project_money, register_project_panel

        # The project page fetches its health panel from here, and its financials (page and
        # API) take revenue, billed and unbilled from billing and revenue through this app.
        register_project_panel(ProjectPanel(title="Health and risk",
                                            url_name="insight:project-health",
                                            perm="psa.view_project_financials"))
        register_project_money(project_money_for)
