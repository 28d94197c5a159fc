"""``/admin/preview``: what a subscriber, or a set of topics, gets at a slot, built by
:mod:`digest.services.editorial.previewing` (the sender's own code), with the reason each
nearby article is in or out, the message's checks, and a test send.

The email is shown from its own URL in a sandboxed frame: its styles and images load
under that URL's policy, and no script in it may run. Any signed-in admin may preview
and send a test copy; neither stores anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.domain.delivery import SENT, outcome
from digest.domain.schedule import zone
from digest.domain.text import text_problem
from digest.embedded import sender_for
from digest.services import console
from digest.services.console import lookup
from digest.services.database import unit_of_work
from digest.services.editorial.copies import may_send_test, send_test
from digest.services.editorial.previewing import (
    Preview,
    PreviewError,
    preview_subscriber,
    preview_topics,
)
from digest.services.editorial.reasons import when
from digest.services.readers.choices import FREQUENCIES, Fields, first
from digest.services.readers.subscribers import SubscriberError, normalise_email
from digest.web.auth import Caller, signed_in
from digest.web.forms import csrf_ok, form_fields, topic_options
from digest.web.guard import to_sign_in
from digest.web.pages import database, page, settings_of

router = APIRouter(include_in_schema=False)

VIEWS = ("desktop", "mobile")
SCHEMES = ("light", "dark")
# The email's own dark-mode rules, applied whatever the viewer's system setting, as a
# mail client that honours them shows the email to a reader in dark mode.
_DARK_QUERY = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)")
# How the email's own page may load: its inline styles and remote images, no script,
# no form, in a frame of the console only.
EMAIL_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


class TargetError(ValueError):
    """A preview request that names nothing usable; the message names the field."""


@dataclass(frozen=True)
class Target:
    """What to preview: a subscriber, or topics with their frequencies, at a moment
    (None: the subscriber's next slot, or now for topics)."""

    subscriber: int | None
    topics: tuple[tuple[str, str], ...]  # (slug, frequency), in the order given
    at: datetime | None
    timezone: str

    @property
    def empty(self) -> bool:
        return self.subscriber is None and not self.topics

    def pairs(self, at: datetime | None = None) -> list[tuple[str, str]]:
        """The fields naming this target, at ``at`` when given: for links and forms."""
        pairs: list[tuple[str, str]] = []
        if self.subscriber is not None:
            pairs.append(("subscriber", str(self.subscriber)))
        for slug, frequency in self.topics:
            pairs += [("topics", slug), (f"frequency-{slug}", frequency)]
        if self.subscriber is None and self.topics:
            pairs.append(("timezone", self.timezone))
        moment = at or self.at
        if moment is not None:
            pairs.append(("at", moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")))
        return pairs

    def query(self, at: datetime | None = None, **extra: str) -> str:
        return urlencode(self.pairs(at) + sorted(extra.items()))


def _moment(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise TargetError(f"at: {raw!r} is not a date and time (YYYY-MM-DDTHH:MM, UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise TargetError("at: is out of range") from None


def target_of(fields: Fields) -> Target:
    """The preview a query string or form asks for; raises :class:`TargetError`."""
    raw_id = first(fields, "subscriber")
    subscriber = None
    if raw_id:
        if not raw_id.isdecimal() or int(raw_id) > console.MAX_ID:
            raise TargetError(f"subscriber: {raw_id!r} is not a subscriber id")
        subscriber = int(raw_id)
    for raw in fields.get("topics", []):
        problem = text_problem(raw)
        if problem:  # checked before any query: PostgreSQL refuses a NUL in text
            raise TargetError(f"topics: {problem}")
    topics = []
    for slug in dict.fromkeys(s.strip().lower() for s in fields.get("topics", []) if s.strip()):
        frequency = first(fields, f"frequency-{slug}", "daily")
        if frequency not in FREQUENCIES:
            raise TargetError(f"frequency-{slug}: must be daily or weekly")
        topics.append((slug, frequency))
    timezone = first(fields, "timezone", "UTC") or "UTC"
    try:
        zone(timezone)
    except (KeyError, ValueError):
        raise TargetError(f"timezone: {timezone!r} is not a known time zone") from None
    return Target(subscriber, tuple(topics), _moment(first(fields, "at")), timezone)


def _fields(request: Request) -> Fields:
    return {key: request.query_params.getlist(key) for key in request.query_params}


def build(session: Session, request: Request, target: Target, *, explain: bool = True) -> Preview:
    """The preview ``target`` names; ``explain`` False leaves out the reasons (the
    frame and the .eml need only the message)."""
    settings = settings_of(request)
    moment = target.at or datetime.now(UTC).replace(second=0, microsecond=0)
    if target.subscriber is not None:
        return preview_subscriber(session, settings, target.subscriber, moment, explain=explain)
    return preview_topics(
        session, settings, dict(target.topics), moment, target.timezone, explain=explain
    )


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]


def _exact_match(session: Session, q: str) -> list[lookup.SubscriberRow]:
    try:
        address = normalise_email(q)
    except SubscriberError:
        return []
    sub = lookup.subscriber_by_email(session, address)
    if sub is None:
        return []
    return [lookup.SubscriberRow(sub.id, sub.email, sub.name, sub.status, sub.created_at)]


def _page(
    request: Request,
    session: Session,
    caller: Caller,
    fields: Fields,
    *,
    error: str | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    view = _choice(first(fields, "view"), VIEWS)
    scheme = _choice(first(fields, "scheme"), SCHEMES)
    q = first(fields, "q")
    matches = []
    preview = None
    target = None
    if q and caller.may_change:
        try:
            matches = console.list_subscribers(session, fragment=q, limit=20).items
        except console.ManagementError as exc:
            error, status = str(exc), 422
    elif q:
        # An editor names the reader by their whole address: searching by a piece of
        # one would list readers, which is an operator's view.
        matches = _exact_match(session, q)
    if error is None:
        try:
            target = target_of(fields)
            if not target.empty:
                preview = build(session, request, target)
        except TargetError as exc:
            error, status = str(exc), 422
        except PreviewError as exc:
            error, status = str(exc), 404 if str(exc).startswith("no ") else 422
    slot_fields: list[tuple[str, str]] = []
    if target is not None and preview is not None:
        slot_fields = target.pairs(at=preview.slot_at)
    return page(
        request,
        "admin_preview.html",
        status_code=status,
        frames=True,
        caller=caller,
        error=error,
        notice=notice,
        q=q,
        matches=matches,
        topics=topic_options(session),
        picked=dict(target.topics) if target else {},
        timezone=target.timezone if target else "UTC",
        at=first(fields, "at"),
        target=target,
        preview=preview,
        slot_fields=slot_fields,
        slot_query=urlencode(slot_fields),
        view=view,
        scheme=scheme,
        frequencies=FREQUENCIES,
        when=when,
    )


def _show(request: Request) -> Response:
    with unit_of_work(database(request)) as session:
        caller = signed_in(request, session)
        if caller is None:
            return to_sign_in()
        fields = _fields(request)
        notice = None
        if first(fields, "sent_to"):
            notice = f"Test copy sent to {first(fields, 'sent_to')}."
        return _page(request, session, caller, fields, notice=notice)


@router.get("/admin/preview")
async def preview_page(request: Request) -> Response:
    """Pick a subscriber or topics and a moment; see the email, its reasons, its checks."""
    return await run_in_threadpool(_show, request)


def _message(request: Request) -> tuple[Preview | None, Response | None]:
    with unit_of_work(database(request)) as session:
        if signed_in(request, session) is None:
            return None, to_sign_in()
        try:
            target = target_of(_fields(request))
            if target.empty:
                return None, Response("Name a subscriber or topics.", 422, media_type="text/plain")
            preview = build(session, request, target, explain=False)
        except TargetError as exc:
            return None, Response(str(exc), 422, media_type="text/plain")
        except PreviewError as exc:
            status = 404 if str(exc).startswith("no ") else 422
            return None, Response(str(exc), status, media_type="text/plain")
    if preview.email is None or preview.message is None:
        return None, Response("Nothing new at this slot: no email.", 404, media_type="text/plain")
    return preview, None


def _email_html(request: Request) -> Response:
    preview, refused = _message(request)
    if refused is not None:
        return refused
    assert preview is not None
    # The very bytes of the message's HTML part.
    html = preview.html_part
    if request.query_params.get("scheme") == "dark":
        html = _DARK_QUERY.sub("@media all", html.decode()).encode()
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": EMAIL_POLICY,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/admin/preview/email.html")
async def email_html(request: Request) -> Response:
    """The HTML part as it will be sent (``scheme=dark``: with its dark-mode rules on)."""
    return await run_in_threadpool(_email_html, request)


def _eml(request: Request) -> Response:
    preview, refused = _message(request)
    if refused is not None:
        return refused
    assert preview is not None and preview.message is not None
    name = f"digest-{preview.slot_at.strftime('%Y%m%dT%H%MZ')}.eml"
    return Response(
        preview.message,
        media_type="message/rfc822",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/admin/preview/message.eml")
async def message_eml(request: Request) -> Response:
    """The whole message, headers and both parts, as a file."""
    return await run_in_threadpool(_eml, request)


def _test(request: Request, fields: Fields) -> Response:
    with unit_of_work(database(request)) as session:
        caller = signed_in(request, session)
        if caller is None:
            return to_sign_in()
        if not csrf_ok(request, fields):
            return page(request, "form_expired.html", status_code=403)
        to_addr = first(fields, "to") or caller.who
        try:
            target = target_of(fields)
            if target.empty:
                raise TargetError("subscriber: name a subscriber or topics to preview")
            preview = build(session, request, target, explain=False)
        except (TargetError, PreviewError) as exc:
            return _page(request, session, caller, fields, error=str(exc), status=422)
        try:
            to_addr = may_send_test(session, caller.who, to_addr, datetime.now(UTC))
        except PreviewError as exc:
            return _page(request, session, caller, fields, error=f"to: {exc}", status=422)
    # The database is not held while the relay answers; a refusal re-reads it to show
    # the page again.
    settings = settings_of(request)
    try:
        reply = send_test(preview, settings, sender_for(settings), to_addr, datetime.now(UTC))
        error, status = None, 200
    except PreviewError as exc:
        error, status = f"to: {exc}", 422
    else:
        if outcome(reply) != SENT:
            error = f"The mail server refused the test copy: {reply.code} {reply.text}"
            status = 502
    if error is not None:
        with unit_of_work(database(request)) as session:
            return _page(request, session, caller, fields, error=error, status=status)
    query = target.query(at=preview.slot_at, sent_to=to_addr)
    return RedirectResponse(f"/admin/preview?{query}#test", status_code=303)


@router.post("/admin/preview/test")
async def test_send(request: Request) -> Response:
    """Send the previewed email to the editor's address (or the one typed), with
    ``[TEST]`` before its subject. Nothing is recorded."""
    fields = await form_fields(request)
    return await run_in_threadpool(_test, request, fields)
