"""HTTP hardening: security headers and the content security policy (Flask-Talisman),
trusted proxies, and the login limits' storage (Flask-Limiter)."""

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from mealservice.core.marks import mark_of

limiter = Limiter(key_func=get_remote_address)
talisman = Talisman()


def rate_limited(view):
    """Mark a view the limiter guards (the login and password views). Every other request
    skips Flask-Limiter altogether: its look-up of the limits cost every scan a share of
    its time while only these views have any."""
    view.rate_limited = True
    return view


@limiter.request_filter
def _not_rate_limited() -> bool:
    return not mark_of("rate_limited", False)


# The app's pages run only their own files: no inline script or style, no plugins, no
# framing. The cashier camera's stream is a blob; QR codes and charts are images.
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Swagger UI sets inline styles as it renders; its script is our own file
# (templates/swagger_ui.html), so scripts stay as strict as on the pages.
API_DOCS_POLICY = {**PAGE_POLICY, "style-src": "'self' 'unsafe-inline'", "form-action": "'none'"}

# The cashier page uses the camera, the canteen list "near me" the location; nothing else.
PERMISSIONS_POLICY = {
    "camera": "(self)",
    "geolocation": "(self)",
    "microphone": "()",
    "payment": "()",
}

API_DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"


def init_security(app: Flask) -> None:
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    talisman.init_app(
        app,
        # TLS ends at the proxy or load balancer, which redirects plain HTTP itself.
        force_https=False,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        content_security_policy=PAGE_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
        # The old XSS auditor is gone from browsers and could itself be abused.
        x_xss_protection=False,
    )
    limiter.init_app(app)


def give_api_docs_their_policy(app: Flask) -> None:
    """After the API is registered: the docs page's own policy, per Talisman's view options."""
    view = app.view_functions[API_DOCS_ENDPOINT]

    def api_docs():
        return view()

    api_docs.talisman_view_options = {"content_security_policy": API_DOCS_POLICY}
    app.view_functions[API_DOCS_ENDPOINT] = api_docs
