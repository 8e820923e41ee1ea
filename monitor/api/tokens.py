"""API tokens: who am I (any token); create, list and revoke (admins without a country scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from monitor.api.deps import Admin, Db, Principal, Viewer, audit
from monitor.api.errors import ApiError, forbidden, not_found
from monitor.models import ApiToken
from monitor.tokens import TokenError, create_token, list_tokens, revoke_token

router = APIRouter(tags=["tokens"])


class TokenOut(BaseModel):
    id: int
    name: str
    role: str
    country: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewToken(TokenOut):
    secret: str  # shown this once; only its hash is kept


class TokenIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["viewer", "analyst", "admin"]
    country: str | None = Field(default=None, min_length=2, max_length=2)


class Me(BaseModel):
    token_id: int
    name: str
    role: str
    country: str | None


def global_admin(principal: Admin) -> Principal:
    """Token management is for admins who see every country."""
    if principal.country:
        raise forbidden("this needs an admin token without a country scope")
    return principal


GlobalAdmin = Annotated[Principal, Depends(global_admin)]


@router.get("/me", response_model=Me)
def me(principal: Viewer) -> Me:
    """The calling token's name, role and scope."""
    return Me(token_id=principal.token_id, name=principal.name, role=principal.role, country=principal.country)


@router.get("/tokens", response_model=list[TokenOut])
def get_tokens(session: Db, principal: GlobalAdmin) -> list[ApiToken]:
    """Every token, revoked ones included; never their secrets."""
    return list_tokens(session)


@router.post("/tokens", response_model=NewToken, status_code=201)
def post_token(request: Request, session: Db, principal: GlobalAdmin, body: TokenIn) -> NewToken:
    """Create a token; the response holds its secret, shown this once."""
    try:
        token, secret = create_token(session, body.name, body.role, body.country)
    except TokenError as exc:
        raise ApiError(422, "invalid_token", str(exc)) from None
    audit(session, request, principal, "token.create", f"token:{token.id}",
          {"role": token.role, "country": token.country}, status=201)
    return NewToken(**TokenOut.model_validate(token, from_attributes=True).model_dump(), secret=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def delete_token(request: Request, session: Db, principal: GlobalAdmin,
                 token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> ApiToken:
    """Revoke a token: it stops working at once."""
    try:
        token = revoke_token(session, token_id)
    except TokenError:
        raise not_found("token") from None
    audit(session, request, principal, "token.revoke", f"token:{token.id}")
    return token
