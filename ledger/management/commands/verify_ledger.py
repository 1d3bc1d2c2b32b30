from django.core.management.base import BaseCommand, CommandError

from ledger.services.verification import ledger_verify


class Command(BaseCommand):
    help = "Recompute every transaction hash, Merkle root and block link; exit 1 on any mismatch."

    def handle(self, *args, **options):
        report = ledger_verify()
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
