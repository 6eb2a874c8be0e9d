"""The canteen's own volunteers: no platform to call. The run is the booking; the
volunteer confirms each delivery on a page, so no webhook ever comes from them."""

from datetime import datetime

from mealservice.delivery.platforms.base import BadReport, DeliveryRequest, Platform, Report


class VolunteerPlatform(Platform):
    adapter = "volunteer"

    def quote(self, request: DeliveryRequest) -> int:
        return 0

    def create_delivery(self, request: DeliveryRequest) -> str:
        return f"volunteer-{request.order_id}"

    def cancel(self, order_id: int, reference: str | None) -> None:
        return None

    def parse_report(self, headers, raw_body: bytes, now: datetime) -> Report:
        raise BadReport("volunteers confirm deliveries on a page, not through a webhook")
