"""Login by email, logout, the landing page, and the second factor (TOTP) of finance and staff."""

from __future__ import annotations

from base64 import b32encode

import segno
from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.oath import TOTP

from accounts.services import second_factor_check, second_factor_device
from ledger.portal.access import home_url_for, needs_second_factor, roles_of
from ledger.selectors.visibility import viewer_for_user


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    form_class = EmailLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.PORTAL_DEMO_HINTS:
            from ledger.services.demo import DEMO_LOGINS, DEMO_PASSWORD

            context.update(demo_logins=DEMO_LOGINS, demo_password=DEMO_PASSWORD)
        return context

    def get_default_redirect_url(self) -> str:
        # Finance and staff finish logging in with their code: until then they hold no role.
        if needs_second_factor(self.request):
            return reverse("portal:otp")
        return reverse(home_url_for(viewer_for_user(self.request.user)))


class LogoutView(auth_views.LogoutView):
    pass


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous -> login; one role -> its dashboard; several -> a choice; none -> a note."""
    if not request.user.is_authenticated:
        return redirect("portal:login")
    if needs_second_factor(request):
        return redirect("portal:otp")
    viewer = viewer_for_user(request.user)
    held = roles_of(viewer)
    if len(held) == 1:
        return redirect(f"{held[0]}:dashboard")
    return render(request, "portal/home.html", {"roles": held})


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the authenticator code; the first time, show the QR code to enrol first."""
    user = request.user
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if not needs_second_factor(request):  # passed already, or an account that needs none
        return redirect(next_url or "portal:home")
    device = second_factor_device(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if second_factor_check(device=device, token=form.cleaned_data["token"]):
            otp_login(request, device)
            return redirect(next_url or "portal:home")
        form.add_error("token", "That code is not right (or has expired). Try the current one.")
    context = {"form": form, "next": next_url, "enrolling": not device.confirmed}
    if not device.confirmed:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
        context["secret"] = b32encode(device.bin_key).decode()
    if settings.PORTAL_DEMO_HINTS:
        token = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
        context["demo_code"] = f"{token:0{device.digits}d}"
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/second_factor.html", context, status=status)
