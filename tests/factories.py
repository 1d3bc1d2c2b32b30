"""factory_boy factories for parties; ledger rows are only ever made through services."""

from __future__ import annotations

from decimal import Decimal

import factory

from accounts.models import Agency, Brand, Talent, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    country = "FR"
    default_commission_pct = Decimal("20")


class TalentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Talent

    user = factory.SubFactory(UserFactory)
    legal_name = factory.Faker("name")
    country = "FR"
    default_currency = "EUR"


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    legal_name = factory.LazyAttribute(lambda b: f"{b.name} SAS")
    billing_email = factory.LazyAttribute(
        lambda b: f"billing@{b.name.replace(' ', '').lower()}.test"
    )
    country = "FR"
    currency = "EUR"
