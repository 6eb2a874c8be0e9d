from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_M = 6_371_000


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle distance in whole metres (haversine)."""
    dlat = radians(lat2 - lat1)
    dlng = radians(lng2 - lng1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlng / 2) ** 2
    return round(2 * EARTH_RADIUS_M * asin(sqrt(a)))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lat/lng box that holds the circle, so SQL can pre-filter before exact distances."""
    dlat = radius_m / 111_320
    dlng = radius_m / max(111_320 * cos(radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng
