"""Service accounts: non-human users that reach the API with scoped tokens."""

from django.contrib.auth.models import Group, User
from django.db import transaction

from psa import roles
from psa.common.errors import DomainError
from psa.common.tokens import api_token_create
from psa.models import ApiToken
from psa.roles import MATRIX


@transaction.atomic
def service_account_create(*, username: str, scopes: list[str],
                           token_label: str) -> tuple[User, ApiToken, str]:
    """Create a service account in the `service` role with a token limited to `scopes`.

    Raises DomainError for a taken username or a scope the role matrix does not know.
    """
    unknown = sorted(set(scopes) - set(MATRIX))
    if unknown:
        raise DomainError(f"Unknown scopes: {', '.join(unknown)}.", attr="scopes")
    if User.objects.filter(username=username).exists():
        raise DomainError(f"The username {username!r} is taken.", attr="username")
    user = User(username=username, first_name=username)
    user.set_unusable_password()  # service accounts never sign in to pages
    user.save()
    user.groups.add(Group.objects.get_or_create(name=roles.SERVICE)[0])
    token, raw = api_token_create(user=user, name=token_label, scopes=scopes)
    return user, token, raw
