from django.core.management.base import BaseCommand, CommandError

from ledger.models import VerificationRun
from ledger.services.verification import ledger_verify_record


class Command(BaseCommand):
    help = (
        "Recompute every transaction hash, Merkle root and block link; exit 1 on any mismatch. "
        "Each run is recorded (finance portal: Verification)."
    )

    def handle(self, *args, **options):
        _, report = ledger_verify_record(trigger=VerificationRun.Trigger.COMMAND)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(problem)
            raise CommandError(f"ledger verification failed: {report.problems[0]}")
        self.stdout.write(
            self.style.SUCCESS(
                f"ledger ok: {report.transactions_checked} transactions, "
                f"{report.blocks_checked} blocks verified"
            )
        )
