"""Who may do what, by role: one check for API keys and the web app's sessions alike."""

from api.errors import Forbidden
from store.models import Role, User

# Admins and managers design sequences, see reports and everyone's to-dos.
DESIGNERS = (Role.admin, Role.manager)
# Everyone but integrations, which are API clients rather than people.
PEOPLE = (Role.admin, Role.manager, Role.rep)
ADMINS = (Role.admin,)
# Whoever may act on any enrollment: people in charge, and integrations.
OPERATORS = (Role.admin, Role.manager, Role.integration)


def check_role(user: User, roles: tuple[Role, ...]) -> User:
    if user.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(f"this action needs one of the roles: {allowed}")
    return user
