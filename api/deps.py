"""Request dependencies: the database session, the Temporal client, the calling user."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Unauthorized
from api.roles import ADMINS, DESIGNERS, OPERATORS, PEOPLE, check_role
from settings import Settings
from store import users
from store.db import SessionMaker
from store.models import Role, User


@dataclass
class AppState:
    settings: Settings
    sessionmaker: SessionMaker
    temporal: Client


def get_app_state(request: Request) -> AppState:
    state: AppState = request.app.state.services
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route succeeds, rolled back when it raises.
    Its scope is the route function (below), so the commit runs before the answer is sent, and
    a commit that fails becomes the answer."""
    async with get_app_state(request).sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def get_temporal(request: Request) -> Client:
    return get_app_state(request).temporal


def get_settings_dep(request: Request) -> Settings:
    return get_app_state(request).settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer csk_...`")


async def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`")
    user = await users.user_for_key(session, credentials.credentials)
    if user is None:
        raise Unauthorized("invalid or revoked API key")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(roles: tuple[Role, ...]) -> object:
    async def check(user: CurrentUser) -> User:
        return check_role(user, roles)

    return Depends(check)


Designer = Annotated[User, require_role(DESIGNERS)]
Person = Annotated[User, require_role(PEOPLE)]
Admin = Annotated[User, require_role(ADMINS)]
Operator = Annotated[User, require_role(OPERATORS)]
