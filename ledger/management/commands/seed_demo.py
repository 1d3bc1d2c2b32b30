from django.core.management.base import BaseCommand

from ledger.services.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo


def logins_table() -> str:
    """The demo logins as a plain-text table (also printed by `make run`)."""
    rows = [("email", "password", "role")] + [
        (login.email, DEMO_PASSWORD, login.role) for login in DEMO_LOGINS
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(
        f"  {email:<{widths[0]}}  {password:<{widths[1]}}  {role}" for email, password, role in rows
    )


class Command(BaseCommand):
    help = (
        "Load the demo parties, twins, licenses and three months of uses once "
        "(demo data only; one shared password)."
    )

    def handle(self, *args, **options):
        result = seed_demo()
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data loaded: {result.uses} uses, {result.refused} refused attempts. "
                    "Logins:"
                )
            )
            self.stdout.write(logins_table())
        else:
            self.stdout.write("Demo data already loaded; nothing changed.")
