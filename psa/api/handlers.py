"""Django's 400, 404 and 500 handlers: the API's error shape under /api/, the pages elsewhere.

DRF renders errors raised inside its views; these cover what never reaches one — a path no
route matches (`/api/v1/nothing/`, an id that is not a number) and an exception Django itself
catches — so an API client never gets an HTML page (API.md).
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from psa.common.errors import error_body

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("client_error", "bad_request",
                                       "The request could not be read."), status=400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("client_error", "not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("server_error", "error", "A server error occurred."),
                            status=500)
    return defaults.server_error(request)
