"""The Devices page's "Encrypted DNS": issue a device its secret and show the settings that
carry it (DoH address and QR code, Apple profile, Android Private DNS name). Only accounts
that may edit devices see a secret (web/devicesetup.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.config import ClientConfig
from kidshield.web.access import Permission, current_user
from kidshield.web.context import web_context
from kidshield.web.devicesetup import DeviceSetup, issue_secret, revoke_secrets, setup_for
from kidshield.web.errors import NotFound
from kidshield.web.render import render
from kidshield.web.routing import page


def _back(url: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?m={message}", 303)


def _actor(request: Request) -> str:
    user = current_user(request)
    assert user is not None  # the route's rule let a signed-in account in
    return user.name


async def devices_secret(request: Request) -> Response:
    ctx, actor = web_context(request), _actor(request)
    index = int(request.path_params["index"])
    await issue_secret(ctx, actor, index)
    return _back(f"/devices/{index}/encrypted-dns", "issued")


async def devices_secret_revoke(request: Request) -> Response:
    ctx, actor = web_context(request), _actor(request)
    await revoke_secrets(ctx, actor, int(request.path_params["index"]))
    return _back("/devices", "revoked")


def _device_setup(request: Request) -> tuple[ClientConfig, int, DeviceSetup]:
    ctx = web_context(request)
    index = int(request.path_params["index"])
    clients = ctx.config.clients
    if not 0 <= index < len(clients) or not clients[index].secret_ids:
        raise NotFound("this device has no secret for encrypted DNS: issue one first")
    client = clients[index]
    return client, index, setup_for(ctx.config, client.name, client.secret_ids[0],
                                    ctx.public_url)


async def devices_setup_page(request: Request) -> Response:
    # the secret is on this page: only those who may edit devices see it
    client, index, setup = _device_setup(request)
    return render(request, "devicesetup.html", client=client, index=index, setup=setup,
                  qr=setup.qr_svg(), message=request.query_params.get("m"))


async def devices_mobileconfig(request: Request) -> Response:
    client, _index, setup = _device_setup(request)
    name = "".join(ch if ch.isalnum() else "-" for ch in client.name).strip("-") or "device"
    return Response(setup.mobileconfig(), media_type="application/x-apple-aspen-config",
                    headers={"Content-Disposition":
                             f'attachment; filename="kidshield-{name}.mobileconfig"'})


def encrypted_dns_routes() -> list[BaseRoute]:
    edit, post = Permission.HOUSEHOLD_EDIT, ("POST",)
    return [
        page("/devices/{index:int}/secret", devices_secret, edit, methods=post),
        page("/devices/{index:int}/secret/revoke", devices_secret_revoke, edit, methods=post),
        page("/devices/{index:int}/encrypted-dns", devices_setup_page, edit),
        page("/devices/{index:int}/kidshield.mobileconfig", devices_mobileconfig, edit),
    ]
