"""A small web UI for people: sign in as an emulated user and manage that user's tasks.

UI actions are user edits, not API calls (they don't count against limits or the counter).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote

from . import api, housekeeping, pages
from .clock import format_sf
from .control import Control
from .errors import RecordError
from .pages import esc, hidden, layout
from .web import Request, Response

if TYPE_CHECKING:
    from .core import Emulator


def handle(emu: Emulator, req: Request, segs: list[str]) -> Response:
    if req.raw_path == "/":
        return Response.redirect("/ui/")
    session = emu.session_for(req)
    if segs == ["login"] and req.method == "POST":
        return _login(emu, req)
    if session is None:
        # Signed in, a person lands on the page they asked for (e.g. a task's record page).
        asked = req.raw_path if req.method == "GET" and req.raw_path.startswith("/ui/") else ""
        target = req.query.get("next") or asked or "/ui/"
        return pages.login_page({"next": target}, None, action="/ui/login")
    # The form token rides along with the user so every page's log-out form can carry it.
    user = {**emu.store.user(session["user_id"]), "csrf": session["csrf"]}
    if req.method == "POST":
        form = req.form()
        if not hmac.compare_digest(form.get("csrf", ""), session["csrf"]):
            return Response.html(layout("Forbidden", "<p class=error>Bad form token.</p>"), 403)
        if segs == ["logout"]:
            emu.store.delete_session(session["sid"])
            return Response.redirect("/ui/", [("Set-Cookie", "sfemu_sid=; Path=/; Max-Age=0")])
        with emu.store.tx():
            return _post(emu, user, session, segs, form)
    if segs in ([], [""]):
        return _list(emu, user, session)
    if segs == ["new"]:
        return _form(emu, user, session, None, {}, None)
    if len(segs) == 2 and segs[0] == "tasks":
        row = emu.store.task(segs[1], user["org_id"])
        if row is None:
            return Response.html(
                layout("Not found", "<p>No such task.</p>", user=user, nav=True), 404
            )
        return _form(emu, user, session, row, {}, None)
    if segs == ["recycle-bin"]:
        return _recycle_bin(emu, user, session)
    if segs == ["usage"]:
        return _usage(emu, user)
    return Response.html(layout("Not found", "<p>Not found.</p>", user=user, nav=True), 404)


def _login(emu: Emulator, req: Request) -> Response:
    form = req.form()
    user = emu.store.user_by_username(form.get("username", "").strip())
    if user is None or not hmac.compare_digest(user["password"], form.get("password", "")):
        return pages.login_page(
            {"next": form.get("next", "/ui/")},
            "Please check your username and password.",
            action="/ui/login",
            status=401,
        )
    _, cookie = emu.new_session(user["id"])
    target = form.get("next", "/ui/")
    if not target.startswith("/ui/"):
        target = "/ui/"  # no open redirects
    return Response.redirect(target, [("Set-Cookie", cookie)])


def _csrf(session: dict) -> str:
    return hidden({"csrf": session["csrf"]})


def _button(task_id: str, action: str, label: str, session: dict, cls: str = "secondary") -> str:
    return (
        f'<form class="inline" method="post" action="/ui/tasks/{quote(task_id)}/{action}">'
        f'{_csrf(session)}<button class="{cls}">{esc(label)}</button></form>'
    )


def _list(emu: Emulator, user: dict, session: dict, message: str = "") -> Response:
    rows = [
        r
        for r in emu.store.tasks(user["org_id"])
        if r["OwnerId"] == user["id"] and not r["IsDeleted"]
    ]
    rows.sort(key=lambda r: (r["IsClosed"], r["ActivityDate"] or "9999", r["Subject"] or ""))
    body_rows = "".join(
        f'<tr><td><a href="/ui/tasks/{quote(r["Id"])}">{esc(r["Subject"] or "(no subject)")}'
        f"</a>{' <span class=muted>(archived)</span>' if r['IsArchived'] else ''}</td>"
        f"<td>{esc(r['ActivityDate'] or '')}</td><td>{esc(r['Status'])}</td>"
        f"<td>{esc(r['Priority'])}</td><td class=muted>{esc(format_sf(r['LastModifiedDate']))}"
        f"</td><td>{'' if r['IsClosed'] else _button(r['Id'], 'complete', 'Complete', session)}"
        f" {_button(r['Id'], 'delete', 'Delete', session, 'danger')}</td></tr>"
        for r in rows
    )
    note = f'<p class="muted" role="status">{esc(message)}</p>' if message else ""
    body = (
        f'<div class="card"><h1>My Tasks</h1>{note}<p><a class="button" href="/ui/new">'
        "New Task</a></p><table><thead><tr><th>Subject</th><th>Due</th><th>Status</th>"
        "<th>Priority</th><th>Last modified</th><th></th></tr></thead>"
        f"<tbody>{body_rows or '<tr><td colspan=6>No tasks.</td></tr>'}</tbody></table></div>"
    )
    return Response.html(layout("My Tasks", body, user=user, nav=True))


def _select(name: str, options: list[str], current: str | None) -> str:
    opts = "".join(
        f'<option value="{esc(o)}"{" selected" if o == current else ""}>{esc(o)}</option>'
        for o in options
    )
    return f'<select id="{name}" name="{name}">{opts}</select>'


def _picklist_select(emu: Emulator, org_id: str, kind: str, name: str, current) -> str:
    """The <select> of a picklist field, on `current` or else the picklist's default value."""
    values = emu.store.picklist(org_id, kind)
    default = next((p["api_name"] for p in values if p["is_default"]), None)
    return _select(name, [p["api_name"] for p in values], current or default)


def _form(
    emu: Emulator,
    user: dict,
    session: dict,
    row: dict | None,
    values: dict,
    error: str | None,
    status: int = 200,
) -> Response:
    org_id = user["org_id"]
    data = {**(row or {}), **values}
    action = f"/ui/tasks/{quote(row['Id'])}" if row else "/ui/new"
    err = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    meta = ""
    if row:
        meta = (
            f"<p class=muted>Id {esc(row['Id'])} · created {esc(format_sf(row['CreatedDate']))}"
            f" · SystemModstamp {esc(format_sf(row['SystemModstamp']))}</p>"
        )
    body = (
        f'<div class="card"><h1>{"Edit Task" if row else "New Task"}</h1>{err}{meta}'
        f'<form method="post" action="{action}">{_csrf(session)}'
        '<label for="Subject">Subject</label>'
        f'<input type="text" id="Subject" name="Subject" value="{esc(data.get("Subject"))}">'
        '<label for="ActivityDate">Due date</label>'
        f'<input type="date" id="ActivityDate" name="ActivityDate"'
        f' value="{esc(data.get("ActivityDate"))}">'
        '<label for="Status">Status</label>'
        f"{_picklist_select(emu, org_id, 'status', 'Status', data.get('Status'))}"
        '<label for="Priority">Priority</label>'
        f"{_picklist_select(emu, org_id, 'priority', 'Priority', data.get('Priority'))}"
        '<label for="Description">Comments</label>'
        f'<textarea id="Description" name="Description" rows="5">'
        f"{esc(data.get('Description'))}</textarea>"
        '<p><button type="submit">Save</button> <a href="/ui/">Cancel</a></p></form></div>'
    )
    return Response.html(layout("Task", body, user=user, nav=True), status)


def _post(emu: Emulator, user: dict, session: dict, segs: list[str], form: dict) -> Response:
    fields = {
        k: (form.get(k) or None)
        for k in ("Subject", "ActivityDate", "Status", "Priority", "Description")
        if k in form
    }
    try:
        if segs == ["new"]:
            api.create_task(emu, user, fields)
            return Response.redirect("/ui/")
        if len(segs) == 2 and segs[0] == "tasks":
            row = api.load_task(emu, user, segs[1])
            api.update_task(emu, user, row["Id"], fields)
            return Response.redirect("/ui/")
        if len(segs) == 3 and segs[0] == "tasks":
            task_id, action = segs[1], segs[2]
            if action == "complete":
                closed = next(
                    (
                        p["api_name"]
                        for p in emu.store.picklist(user["org_id"], "status")
                        if p["is_closed"]
                    ),
                    "Completed",
                )
                api.update_task(emu, user, task_id, {"Status": closed})
                return Response.redirect("/ui/")
            if action == "delete":
                api.delete_task(emu, user, task_id)
                return Response.redirect("/ui/")
            if action == "undelete":
                api.load_task(emu, user, task_id, allow_deleted=True)
                Control(emu).undelete_task(task_id)
                return Response.redirect("/ui/recycle-bin")
    except RecordError as exc:
        row = emu.store.task(segs[1], user["org_id"]) if len(segs) >= 2 else None
        if len(segs) == 3:
            return _list(emu, user, session, f"{exc.code}: {exc.message}")
        return _form(emu, user, session, row, fields, f"{exc.code}: {exc.message}", 400)
    return Response.html(layout("Not found", "<p>Not found.</p>", user=user, nav=True), 404)


def _recycle_bin(emu: Emulator, user: dict, session: dict) -> Response:
    housekeeping.maintenance(emu.store, user["org_id"])
    rows = [r for r in emu.store.tasks(user["org_id"]) if r["IsDeleted"]]
    body_rows = "".join(
        f"<tr><td>{esc(r['Subject'] or '(no subject)')}</td><td>{esc(format_sf(r['deleted_ms']))}"
        f"</td><td>{_button(r['Id'], 'undelete', 'Undelete', session)}</td></tr>"
        for r in rows
    )
    body = (
        '<div class="card"><h1>Recycle Bin</h1><p class=muted>Deleted tasks are kept 15 days.'
        "</p><table><thead><tr><th>Subject</th><th>Deleted</th><th></th></tr></thead>"
        f"<tbody>{body_rows or '<tr><td colspan=3>Empty.</td></tr>'}</tbody></table></div>"
    )
    return Response.html(layout("Recycle Bin", body, user=user, nav=True))


def _usage(emu: Emulator, user: dict) -> Response:
    org = emu.store.org(user["org_id"])
    used = emu.store.api_usage(org["id"])
    calls = "".join(
        f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in sorted(emu.api_calls().items())
    )
    body = (
        f'<div class="card"><h1>API usage — {esc(org["name"])}</h1>'
        f'<p id="usage">{used} of {org["daily_api_limit"]} API requests used in the last'
        " 24 hours.</p><h2>Calls by endpoint (all orgs, since last reset)</h2>"
        f"<table><tbody>{calls or '<tr><td>None yet.</td></tr>'}</tbody></table></div>"
    )
    return Response.html(layout("API usage", body, user=user, nav=True))
