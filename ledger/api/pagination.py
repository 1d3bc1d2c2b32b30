"""Cursor pagination for every list: stable under concurrent inserts (ledger rows only grow)."""

from __future__ import annotations

from rest_framework import exceptions, pagination, serializers
from rest_framework.exceptions import ErrorDetail

from ledger.api.fields import StrictSerializer

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class Pagination(pagination.CursorPagination):
    ordering = "-pk"  # newest first; ids only grow
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.cursor_query_param: [ErrorDetail("Invalid cursor.", code="invalid_cursor")]}
            ) from None


class PageQuery(StrictSerializer):
    """Query parameters every list accepts; list filters extend it (unknown ones are a 400)."""

    cursor = serializers.CharField(required=False, max_length=500)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


def paginated_response(*, request, view, queryset, output, prepare=None):
    """One page of `queryset` rendered by the `output` serializer class, with next/previous;
    `prepare(rows)` may annotate the page's rows first."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    if prepare is not None:
        prepare(page)
    return paginator.get_paginated_response(output(page, many=True).data)
