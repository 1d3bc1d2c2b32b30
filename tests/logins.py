"""Logging test clients in, including the second factor of finance and staff (django-otp)."""

from __future__ import annotations

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def totp_device(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device (made if missing)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    token = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    return f"{token:0{device.digits}d}"


def login(client: Client, user: User) -> Client:
    """Log `client` in as `user`; finance and staff users also pass their second factor."""
    client.force_login(user)
    if user.is_finance or user.is_staff:
        verify_second_factor(client, user)
    return client


def password_only_login(client: Client, user: User) -> Client:
    """Log `client` in as `user` by password alone: a finance or staff session half-way in."""
    client.force_login(user)
    return client


def verify_second_factor(client: Client, user: User) -> Client:
    """Mark `client`'s session as having passed `user`'s second factor (what the code page does)."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
    return client
