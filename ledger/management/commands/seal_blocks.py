from django.core.management.base import BaseCommand

from ledger.services.sealing import seal_blocks


class Command(BaseCommand):
    help = "Seal committed, unsealed journal transactions into chained Merkle blocks."

    def handle(self, *args, **options):
        result = seal_blocks()
        self.stdout.write(
            f"sealed {result.transactions_sealed} transactions into {len(result.blocks)} blocks"
        )
