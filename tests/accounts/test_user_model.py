"""The custom user: email is the login, stored lower-cased and unique regardless of case."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from accounts.models import User


def _request():
    """django-axes checks every authentication against the request it came with."""
    return RequestFactory().post("/login/")


pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_the_project_user_model_logs_in_by_email_without_username():
    assert get_user_model() is User
    assert User.USERNAME_FIELD == "email"
    assert User.EMAIL_FIELD == "email"
    assert User.REQUIRED_FIELDS == []
    assert not any(field.name == "username" for field in User._meta.get_fields())


def test_create_user_lowercases_the_whole_email():
    user = User.objects.create_user("Alice.Smith@Example.COM", PASSWORD)
    user.refresh_from_db()
    assert user.email == "alice.smith@example.com"
    assert str(user) == "alice.smith@example.com"


def test_create_user_hashes_the_password_and_grants_no_privileges():
    user = User.objects.create_user("bob@example.com", PASSWORD)
    assert user.password != PASSWORD
    assert user.check_password(PASSWORD)
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.is_finance


def test_create_user_without_password_has_an_unusable_password():
    user = User.objects.create_user("nopass@example.com")
    assert not user.has_usable_password()


@pytest.mark.parametrize("email", ["", None])
def test_create_user_requires_an_email(email):
    with pytest.raises(ValueError):
        User.objects.create_user(email, PASSWORD)


def test_the_same_email_in_another_case_is_refused_by_create_user():
    User.objects.create_user("carol@example.com", PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("CAROL@Example.com", PASSWORD)
    assert User.objects.filter(email__iexact="carol@example.com").count() == 1


def test_a_mixed_case_email_is_refused_by_the_database_itself():
    # Bypass the manager's lower-casing: the lowercase check constraint still refuses it, so the
    # plain unique index on email is case-insensitive in effect.
    User.objects.create_user("dave@example.com", PASSWORD)
    with pytest.raises(IntegrityError, match="user_email_lowercase"), transaction.atomic():
        User.objects.create(email="Dave@Example.com")
    assert User.objects.filter(email__iexact="dave@example.com").count() == 1


def test_create_superuser_sets_staff_and_superuser_flags():
    admin = User.objects.create_superuser("Root@Example.com", PASSWORD)
    assert admin.email == "root@example.com"
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.is_active
    assert admin.has_perm("ledger.view_journaltransaction")


def test_create_superuser_cannot_be_talked_out_of_its_flags():
    admin = User.objects.create_superuser("root2@example.com", PASSWORD, is_staff=False)
    assert admin.is_staff and admin.is_superuser


def test_authenticate_by_email_and_password():
    user = User.objects.create_user("erin@example.com", PASSWORD)
    assert authenticate(_request(), email="erin@example.com", password=PASSWORD) == user
    # The login form passes the email as `username`; ModelBackend maps it to USERNAME_FIELD.
    assert authenticate(_request(), username="erin@example.com", password=PASSWORD) == user


def test_authenticate_refuses_a_wrong_password_an_unknown_email_and_an_inactive_user():
    User.objects.create_user("frank@example.com", PASSWORD)
    User.objects.create_user("gone@example.com", PASSWORD, is_active=False)
    assert authenticate(_request(), email="frank@example.com", password="wrong") is None
    assert authenticate(_request(), email="nobody@example.com", password=PASSWORD) is None
    assert authenticate(_request(), email="gone@example.com", password=PASSWORD) is None


def test_authenticate_accepts_the_email_in_any_case():
    user = User.objects.create_user("grace@example.com", PASSWORD)
    assert authenticate(_request(), email="Grace@Example.com", password=PASSWORD) == user


def test_client_login_by_email(client):
    User.objects.create_user("heidi@example.com", PASSWORD)
    assert client.login(request=_request(), email="heidi@example.com", password=PASSWORD)
