from django.core.management.base import BaseCommand, CommandError

from ledger.errors import DomainError
from ledger.models import Invoice, Statement
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request


class Command(BaseCommand):
    help = "Close a period (YYYY-MM) here and now: statements and invoices, exactly once."

    def add_arguments(self, parser):
        parser.add_argument("period", help="The month to close, e.g. 2026-11.")

    def handle(self, *args, period: str, **options):
        try:
            run = period_close_request(period=Period.parse(period))
            result = period_close_execute(run_id=run.pk)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.detail}") from None
        if result.busy:
            raise CommandError("Another close is running; try again when it has finished.")
        run = result.run
        statements = Statement.objects.filter(period_start=run.period_start).count()
        invoices = Invoice.objects.filter(period_start=run.period_start).count()
        self.stdout.write(
            f"{Period(run.period_start)}: {run.status}, {statements} statements, "
            f"{invoices} invoices"
        )
